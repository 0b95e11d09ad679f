"""ASGI entry point: `uvicorn pos_inventory.main:app`."""

from pos_inventory.app import create_app

app = create_app()
