from __future__ import annotations

from fastapi import FastAPI

from pos_platform.app import ServiceContext, create_service_app
from pos_platform.bus import Bus
from pos_platform.db import Database
from pos_reports.config import Settings
from pos_reports.handlers import HANDLERS
from pos_reports.routes import router
from pos_reports.tables import metadata
from pos_reports.velocity import refresh_forever

NAME = "reports"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None, migrate_on_start: bool = False) -> FastAPI:
    settings = settings or Settings()
    db = Database(settings.database_url_for(NAME), metadata, NAME, settings.db_pool_size)

    async def velocity(ctx: ServiceContext) -> None:
        await refresh_forever(ctx.db, settings.velocity_days, settings.velocity_refresh_seconds)

    return create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        routers=[router],
        handlers=HANDLERS,
        bus=bus,
        migrate_on_start=migrate_on_start,
        background_jobs=[velocity],
        description="Sales, product, category, cashier, tender, outlet, stock and shift reports, built from the other services' events.",
    )
