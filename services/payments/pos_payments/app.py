from __future__ import annotations

from fastapi import FastAPI

from pos_payments.config import Settings
from pos_payments.routes import router
from pos_payments.tables import metadata
from pos_platform.app import create_service_app
from pos_platform.bus import Bus
from pos_platform.db import Database

NAME = "payments"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None, migrate_on_start: bool = False) -> FastAPI:
    settings = settings or Settings()
    db = Database(settings.database_url_for(NAME), metadata, NAME, settings.db_pool_size)
    return create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        routers=[router],
        handlers=None,
        bus=bus,
        migrate_on_start=migrate_on_start,
        description="Captures the payment of a sale: cash now, card through a provider later.",
    )
