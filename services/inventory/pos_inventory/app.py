from __future__ import annotations

from fastapi import FastAPI

from pos_inventory import routes_counts, routes_transfers
from pos_inventory.config import Settings
from pos_inventory.handlers import BATCH_HANDLERS, HANDLERS, expire_reservations
from pos_inventory.routes import router
from pos_inventory.stream import StockStreams
from pos_inventory.tables import metadata
from pos_platform.app import ServiceContext, create_service_app
from pos_platform.bus import Bus

NAME = "inventory"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None, migrate_on_start: bool = False) -> FastAPI:
    settings = settings or Settings()
    db = settings.open_database(NAME, metadata)
    streams = StockStreams(db, interval=settings.stream_poll_seconds, settle_seconds=settings.stream_settle_seconds)

    async def stop_streams(_ctx: ServiceContext[Settings]) -> None:
        await streams.close()

    app = create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        routers=[router, routes_counts.router, routes_transfers.router],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        bus=bus,
        migrate_on_start=migrate_on_start,
        background_jobs=[expire_reservations],
        on_stop=stop_streams,
        description="Stock per outlet, reservations for checkout, the stock ledger, counts, transfers, live levels.",
    )
    app.state.stock_streams = streams
    return app
