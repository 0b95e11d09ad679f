"""ASGI entry point: `uvicorn pos_reports.main:app`."""

from pos_reports.app import create_app

app = create_app()
