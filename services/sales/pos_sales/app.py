from __future__ import annotations

from fastapi import FastAPI

from pos_platform.app import ServiceContext, create_service_app
from pos_platform.bus import Bus
from pos_platform.db import Database
from pos_sales.checkout import Checkout
from pos_sales.config import Settings
from pos_sales.handlers import HANDLERS
from pos_sales.routes import router
from pos_sales.tables import metadata

NAME = "sales"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None, migrate_on_start: bool = False) -> FastAPI:
    settings = settings or Settings()
    db = Database(settings.database_url_for(NAME), metadata, NAME, settings.db_pool_size)
    checkout = Checkout(db, settings)

    async def close_checkout(_ctx: ServiceContext) -> None:
        await checkout.close()

    app = create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        routers=[router],
        handlers=HANDLERS,
        bus=bus,
        migrate_on_start=migrate_on_start,
        on_stop=close_checkout,
        description="Checkout, receipts, and the price replica fed by catalog events.",
    )
    app.state.checkout = checkout
    return app
