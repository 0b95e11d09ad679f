"""The exchange-rate endpoints on a real database (SQLite, and MariaDB as an integration
test): the cache filled by a refresh, the last good rates kept when the feed fails,
staleness, manual rates with their audit and history, and the 4xx a person can act on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pos_contracts.events import AuditRecorded
from pos_payments.app import create_app
from pos_payments.config import Settings
from pos_payments.rates_sandbox.app import Failure, RatesSandboxState
from pos_payments.tables import exchange_rates, manual_rates
from pos_platform.bus import InProcessBus
from pos_platform.testing import app_state, mint_token, outbox_events
from tests.databases import scratch_mariadb

OUTLET = "outlet-a"


def _today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/rates.db"
        return
    with scratch_mariadb(prefix="pos_payments_rates") as (url,):
        yield url


Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(keys[0], role, [OUTLET], name=f'Test {role}')}"}

    return headers


@pytest.fixture
def client(database_url: str, keys: tuple[Path, Path]) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        jwt_public_key_file=str(keys[1]),
        rates_provider="sandbox",
        rates_sandbox_url="",  # the sandbox in this process
        rates_refresh_interval_seconds=0,  # the tests refresh when they mean to
        rates_timeout_seconds=0.3,
        rates_attempts=2,
        rates_backoff_seconds=0.01,
        rates_backoff_max_seconds=0.02,
    )
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as c:
        yield c


def sandbox(client: TestClient) -> RatesSandboxState:
    return app_state(app_state(client).rates.provider.app).sandbox


def rates_by_code(client: TestClient, auth: Auth, base: str = "EUR") -> dict[str, dict]:
    r = client.get("/api/payments/rates", params={"base": base}, headers=auth("cashier"))
    assert r.status_code == 200, r.text
    return {row["currency"]: row for row in r.json()["rates"]}


def test_a_refresh_fills_the_cache_with_the_feeds_rates_as_strings(client: TestClient, auth: Auth) -> None:
    friday = _today() - timedelta(days=2)
    sandbox(client).rates = {"USD": "1.0812", "GBP": "0.85130", "JPY": "162.97"}
    sandbox(client).reference_date = friday
    assert client.get("/api/payments/rates", headers=auth("cashier")).json()["rates"] == []  # nothing cached yet
    r = client.post("/api/payments/rates/refresh", headers=auth("manager"))
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("source", "reference_date", "currencies", "stored", "stale")} == {
        "source": "sandbox", "reference_date": friday.isoformat(), "currencies": 3, "stored": 3, "stale": False,
    }  # fmt: skip
    with client.app.state.ctx.db.transaction() as uow:
        stored = {row.currency: row.per_eur for row in uow.session.execute(select(exchange_rates)).all()}
    assert stored == {"USD": "1.0812", "GBP": "0.85130", "JPY": "162.97"}  # exactly as the feed wrote them

    usd = rates_by_code(client, auth)["USD"]
    assert {k: usd[k] for k in ("rate", "source", "reference_date", "age_days", "stale", "usable")} == {
        "rate": "1.0812", "source": "sandbox", "reference_date": friday.isoformat(), "age_days": 2, "stale": False, "usable": True,
    }  # fmt: skip
    # cross rates: GBP -> USD from the euro rates, and the euro itself for a GBP base
    gbp = rates_by_code(client, auth, "GBP")
    assert gbp["USD"]["rate"] == "1.27005755903" and gbp["EUR"]["rate"] == "1.17467402796"
    assert "GBP" not in gbp
    single = client.get("/api/payments/rates/GBP/JPY", headers=auth("cashier")).json()
    assert single["rate"] == "191.436626336" and single["usable"]
    # a second refresh of the same sheet changes nothing
    assert client.post("/api/payments/rates/refresh", headers=auth("manager")).json()["stored"] == 3


def test_when_the_feed_fails_the_cached_rates_stay_with_their_age(client: TestClient, auth: Auth) -> None:
    day = _today() - timedelta(days=1)
    sandbox(client).reference_date = day
    assert client.post("/api/payments/rates/refresh", headers=auth("manager")).status_code == 200
    sandbox(client).failure = Failure(mode="garbage", garbage="truncated")
    sandbox(client).reference_date = _today()
    r = client.post("/api/payments/rates/refresh", headers=auth("manager"))
    assert r.status_code == 503
    assert "not XML" in r.json()["detail"]
    assert f"the cached rates of {day.isoformat()} (1 days old, still fresh) stay in use" in r.json()["detail"]
    listing = client.get("/api/payments/rates", headers=auth("cashier")).json()
    usd = next(row for row in listing["rates"] if row["currency"] == "USD")
    assert (usd["rate"], usd["reference_date"], usd["age_days"], usd["usable"]) == ("1.0812", day.isoformat(), 1, True)
    assert listing["feed"]["failures_in_a_row"] == 1 and "not XML" in listing["feed"]["last_error"]
    assert listing["feed"]["last_reference_date"] == day.isoformat()


def test_an_older_sheet_never_replaces_a_newer_cached_rate(client: TestClient, auth: Auth) -> None:
    sandbox(client).reference_date = _today()
    client.post("/api/payments/rates/refresh", headers=auth("manager"))
    sandbox(client).reference_date = _today() - timedelta(days=7)
    sandbox(client).rates = {"USD": "9.9999"}
    assert client.post("/api/payments/rates/refresh", headers=auth("manager")).json()["stored"] == 0
    assert rates_by_code(client, auth)["USD"]["rate"] == "1.0812"


def test_stale_rates_are_refused_until_a_manager_sets_a_rate_which_a_fresh_feed_rate_ends(client: TestClient, auth: Auth) -> None:
    old = _today() - timedelta(days=6)
    sandbox(client).reference_date = old
    sandbox(client).rates = {"USD": "1.0700", "GBP": "0.8500"}
    refreshed = client.post("/api/payments/rates/refresh", headers=auth("manager")).json()
    assert (refreshed["stale"], refreshed["age_days"]) == (True, 6)
    usd = rates_by_code(client, auth)["USD"]
    assert (usd["stale"], usd["usable"], usd["rate"], usd["age_days"]) == (True, False, "1.0700", 6)
    assert "foreign cash in USD is refused" in usd["detail"]

    # a cashier may not set a rate; a manager may, with a reason
    body = {"base": "EUR", "quote": "USD", "rate": "1.0850", "reason": "feed down since Tuesday, bank board rate"}
    assert client.post("/api/payments/rates/manual", json=body, headers=auth("cashier")).status_code == 403
    r = client.post("/api/payments/rates/manual", json=body, headers=auth("manager"))
    assert r.status_code == 201, r.text
    assert (r.json()["source"], r.json()["rate"], r.json()["usable"]) == ("manual", "1.0850", True)
    assert r.json()["feed"]["rate"] == "1.0700" and r.json()["feed"]["stale"]
    usd = rates_by_code(client, auth)["USD"]
    assert (usd["source"], usd["rate"], usd["stale"], usd["usable"]) == ("manual", "1.0850", False, True)
    assert usd["manual"]["set_by_name"] == "Test manager" and usd["manual"]["reason"] == body["reason"]
    # the inverse pair uses it too
    assert rates_by_code(client, auth, "USD")["EUR"]["source"] == "manual"

    # a fresh sheet arrives: the feed's rate is back, the manual rate has ended (and says why)
    sandbox(client).reference_date = _today()
    sandbox(client).rates = {"USD": "1.0812", "GBP": "0.8513"}
    refreshed = client.post("/api/payments/rates/refresh", headers=auth("manager")).json()
    assert len(refreshed["manual_rates_ended"]) == 1
    usd = rates_by_code(client, auth)["USD"]
    assert (usd["source"], usd["rate"], usd["manual"]) == ("sandbox", "1.0812", None)
    history = client.get("/api/payments/rates/manual", params={"base": "USD"}, headers=auth("manager")).json()
    assert len(history) == 1
    entry = history[0]
    assert (entry["base"], entry["quote"], entry["rate"], entry["reason"], entry["set_by_name"]) == (
        "EUR",
        "USD",
        "1.0850",
        body["reason"],
        "Test manager",
    )
    assert entry["ended_at"] is not None and f"a fresh sandbox rate of {_today().isoformat()} arrived" == entry["end_reason"]


def test_manual_rates_are_kept_as_an_append_only_history(client: TestClient, auth: Auth) -> None:
    for rate, reason in (("3.9700", "no feed rate for dirhams"), ("3.9800", "corrected after the bank called")):
        r = client.post(
            "/api/payments/rates/manual",
            json={"base": "EUR", "quote": "AED", "rate": rate, "reason": reason},
            headers=auth("manager"),
        )
        assert r.status_code == 201, r.text
    assert rates_by_code(client, auth)["AED"]["rate"] == "3.9800"  # the newest
    history = client.get("/api/payments/rates/manual", params={"base": "EUR", "quote": "AED"}, headers=auth("manager")).json()
    assert [(h["rate"], h["reason"]) for h in history] == [
        ("3.9800", "corrected after the bank called"),
        ("3.9700", "no feed rate for dirhams"),
    ]
    with client.app.state.ctx.db.transaction() as uow:
        rows = uow.session.execute(select(manual_rates).order_by(manual_rates.c.id)).all()
    assert [(r.set_by_name, r.rate, r.ended_at) for r in rows] == [
        ("Test manager", "3.9700", None),
        ("Test manager", "3.9800", None),
    ]
    default_expiry = rows[0].expires_at - rows[0].set_at
    assert default_expiry == timedelta(hours=24)


def test_a_manual_rate_is_refused_while_the_feeds_rate_is_fresh(client: TestClient, auth: Auth) -> None:
    sandbox(client).reference_date = _today()
    client.post("/api/payments/rates/refresh", headers=auth("manager"))
    r = client.post(
        "/api/payments/rates/manual",
        json={"base": "USD", "quote": "EUR", "rate": "0.9", "reason": "house rate"},
        headers=auth("manager"),
    )
    assert r.status_code == 409
    assert "is fresh" in r.json()["detail"] and "takes precedence" in r.json()["detail"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"rate": 1.085}, "send the rate as a decimal string"),
        ({"rate": "1,085"}, "not a decimal number"),
        ({"rate": "0"}, "greater than zero"),
        ({"rate": "1e3"}, "not a decimal number"),
        ({"quote": "XAU"}, "Gold"),
        ({"quote": "EURO"}, "not a currency code"),
        ({"base": "ABC"}, "not an ISO 4217 currency code"),
        ({"reason": ""}, "at least 3 characters"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "not in the future"),
        ({"expires_at": "2999-01-01T00:00:00Z"}, "more than 31 days away"),
        ({"quote": "EUR"}, "both EUR"),
    ],
)
def test_a_bad_manual_rate_is_a_422_that_says_what_to_fix(
    client: TestClient, auth: Auth, change: dict[str, object], says: str
) -> None:
    body = {"base": "EUR", "quote": "AED", "rate": "3.97", "reason": "no feed rate", **change}
    r = client.post("/api/payments/rates/manual", json=body, headers=auth("manager"))
    assert r.status_code == 422, r.text
    assert says in r.text


def test_an_unknown_base_is_a_422_and_a_refresh_is_for_managers(client: TestClient, auth: Auth) -> None:
    r = client.get("/api/payments/rates", params={"base": "EUX"}, headers=auth("cashier"))
    assert r.status_code == 422 and "EUX is not an ISO 4217 currency code" in r.json()["detail"]
    assert client.post("/api/payments/rates/refresh", headers=auth("cashier")).status_code == 403
    assert client.get("/api/payments/rates").status_code == 401


def test_a_manual_rate_is_reported_to_the_audit_chain_and_a_refused_one_is_not(client: TestClient, auth: Auth) -> None:
    def audits() -> list[dict]:
        return outbox_events(client, "AuditRecorded")

    sandbox(client).reference_date = _today() - timedelta(days=6)
    sandbox(client).rates = {"USD": "1.0700"}
    client.post("/api/payments/rates/refresh", headers=auth("manager"))
    body = {"base": "EUR", "quote": "USD", "rate": "1.0850", "reason": "feed down since Tuesday"}
    assert client.post("/api/payments/rates/manual", json=body, headers=auth("manager")).status_code == 201
    assert client.post("/api/payments/rates/manual", json={**body, "rate": "0"}, headers=auth("manager")).status_code == 422
    [event] = audits()
    assert event["producer"] == "payments"
    audit = AuditRecorded.model_validate(event["payload"])
    assert (audit.action, audit.actor_id, audit.target_type, audit.target_id) == (
        "exchange_rate.manual_set",
        "user-1",
        "exchange_rate",
        "EUR/USD",
    )
    d = audit.details
    assert (d["rate"], d["reason"], d["feed_rate"], d["set_by_name"]) == ("1.0850", body["reason"], "1.0700", "Test manager")
