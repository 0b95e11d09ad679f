"""The daily low-stock digest on the local stack (two inventory replicas, MariaDB,
RabbitMQ, nginx, the SMTP sink scripts/mail_sink.py in its own process): a manager turns
it on for the next minute of the outlet's local time; exactly one mail arrives, listing
the product under its reorder point with its figures, and no second one follows while
both replicas keep checking."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.polling import eventually
from tests.smtp_sink import read_mail, text_of
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e


def received(mail_dir: Path, to: str) -> list[EmailMessage]:
    return [message for message in read_mail(mail_dir) if str(message["X-Rcpt-To"]).strip() == to]


def a_zone_not_near_midnight() -> ZoneInfo:
    """The digest is due only the same local day: avoid a zone where the next minute is tomorrow."""
    for name in ("Europe/Berlin", "America/New_York", "Asia/Tokyo"):
        local = datetime.now(UTC).astimezone(ZoneInfo(name))
        if (local.hour, local.minute) < (23, 55):
            return ZoneInfo(name)
    raise AssertionError("unreachable: these zones are hours apart")


def test_the_digest_goes_once_at_the_outlet_s_local_time_with_two_replicas(local_stack: Stack) -> None:
    suffix = uuid.uuid4().hex[:8]
    zone = a_zone_not_near_midnight()
    admin = local_stack.client(local_stack.login())
    outlet = (
        admin.post("/api/identity/outlets", json={"name": f"Digest {suffix}", "currency": "EUR", "timezone": zone.key})
        .raise_for_status()
        .json()
    )
    manager_email, password = f"digest-manager-{suffix}@example.com", f"manager-pass-{suffix}-Aa1"
    admin.post(
        "/api/identity/users",
        json={
            "email": manager_email,
            "name": "Digest manager",
            "password": password,
            "role": "manager",
            "outlets": [outlet["id"]],
        },
    ).raise_for_status()
    manager = local_stack.client(local_stack.login(manager_email, password))
    product = (
        admin.post("/api/catalog/products", json={"sku": f"DIG-{suffix}", "name": f"Oat milk {suffix}", "price_minor": 250})
        .raise_for_status()
        .json()
    )
    eventually(lambda: admin.get(f"/api/inventory/products/{product['id']}").status_code == 200, "inventory to know the product")
    level = manager.put(
        "/api/inventory",
        json={"outlet_id": outlet["id"], "product_id": product["id"], "on_hand": 1, "reorder_point": 4, "reorder_qty": 10},
    )
    assert level.status_code == 200 and level.json()["low"] is True, level.text
    path = f"/api/inventory/outlets/{outlet['id']}/low-stock-digest"
    found = eventually(
        lambda: (lambda r: r if r["managers"] == [manager_email] and r["timezone"] == zone.key else None)(
            manager.get(path).json()
        ),
        "inventory to know the outlet's manager and time zone",
    )
    assert found["enabled"] is False

    local_now = datetime.now(UTC).astimezone(zone)
    send_at = (local_now + timedelta(minutes=1)).strftime("%H:%M")
    saved = manager.put(path, json={"enabled": True, "send_at": send_at})
    assert saved.status_code == 200, saved.text
    assert saved.json()["sends_to"] == [manager_email]

    mail_dir = local_stack.state_dir / "mail"
    (message,) = eventually(lambda: received(mail_dir, manager_email), "the digest in the mail sink", timeout=120)
    day = datetime.now(UTC).astimezone(zone).date().isoformat()
    assert str(message["Subject"]).strip() == f"Low stock at Digest {suffix}: 1 product to reorder ({day})"
    text = text_of(message)
    row = next(r for r in text.splitlines() if r.startswith(f"Oat milk {suffix} (DIG-{suffix})"))
    assert row.split()[-3:] == ["1", "4", "10"]
    assert "/#/office/low-stock" in text
    assert f"Oat milk {suffix}" in text_of(message, "html")

    # Both replicas check every 5 s: several rounds later, still one mail.
    time.sleep(15)
    assert len(received(mail_dir, manager_email)) == 1
    last = manager.get(path).json()["last_run"]
    assert (last["local_date"], last["status"], last["recipients"], last["lines"]) == (day, "sent", [manager_email], 1)
