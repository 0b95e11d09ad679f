from __future__ import annotations

import asyncio
import logging

import httpx
from fastapi import FastAPI

from pos_platform.app import ServiceContext, create_service_app
from pos_platform.bus import Bus
from pos_platform.periodic import periodic
from pos_sales import history, routes, routes_carts, routes_offline, routes_refunds, routes_shifts, routes_tax
from pos_sales.checkout import Checkout
from pos_sales.clients import ServiceClients
from pos_sales.config import Settings
from pos_sales.handlers import BATCH_HANDLERS, HANDLERS
from pos_sales.mail import MailSender, receipt_sender
from pos_sales.offline import SyncAdmission
from pos_sales.refunds import RefundDesk
from pos_sales.tables import metadata

NAME = "sales"

log = logging.getLogger("pos.sales.reconciler")


def create_app(
    settings: Settings | None = None,
    *,
    bus: Bus | None = None,
    migrate_on_start: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    mail_sender: MailSender | None = None,
) -> FastAPI:
    """`transport` routes the synchronous hops somewhere else (tests: in-process apps);
    `mail_sender` delivers mailed receipts (default: SMTP as the settings say)."""
    settings = settings or Settings()
    db = settings.open_database(NAME, metadata)
    clients = ServiceClients(settings, transport)
    checkout = Checkout(db, settings, clients)
    refund_desk = RefundDesk(db, settings, clients)

    async def reconcile_pending(_ctx: ServiceContext[Settings]) -> None:
        """Background job: sales and refunds left PENDING (a crash between payment and
        completion, or a payment outcome unknown at the time) are completed or failed by
        asking payments. Every replica runs it; completion is once-only either way."""

        async def one_pass() -> None:
            for sale_id in await asyncio.to_thread(checkout.stale_pending):
                await checkout.reconcile(sale_id)
            for refund_id in await asyncio.to_thread(refund_desk.stale_pending):
                await refund_desk.reconcile(refund_id)

        await periodic(one_pass, every=settings.reconcile_interval_seconds, what="reconciliation pass", logger=log)

    async def close_clients(_ctx: ServiceContext[Settings]) -> None:
        await clients.close()
        await checkout.tax.close()

    app = create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        # Static paths first: they must win over /api/sales/{sale_id}.
        routers=[
            history.router,
            routes_offline.router,
            routes_carts.router,
            routes_tax.router,
            routes_shifts.router,
            routes_refunds.router,
            routes.router,
        ],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        bus=bus,
        migrate_on_start=migrate_on_start,
        background_jobs=[reconcile_pending],
        on_stop=close_clients,
        description="Checkout (discounts, tax, cash/card/split tenders), receipts, refunds, voids, parked carts, "
        "register shifts with Z-reports, and the price replica fed by catalog events.",
    )
    app.state.checkout = checkout
    app.state.offline_admission = SyncAdmission(settings.offline_sync_slots, settings.offline_sync_wait_seconds)
    app.state.refund_desk = refund_desk
    app.state.mail_sender = mail_sender or receipt_sender(settings)
    return app
