"""The daily low-stock e-mail digest (issue 17, ADR 0069): when it is due in the outlet's
time zone (DST days included), what it says, nothing to report, the settings API, the
test digest, a mail server that is down, and exactly one digest per outlet and day with
two replicas racing on MariaDB. Mail goes over real SMTP to scripts/mail_sink.py in its
own process."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from pos_contracts.events import OutletChanged, OutletCreated, UserChanged
from pos_inventory.app import create_app
from pos_inventory.config import Settings
from pos_inventory.digest import DigestJob, Line, compose, due_day, next_send, retry_delay, send_moment
from pos_inventory.digest_tables import digest_runs, digest_settings
from pos_inventory.tables import metadata
from pos_platform.bus import InProcessBus
from pos_platform.consumer import EventConsumer
from pos_platform.db import Database
from pos_platform.mail import SmtpMailSender
from pos_platform.testing import free_port
from tests.databases import scratch_mariadb
from tests.smtp_sink import Sink, SmtpToSink, running_sink, smtp_to_sink, text_of

from .conftest import A, Auth, B, envelope, product

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
AUCKLAND = ZoneInfo("Pacific/Auckland")
LONG_AGO = datetime(2026, 1, 1)
LINK = "https://pos.example/#/office/low-stock"


def utc(*args: int) -> datetime:
    return datetime(*args)  # naive UTC, as the service keeps moments


# --- when: the outlet's local time, DST days ---------------------------------------------


def test_the_digest_is_due_at_the_local_time_in_winter_and_in_summer() -> None:
    seven = time(7, 0)
    assert due_day(utc(2026, 1, 15, 11, 59), NEW_YORK, seven, LONG_AGO) is None  # 06:59 EST
    assert due_day(utc(2026, 1, 15, 12, 0), NEW_YORK, seven, LONG_AGO) == date(2026, 1, 15)  # 07:00 EST
    assert due_day(utc(2026, 7, 15, 10, 59), NEW_YORK, seven, LONG_AGO) is None  # 06:59 EDT
    assert due_day(utc(2026, 7, 15, 11, 0), NEW_YORK, seven, LONG_AGO) == date(2026, 7, 15)  # 07:00 EDT


def test_on_the_day_clocks_go_forward_the_digest_goes_at_the_new_local_time() -> None:
    # Berlin, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    day = date(2026, 3, 29)
    seven = time(7, 0)
    assert send_moment(day, seven, BERLIN) == utc(2026, 3, 29, 5, 0)  # 07:00 CEST, not 06:00 UTC
    assert due_day(utc(2026, 3, 29, 4, 59), BERLIN, seven, LONG_AGO) is None
    assert due_day(utc(2026, 3, 29, 5, 0), BERLIN, seven, LONG_AGO) == day
    # The day before, 07:00 was still 06:00 UTC.
    assert send_moment(date(2026, 3, 28), seven, BERLIN) == utc(2026, 3, 28, 6, 0)


def test_a_send_time_the_clocks_skip_goes_just_after_the_gap() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026: it is read as 03:30 CEST.
    day = date(2026, 3, 29)
    half_past_two = time(2, 30)
    assert send_moment(day, half_past_two, BERLIN) == utc(2026, 3, 29, 1, 30)
    assert due_day(utc(2026, 3, 29, 0, 59), BERLIN, half_past_two, LONG_AGO) is None  # 01:59 CET
    assert due_day(utc(2026, 3, 29, 1, 29), BERLIN, half_past_two, LONG_AGO) is None  # 03:29 CEST
    assert due_day(utc(2026, 3, 29, 1, 30), BERLIN, half_past_two, LONG_AGO) == day


def test_a_send_time_that_happens_twice_is_due_at_its_first_occurrence() -> None:
    # Berlin, Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 comes twice.
    day = date(2026, 10, 25)
    half_past_two = time(2, 30)
    assert send_moment(day, half_past_two, BERLIN) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert due_day(utc(2026, 10, 25, 0, 29), BERLIN, half_past_two, LONG_AGO) is None
    assert due_day(utc(2026, 10, 25, 0, 30), BERLIN, half_past_two, LONG_AGO) == day
    # At the second 02:30 (CET) the same local day is due: the (outlet, day) claim,
    # already settled, is what keeps it to one mail (see the job tests).
    assert due_day(utc(2026, 10, 25, 1, 30), BERLIN, half_past_two, LONG_AGO) == day
    assert send_moment(day, time(7, 0), BERLIN) == utc(2026, 10, 25, 6, 0)  # 07:00 CET


def test_the_local_day_is_the_outlet_s_not_utc_s() -> None:
    # 07:00 in Auckland (NZDT, +13) on 15 January is 18:00 UTC on the 14th.
    assert send_moment(date(2026, 1, 15), time(7, 0), AUCKLAND) == utc(2026, 1, 14, 18, 0)
    assert due_day(utc(2026, 1, 14, 18, 0), AUCKLAND, time(7, 0), LONG_AGO) == date(2026, 1, 15)
    assert due_day(utc(2026, 1, 14, 17, 59), AUCKLAND, time(7, 0), LONG_AGO) is None


def test_settings_saved_after_today_s_send_time_start_tomorrow() -> None:
    saved = utc(2026, 5, 4, 10, 0)  # 10:00 UTC, a time of 08:00 UTC already past
    assert due_day(utc(2026, 5, 4, 10, 1), ZoneInfo("UTC"), time(8, 0), saved) is None
    assert due_day(utc(2026, 5, 5, 8, 0), ZoneInfo("UTC"), time(8, 0), saved) == date(2026, 5, 5)
    assert next_send(utc(2026, 5, 4, 10, 1), ZoneInfo("UTC"), time(8, 0), saved, today_settled=False) == utc(2026, 5, 5, 8, 0)
    later = utc(2026, 5, 4, 7, 0)
    assert next_send(later, ZoneInfo("UTC"), time(8, 0), LONG_AGO, today_settled=False) == utc(2026, 5, 4, 8, 0)
    assert next_send(utc(2026, 5, 4, 9, 0), ZoneInfo("UTC"), time(8, 0), LONG_AGO, today_settled=True) == utc(2026, 5, 5, 8, 0)


def test_a_failed_digest_waits_longer_each_time_up_to_a_limit() -> None:
    assert [retry_delay(n, 1800).total_seconds() for n in (1, 2, 3, 4, 5, 6, 7)] == [60, 120, 240, 480, 960, 1800, 1800]


def test_the_mail_lists_each_low_product_with_its_figures_and_the_link() -> None:
    lines = [Line("p1", "SKU-1", "Oat milk 1 l", 0, 6, 12), Line("p2", None, "Espresso <beans>", 2, 5, 4)]
    mail = compose("Harbour St", date(2026, 3, 2), lines, LINK)
    assert mail.subject == "Low stock at Harbour St: 2 products to reorder (2026-03-02)"
    text_rows = mail.text.splitlines()
    assert any(row.split()[-3:] == ["0", "6", "12"] and row.startswith("Oat milk 1 l (SKU-1)") for row in text_rows)
    assert any(row.split()[-3:] == ["2", "5", "4"] and row.startswith("Espresso <beans>") for row in text_rows)
    assert f"Low stock page: {LINK}" in mail.text
    assert "Espresso &lt;beans&gt;" in mail.html and "<beans>" not in mail.html
    assert f'href="{LINK}"' in mail.html
    nothing = compose("Harbour St", date(2026, 3, 2), [], LINK)
    assert nothing.subject == "Low stock at Harbour St: all stocked (2026-03-02)"
    assert "All stocked: no product is at or under its reorder point." in nothing.text


# --- the service: settings, test digest, the job --------------------------------------------


def smtp(port: int) -> SmtpToSink:
    return smtp_to_sink(
        port, "POS stock <stock@pos.example>", attempts=2, timeout_seconds=3.0, backoff_seconds=0.01, backoff_max_seconds=0.05
    )


@pytest.fixture
def settings(tmp_path: Path, keys: tuple[Path, Path], sink: Sink) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/inventory.db",
        jwt_public_key_file=str(keys[1]),
        reservation_sweep_interval=3600,
        digest_check_seconds=0,  # the tests run the job themselves, at the moments they choose
        public_url="https://pos.example",
        **smtp(sink.port),
    )


def announce_outlet(consumer: EventConsumer, outlet_id: str, name: str, timezone: str) -> None:
    event = OutletCreated(outlet_id=outlet_id, name=name, currency="EUR", timezone=timezone)
    consumer.handle(envelope(event, producer="identity"))


def announce_user(consumer: EventConsumer, user_id: str, email: str, role: str, outlets: list[str], active: bool = True) -> None:
    event = UserChanged(user_id=user_id, email=email, name=user_id, role=role, outlets=outlets, active=active)
    consumer.handle(envelope(event, producer="identity"))


def stock_line(client: TestClient, auth: Auth, outlet_id: str, product_id: str, on_hand: int, point: int, qty: int) -> None:
    body = {"outlet_id": outlet_id, "product_id": product_id, "on_hand": on_hand, "reorder_point": point, "reorder_qty": qty}
    response = client.put("/api/inventory", json=body, headers=auth("manager", [outlet_id]))
    assert response.status_code == 200, response.text


def put_digest(client: TestClient, auth: Auth, outlet_id: str, **body: object) -> dict:
    response = client.put(f"/api/inventory/outlets/{outlet_id}/low-stock-digest", json=body, headers=auth("manager", [outlet_id]))
    assert response.status_code == 200, response.text
    return response.json()


def saved_long_ago(db: Database, outlet_id: str) -> None:
    """As if the settings were saved weeks ago (a digest is due only after saving)."""
    with db.transaction() as uow:
        uow.session.execute(update(digest_settings).where(digest_settings.c.outlet_id == outlet_id).values(updated_at=LONG_AGO))


def shop(client: TestClient, auth: Auth, consumer: EventConsumer, outlet_id: str = A, timezone: str = "Europe/Berlin") -> None:
    """An outlet with a manager, two products under their reorder point and one above."""
    announce_outlet(consumer, outlet_id, f"Harbour St {outlet_id}", timezone)
    announce_user(consumer, f"mgr-{outlet_id}", f"manager.{outlet_id}@shop.example", "manager", [outlet_id])
    announce_user(consumer, f"cash-{outlet_id}", f"cashier.{outlet_id}@shop.example", "cashier", [outlet_id])
    for pid, name in (("milk", "Oat milk 1 l"), ("beans", "Espresso beans"), ("cups", "Paper cups")):
        product(consumer, pid, name)
    stock_line(client, auth, outlet_id, "milk", 0, 6, 12)
    stock_line(client, auth, outlet_id, "beans", 3, 5, 0)  # no reorder qty: enough to rise above the point
    stock_line(client, auth, outlet_id, "cups", 40, 10, 100)


def job(client: TestClient, settings: Settings, at: datetime, worker: str = "replica-1", db: Database | None = None) -> DigestJob:
    return DigestJob(
        db or client.app.state.ctx.db,
        SmtpMailSender(settings),
        worker=worker,
        public_url=settings.public_url,
        clock=lambda: at,
    )


def body_text(message: EmailMessage) -> str:
    return text_of(message, "plain")


def body_html(message: EmailMessage) -> str:
    return text_of(message, "html")


def test_settings_default_to_off_at_seven_to_the_managers(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    shop(client, auth, consumer)
    answer = client.get(f"/api/inventory/outlets/{A}/low-stock-digest", headers=auth("manager", [A]))
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["enabled"], found["send_at"], found["timezone"]) == (False, "07:00", "Europe/Berlin")
    assert found["recipients"] == [] and found["sends_to"] == found["managers"] == [f"manager.{A}@shop.example"]
    assert found["next_send_at"] is None and found["last_run"] is None


def test_the_digest_follows_the_outlets_time_zone_changed_in_identity(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    """ADR 0072: OutletChanged moves the digest's local day with the outlet."""
    shop(client, auth, consumer)
    moved = OutletChanged(outlet_id=A, name="Harbour St", currency="EUR", timezone="Asia/Tokyo")
    assert consumer.handle(envelope(moved, producer="identity"))
    found = client.get(f"/api/inventory/outlets/{A}/low-stock-digest", headers=auth("manager", [A])).json()
    assert found["timezone"] == "Asia/Tokyo"


