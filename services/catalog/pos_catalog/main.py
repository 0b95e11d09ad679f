"""ASGI entry point: `uvicorn pos_catalog.main:app`."""

from pos_catalog.app import create_app

app = create_app()
