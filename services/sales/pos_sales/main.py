"""ASGI entry point: `uvicorn pos_sales.main:app`."""

from pos_sales.app import create_app

app = create_app()
