from __future__ import annotations

from fastapi import FastAPI

from pos_catalog.config import Settings
from pos_catalog.handlers import HANDLERS
from pos_catalog.imports import ImportJobs
from pos_catalog.routes import legacy, router
from pos_catalog.routes_images import router as images_router
from pos_catalog.routes_quick_keys import router as quick_keys_router
from pos_catalog.tables import metadata
from pos_platform.app import create_service_app
from pos_platform.bus import Bus

NAME = "catalog"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None, migrate_on_start: bool = False) -> FastAPI:
    settings = settings or Settings()
    db = settings.open_database(NAME, metadata)
    app = create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        routers=[router, quick_keys_router, images_router, legacy],
        handlers=HANDLERS,
        bus=bus,
        migrate_on_start=migrate_on_start,
        description="Products, barcodes, categories, per-outlet prices, search and CSV import/export.",
    )
    app.state.imports = ImportJobs(db, settings.currency)
    return app
