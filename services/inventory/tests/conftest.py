"""An inventory service on SQLite, its event consumer, and tokens for its API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pos_contracts import Envelope, new_envelope
from pos_contracts.events import OutletCreated, ProductCreated, RefundLine, SaleCompleted, SaleLine, SaleRefunded, TenderLine
from pos_inventory.app import create_app
from pos_inventory.config import Settings
from pos_inventory.tables import products
from pos_platform.bus import InProcessBus
from pos_platform.consumer import EventConsumer
from pos_platform.testing import AuthHeaders, auth_headers, outbox_events

A, B = "outlet-a", "outlet-b"

Auth = AuthHeaders


@pytest.fixture
def settings(tmp_path: Path, keys: tuple[Path, Path]) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/inventory.db",
        jwt_public_key_file=str(keys[1]),
        stream_poll_seconds=0.05,
        stream_max_seconds=3.0,
        reservation_sweep_interval=3600,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, bus=InProcessBus(), migrate_on_start=True)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def consumer(client: TestClient) -> EventConsumer:
    found = client.app.state.ctx.consumer
    assert found is not None
    return found


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    return auth_headers(keys[0], role="manager", outlets=[A])


def envelope(event: Any, outlet_id: str | None = None, producer: str = "sales") -> Envelope:
    return new_envelope(event, producer=producer, outlet_id=outlet_id)


def sale(lines: list[tuple[str, int]], *, sale_id: str | None = None, outlet_id: str = A) -> SaleCompleted:
    return SaleCompleted(
        sale_id=sale_id or str(uuid.uuid4()),
        outlet_id=outlet_id,
        cashier_id="cashier-1",
        receipt_number="R0000001",
        currency="EUR",
        lines=[
            SaleLine(
                line_no=i,
                product_id=p,
                sku=p,
                name=p,
                qty=q,
                unit_price_minor=100,
                tax_rate_bp=0,
                tax_minor=0,
                total_minor=100 * q,
            )
            for i, (p, q) in enumerate(lines, start=1)
        ],
        subtotal_minor=0,
        tax_minor=0,
        total_minor=0,
        tenders=[TenderLine(kind="cash", amount_minor=0)],
        completed_at="2026-03-01T10:00:00Z",
    )


def refund(sale_id: str, lines: list[tuple[str, int, bool]], *, refund_id: str | None = None, outlet_id: str = A) -> SaleRefunded:
    return SaleRefunded(
        refund_id=refund_id or str(uuid.uuid4()),
        sale_id=sale_id,
        outlet_id=outlet_id,
        cashier_id="cashier-1",
        currency="EUR",
        lines=[
            RefundLine(line_no=i, product_id=p, qty=q, total_minor=100 * q, tax_minor=0, restock=r)
            for i, (p, q, r) in enumerate(lines, start=1)
        ],
        total_minor=0,
        tax_minor=0,
        tenders=[],
        refunded_at="2026-03-01T11:00:00Z",
    )


def outlet(consumer: EventConsumer, outlet_id: str) -> None:
    """identity announces an outlet (OutletCreated)."""
    consumer.handle(envelope(OutletCreated(outlet_id=outlet_id, name=f"Outlet {outlet_id}", currency="EUR"), producer="identity"))


def product(consumer: EventConsumer, product_id: str, name: str | None = None) -> None:
    consumer.handle(
        envelope(
            ProductCreated(
                product_id=product_id,
                sku=f"SKU-{product_id}",
                name=name or f"Product {product_id}",
                price_minor=100,
                currency="EUR",
            ),
            producer="catalog",
        )
    )


def outbox(client: TestClient, type_: str | None = None) -> list[dict[str, Any]]:
    return [e["payload"] for e in outbox_events(client, type_)]


def level(client: TestClient, auth: Auth, product_id: str, outlet_id: str = A) -> dict[str, Any]:
    response = client.get(f"/api/inventory/stock/{outlet_id}/{product_id}", headers=auth("manager", [A, B]))
    assert response.status_code == 200, response.text
    return response.json()


def receive(client: TestClient, auth: Auth, product_id: str, qty: int, outlet_id: str = A) -> None:
    """Goods in for a product, announced by catalog first (inventory refuses stock of a
    product it has not heard of)."""
    db = client.app.state.ctx.db
    with db.transaction() as uow:
        known = uow.session.scalar(select(products.c.product_id).where(products.c.product_id == product_id))
    if known is None:
        product(client.app.state.ctx.consumer, product_id)
    response = client.post(
        "/api/inventory/receipts",
        json={"outlet_id": outlet_id, "lines": [{"product_id": product_id, "qty": qty}]},
        headers=auth("manager", [A, B]),
    )
    assert response.status_code == 201, response.text


def ledger(client: TestClient, auth: Auth, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/inventory/ledger", params=params, headers=auth("manager", [A, B]))
    assert response.status_code == 200, response.text
    return response.json()


def audit(client: TestClient, auth: Auth, outlet_id: str = A) -> dict[str, Any]:
    return client.get(f"/api/inventory/outlets/{outlet_id}/audit", headers=auth("manager", [A, B])).json()
