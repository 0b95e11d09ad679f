"""ASGI entry point: `uvicorn pos_identity.main:app`."""

from pos_identity.app import create_app

app = create_app()
