from __future__ import annotations

from fastapi import FastAPI

from pos_inventory import digest, routes_counts, routes_digest, routes_purchasing, routes_transfers
from pos_inventory.config import Settings
from pos_inventory.handlers import BATCH_HANDLERS, HANDLERS, expire_reservations
from pos_inventory.routes import router
from pos_inventory.stream import StockStreams
from pos_inventory.tables import metadata
from pos_platform.app import ServiceContext, create_service_app
from pos_platform.bus import Bus
from pos_platform.mail import MailSender, SmtpMailSender

NAME = "inventory"


def create_app(
    settings: Settings | None = None,
    *,
    bus: Bus | None = None,
    migrate_on_start: bool = False,
    mail_sender: MailSender | None = None,
) -> FastAPI:
    """`mail_sender` delivers the low-stock digest and purchase orders (default: SMTP as the
    settings say)."""
    settings = settings or Settings()
    sender = mail_sender or SmtpMailSender(settings, not_set_up="the low-stock digest cannot be mailed")
    db = settings.open_database(NAME, metadata)
    streams = StockStreams(db, interval=settings.stream_poll_seconds, settle_seconds=settings.stream_settle_seconds)

    async def send_low_stock_digests(ctx: ServiceContext[Settings]) -> None:
        await digest.run_digests(ctx, sender)

    async def stop_streams(_ctx: ServiceContext[Settings]) -> None:
        await streams.close()

    app = create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        routers=[router, routes_counts.router, routes_transfers.router, routes_digest.router, routes_purchasing.router],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        bus=bus,
        migrate_on_start=migrate_on_start,
        background_jobs=[expire_reservations, send_low_stock_digests],
        on_stop=stop_streams,
        description="Stock per outlet, reservations for checkout, the stock ledger, counts, transfers, live levels.",
    )
    app.state.stock_streams = streams
    app.state.digest_sender = sender
    # Purchase orders are mailed to suppliers through the same server (ADR 0071).
    app.state.po_sender = mail_sender or SmtpMailSender(
        settings, not_set_up="download the order's CSV and send it yourself, then mark it sent"
    )
    return app