def test_a_manager_of_another_outlet_or_a_cashier_cannot_see_or_change_them(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    shop(client, auth, consumer)
    path = f"/api/inventory/outlets/{A}/low-stock-digest"
    body = {"enabled": True, "send_at": "07:00"}
    assert client.get(path, headers=auth("manager", [B])).status_code == 404
    assert client.put(path, json=body, headers=auth("manager", [B])).status_code == 404
    assert client.put(path, json=body, headers=auth("cashier", [A])).status_code == 403
    assert client.post(f"{path}/test", headers=auth("cashier", [A])).status_code == 403
    assert client.put(path, json=body, headers=auth("admin", [])).status_code == 200


def test_bad_times_and_addresses_are_refused_and_nothing_is_saved(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    shop(client, auth, consumer)
    path = f"/api/inventory/outlets/{A}/low-stock-digest"
    for body, words in (
        ({"enabled": True, "send_at": "25:00"}, "send_at"),
        ({"enabled": True, "send_at": "7:00"}, "send_at"),
        ({"enabled": True, "send_at": "07:00", "recipients": ["boss@shop"]}, "'boss@shop' is not an e-mail address"),
        ({"enabled": True, "send_at": "07:00", "recipients": ["a@b.example\r\nBcc: x@y.example"]}, "not an e-mail address"),
        ({"enabled": True, "send_at": "07:00", "recipients": [f"r{i}@shop.example" for i in range(21)]}, "recipients"),
    ):
        answer = client.put(path, json=body, headers=auth("manager", [A]))
        assert answer.status_code == 422, body
        assert words in answer.text, answer.text
    assert client.get(path, headers=auth("manager", [A])).json()["enabled"] is False


def test_turning_it_on_with_nobody_to_send_to_says_to_list_recipients(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    announce_outlet(consumer, B, "Quay Rd", "UTC")  # no manager announced for B
    path = f"/api/inventory/outlets/{B}/low-stock-digest"
    answer = client.put(path, json={"enabled": True, "send_at": "07:00"}, headers=auth("manager", [B]))
    assert answer.status_code == 422 and "list the recipients" in answer.json()["detail"]
    saved = put_digest(client, auth, B, enabled=True, send_at="06:45", recipients=[" Owner@Quay.example ", "owner@quay.example"])
    assert saved["recipients"] == saved["sends_to"] == ["Owner@Quay.example"] and saved["send_at"] == "06:45"


def test_the_test_digest_goes_at_once_and_answers_with_what_was_sent(
    client: TestClient, auth: Auth, consumer: EventConsumer, sink: Sink
) -> None:
    shop(client, auth, consumer)
    put_digest(client, auth, A, enabled=False, send_at="07:00", recipients=["buyer@shop.example"])
    answer = client.post(f"/api/inventory/outlets/{A}/low-stock-digest/test", headers=auth("manager", [A]))
    assert answer.status_code == 200, answer.text
    sent = answer.json()
    assert sent["to"] == ["buyer@shop.example"] and sent["subject"].startswith(
        "[test] Low stock at Harbour St outlet-a: 2 products"
    )
    assert [(x["name"], x["on_hand"], x["reorder_point"], x["suggested_order_qty"]) for x in sent["lines"]] == [
        ("Oat milk 1 l", 0, 6, 12),
        ("Espresso beans", 3, 5, 3),
    ]
    (message,) = sink.wait_for(1)
    assert message["To"] == "buyer@shop.example" and str(message["Subject"]).strip() == sent["subject"]
    assert [row.rstrip() for row in body_text(message).splitlines()] == [row.rstrip() for row in sent["text"].splitlines()]


def test_the_test_digest_with_the_mail_server_down_is_a_503_saying_so(
    tmp_path: Path, keys: tuple[Path, Path], auth: Auth
) -> None:
    down = Settings(
        database_url=f"sqlite:///{tmp_path}/down.db",
        jwt_public_key_file=str(keys[1]),
        digest_check_seconds=0,
        **smtp(free_port()),
    )
    with TestClient(create_app(down, bus=InProcessBus(), migrate_on_start=True)) as client:
        consumer = client.app.state.ctx.consumer
        shop(client, auth, consumer)
        answer = client.post(f"/api/inventory/outlets/{A}/low-stock-digest/test", headers=auth("manager", [A]))
        assert answer.status_code == 503
        assert "connection refused" in answer.json()["detail"] and "not sent" in answer.json()["detail"]


def test_the_daily_digest_goes_once_at_its_local_time_with_the_low_products(
    client: TestClient, auth: Auth, consumer: EventConsumer, settings: Settings, sink: Sink
) -> None:
    shop(client, auth, consumer)  # Berlin
    put_digest(client, auth, A, enabled=True, send_at="07:30")
    saved_long_ago(client.app.state.ctx.db, A)
    before = asyncio.run(job(client, settings, utc(2026, 3, 10, 6, 29)).run_once())  # 07:29 CET
    assert before == [] and sink.messages() == []
    (outcome,) = asyncio.run(job(client, settings, utc(2026, 3, 10, 6, 30)).run_once())
    assert (outcome.status, outcome.lines, outcome.recipients) == ("sent", 2, [f"manager.{A}@shop.example"])
    (message,) = sink.wait_for(1)
    assert message["To"] == f"manager.{A}@shop.example"
    assert str(message["Subject"]).strip() == "Low stock at Harbour St outlet-a: 2 products to reorder (2026-03-10)"
    text = body_text(message)
    rows = {row.split("  ")[0]: row.split()[-3:] for row in text.splitlines() if "(SKU-" in row}
    assert rows == {"Oat milk 1 l (SKU-milk)": ["0", "6", "12"], "Espresso beans (SKU-beans)": ["3", "5", "3"]}
    assert "Paper cups" not in text
    assert "Low stock page: https://pos.example/#/office/low-stock" in text
    assert "<td>Oat milk 1 l</td>" in body_html(message) and 'href="https://pos.example/#/office/low-stock"' in body_html(message)
    # Later the same day (and at the next checks): nothing more.
    for minutes in (1, 2, 60, 600):
        assert asyncio.run(job(client, settings, utc(2026, 3, 10, 6, 30) + timedelta(minutes=minutes)).run_once()) == []
    # The next day: the next digest.
    asyncio.run(job(client, settings, utc(2026, 3, 11, 6, 30)).run_once())
    assert len(sink.wait_for(2)) == 2
    shown = client.get(f"/api/inventory/outlets/{A}/low-stock-digest", headers=auth("manager", [A])).json()
    assert shown["last_run"]["local_date"] == "2026-03-11" and shown["last_run"]["status"] == "sent"


def test_nothing_to_report_sends_no_mail_unless_asked_for_an_all_stocked_line(
    client: TestClient, auth: Auth, consumer: EventConsumer, settings: Settings, sink: Sink
) -> None:
    announce_outlet(consumer, A, "Harbour St", "UTC")
    announce_user(consumer, "mgr", "manager@shop.example", "manager", [A])
    product(consumer, "cups", "Paper cups")
    stock_line(client, auth, A, "cups", 40, 10, 100)
    put_digest(client, auth, A, enabled=True, send_at="08:00")
    saved_long_ago(client.app.state.ctx.db, A)
    (outcome,) = asyncio.run(job(client, settings, utc(2026, 3, 10, 8, 0)).run_once())
    assert outcome.status == "nothing"
    assert asyncio.run(job(client, settings, utc(2026, 3, 10, 8, 5)).run_once()) == []
    assert sink.messages() == []
    shown = client.get(f"/api/inventory/outlets/{A}/low-stock-digest", headers=auth("manager", [A])).json()
    assert shown["last_run"]["status"] == "nothing" and shown["last_run"]["sent_at"] is None

    put_digest(client, auth, A, enabled=True, send_at="08:00", send_when_all_stocked=True)
    saved_long_ago(client.app.state.ctx.db, A)
    (outcome,) = asyncio.run(job(client, settings, utc(2026, 3, 11, 8, 0)).run_once())
    assert outcome.status == "sent"
    (message,) = sink.wait_for(1)
    assert str(message["Subject"]).strip() == "Low stock at Harbour St: all stocked (2026-03-11)"
    assert "All stocked: no product is at or under its reorder point." in body_text(message)


def test_a_mail_server_down_is_tried_again_in_the_next_minutes_and_the_digest_goes_once(
    tmp_path: Path, keys: tuple[Path, Path], auth: Auth
) -> None:
    port = free_port()  # nothing listens there yet
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/inventory.db",
        jwt_public_key_file=str(keys[1]),
        digest_check_seconds=0,
        **smtp(port),
    )
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as client:
        shop(client, auth, client.app.state.ctx.consumer, timezone="UTC")
        put_digest(client, auth, A, enabled=True, send_at="07:00")
        saved_long_ago(client.app.state.ctx.db, A)
        seven = utc(2026, 3, 10, 7, 0)
        (first,) = asyncio.run(job(client, settings, seven).run_once())
        assert first.status == "failed" and "connection refused" in (first.error or "")
        shown = client.get(f"/api/inventory/outlets/{A}/low-stock-digest", headers=auth("manager", [A])).json()["last_run"]
        assert (shown["status"], shown["attempts"], shown["next_try_at"]) == ("failed", 1, "2026-03-10T07:01:00Z")
        # Before its retry time nobody tries; at it, the second try fails too (2 minutes next).
        assert asyncio.run(job(client, settings, seven + timedelta(seconds=30)).run_once()) == []
        (second,) = asyncio.run(job(client, settings, seven + timedelta(minutes=1)).run_once())
        assert second.status == "failed"
        with running_sink(tmp_path / "mail", port) as sink:
            assert asyncio.run(job(client, settings, seven + timedelta(minutes=2)).run_once()) == []
            (third,) = asyncio.run(job(client, settings, seven + timedelta(minutes=3)).run_once())
            assert third.status == "sent"
            for minutes in (4, 10, 30):
                assert asyncio.run(job(client, settings, seven + timedelta(minutes=minutes)).run_once()) == []
            assert len(sink.wait_for(1)) == 1
            time_to_settle = 0.3
            asyncio.run(asyncio.sleep(time_to_settle))
            assert len(sink.messages()) == 1
        with client.app.state.ctx.db.transaction() as uow:
            run = uow.session.execute(select(digest_runs)).one()
        assert (run.status, run.attempts, run.last_error, json.loads(run.recipients)) == (
            "sent",
            3,
            None,
            [f"manager.{A}@shop.example"],
        )


# --- two replicas racing on MariaDB ---------------------------------------------------------------


OUTLETS = [f"outlet-{n}" for n in range(6)]


async def race(one: DigestJob, other: DigestJob, rounds: int = 3) -> list[str]:
    statuses = []
    for _ in range(rounds):
        for outcomes in await asyncio.gather(one.run_once(), other.run_once()):
            statuses += [o.status for o in outcomes]
    return statuses


@pytest.mark.integration
def test_two_replicas_racing_send_one_digest_per_outlet_and_day_on_mariadb(
    tmp_path: Path, keys: tuple[Path, Path], auth: Auth
) -> None:
    """Two replicas (each its own connection pool, as two processes) run the job at the
    same moments: each outlet's digest is claimed by one of them, also when a failed
    digest is taken up again, and the sink receives exactly one mail per outlet."""
    port = free_port()
    with scratch_mariadb("pos_it_inventory_digest") as (url,):
        settings = Settings(database_url=url, jwt_public_key_file=str(keys[1]), digest_check_seconds=0, **smtp(port))
        with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as client:
            consumer = client.app.state.ctx.consumer
            for outlet_id in OUTLETS:
                shop(client, auth, consumer, outlet_id, timezone="Europe/Lisbon")
                put_digest(client, auth, outlet_id, enabled=True, send_at="07:00")
                saved_long_ago(client.app.state.ctx.db, outlet_id)
            replica_1 = settings.open_database("inventory", metadata)
            replica_2 = settings.open_database("inventory", metadata)
            try:
                seven = utc(2026, 6, 1, 6, 0)  # 07:00 WEST
                # The mail server is down: each outlet's digest fails once, tried by one replica.
                down = asyncio.run(
                    race(job(client, settings, seven, "r1", replica_1), job(client, settings, seven, "r2", replica_2))
                )
                assert sorted(down) == ["failed"] * len(OUTLETS)
                with running_sink(tmp_path / "mail", port) as sink:
                    later = seven + timedelta(minutes=1)
                    up = asyncio.run(
                        race(job(client, settings, later, "r1", replica_1), job(client, settings, later, "r2", replica_2))
                    )
                    assert sorted(up) == ["sent"] * len(OUTLETS)
                    messages = sink.wait_for(len(OUTLETS))
                    more = seven + timedelta(minutes=30)
                    assert (
                        asyncio.run(
                            race(job(client, settings, more, "r1", replica_1), job(client, settings, more, "r2", replica_2))
                        )
                        == []
                    )
                    asyncio.run(asyncio.sleep(0.3))
                    messages = sink.messages()
                assert sorted(m["To"] for m in messages) == sorted(f"manager.{o}@shop.example" for o in OUTLETS)
                with client.app.state.ctx.db.transaction() as uow:
                    runs = uow.session.execute(select(digest_runs)).all()
                assert {(r.outlet_id, r.local_date, r.status, r.attempts) for r in runs} == {
                    (o, date(2026, 6, 1), "sent", 2) for o in OUTLETS
                }
            finally:
                replica_1.dispose()
                replica_2.dispose()


@pytest.mark.integration
def test_the_first_claim_of_a_day_is_won_by_one_replica_on_mariadb(keys: tuple[Path, Path], auth: Auth) -> None:
    """Many claims of the same (outlet, day) at once: one INSERT wins, the rest get None."""
    with scratch_mariadb("pos_it_inventory_digest_claim") as (url,):
        settings = Settings(database_url=url, jwt_public_key_file=str(keys[1]), digest_check_seconds=0)
        with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as client:
            databases = [settings.open_database("inventory", metadata) for _ in range(4)]
            try:
                jobs = [job(client, settings, utc(2026, 6, 1, 6, 0), f"r{n}", db) for n, db in enumerate(databases)]

                async def claims() -> list[object]:
                    now = utc(2026, 6, 1, 6, 0)
                    return await asyncio.gather(
                        *(asyncio.to_thread(j.claim, A, date(2026, 6, 1), now) for j in jobs for _ in range(3))
                    )

                won = [c for c in asyncio.run(claims()) if c is not None]
                assert len(won) == 1
            finally:
                for db in databases:
                    db.dispose()
