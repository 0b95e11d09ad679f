"""ASGI entry point: `uvicorn pos_payments.main:app`."""

from pos_payments.app import create_app

app = create_app()
