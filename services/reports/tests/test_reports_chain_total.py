"""The chain total of a report over outlets in several currencies (ADR 0072): per-currency
totals stay as they are, and a total converted into the chain currency at payments' rates
is added, labelled with the rates' source and date. Reports read the rates from the real
payments app (in process, its rates sandbox in process too), on SQLite and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_payments.app import create_app as payments_app
from pos_payments.config import Settings as PaymentsSettings
from pos_platform.bus import InProcessBus
from pos_platform.testing import app_state, mint_token
from pos_reports.app import create_app as reports_app
from pos_reports.config import Settings as ReportsSettings
from services.reports.tests.builders import envelope, line, outlet, refund, sale
from tests.databases import scratch_mariadb

DAY = datetime.now(UTC).date()
WHEN = f"{DAY.isoformat()}T10:00:00Z"
RANGE = {"date_from": (DAY - timedelta(days=1)).isoformat(), "date_to": (DAY + timedelta(days=1)).isoformat()}


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.integration)])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/reports.db", f"sqlite:///{tmp_path}/payments.db"
        return
    with scratch_mariadb(prefix="pos_reports_chain") as (reports,), scratch_mariadb(prefix="pos_payments_chain") as (payments,):
        yield reports, payments


@pytest.fixture
def payments(urls: tuple[str, str], keys: tuple[Path, Path]) -> Iterator[TestClient]:
    settings = PaymentsSettings(
        database_url=urls[1],
        jwt_public_key_file=str(keys[1]),
        rates_provider="sandbox",
        rates_sandbox_url="",  # the sandbox in the payments process
        rates_refresh_interval_seconds=0,
    )
    with TestClient(payments_app(settings, bus=InProcessBus(), migrate_on_start=True)) as c:
        yield c


def reports_client(database_url: str, keys: tuple[Path, Path], transport: Any = None, **extra: Any) -> TestClient:
    settings = ReportsSettings(
        database_url=database_url,
        jwt_public_key_file=str(keys[1]),
        payments_url="http://127.0.0.1:1",  # nothing listens: only `transport` reaches payments
        reports_rates_cache_seconds=0,
        **extra,
    )
    return TestClient(reports_app(settings, bus=InProcessBus(), migrate_on_start=True, rates_transport=transport))


@pytest.fixture
def reports(urls: tuple[str, str], keys: tuple[Path, Path], payments: TestClient) -> Iterator[TestClient]:
    with reports_client(urls[0], keys, payments._transport) as c:
        yield c


def admin(keys: tuple[Path, Path]) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(keys[0], 'admin', [])}"}


def set_rates(payments: TestClient, keys: tuple[Path, Path], rates: dict[str, str], day: date) -> None:
    sandbox = app_state(app_state(payments).rates.provider.app).sandbox
    sandbox.rates, sandbox.reference_date = rates, day
    r = payments.post("/api/payments/rates/refresh", headers=admin(keys))
    assert r.status_code == 200, r.text


def a_chain(reports: TestClient) -> None:
    """Paris in euros, London in pounds, Tokyo in yen: a sale each, and a refund in London."""
    consumer = reports.app.state.ctx.consumer
    for event in (
        outlet("paris", "Paris", "EUR"),
        outlet("london", "London", "GBP", "Europe/London"),
        outlet("tokyo", "Tokyo", "JPY", "Asia/Tokyo"),
        sale("p1", "paris", WHEN, [line(1, "x", 1, 1200, 200)], [("cash", 1200)]),
        sale("l1", "london", WHEN, [line(1, "x", 1, 900, 150)], [("card", 900)], currency="GBP"),
        refund("r1", "l1", "london", WHEN, [(1, "x", 1, 900, 150, True)], [("card", 900)], currency="GBP"),
        sale("t1", "tokyo", WHEN, [line(1, "x", 1, 500, 0)], [("cash", 500)], currency="JPY"),
    ):
        assert consumer.handle(envelope(event))


def daily(reports: TestClient, keys: tuple[Path, Path], **params: Any) -> dict[str, Any]:
    r = reports.get("/api/reports/sales/daily", params={**RANGE, **params}, headers=admin(keys))
    assert r.status_code == 200, r.text
    return r.json()


def test_several_currencies_get_a_chain_total_converted_at_the_stated_rates(
    reports: TestClient, payments: TestClient, keys: tuple[Path, Path]
) -> None:
    friday = DAY - timedelta(days=1)
    set_rates(payments, keys, {"GBP": "0.8500", "JPY": "160.00"}, friday)
    a_chain(reports)
    report = daily(reports, keys)
    # The per-currency figures are untouched: one line per currency, never added up.
    assert [(t["currency"], t["gross_minor"]) for t in report["totals_by_currency"]] == [
        ("EUR", 1200),
        ("GBP", 900),
        ("JPY", 500),
    ]
    chain = report["chain_total"]
    assert chain["currency"] == "EUR" and chain["converted"] is True
    assert chain["label"] == f"converted at sandbox rates of {friday.isoformat()}"
    # 9.00 GBP / 0.85 = 10.588 EUR -> 10.59; 500 JPY / 160 = 3.125 EUR -> 3.12 (ties to even).
    lines = {ln["currency"]: ln for ln in chain["lines"]}
    assert (lines["EUR"]["rate"], lines["EUR"]["gross_minor"]) == ("1", 1200)
    assert (lines["GBP"]["rate"], lines["GBP"]["gross_minor"], lines["GBP"]["rate_date"]) == ("0.8500", 1059, friday.isoformat())
    assert (lines["JPY"]["rate"], lines["JPY"]["gross_minor"]) == ("160.00", 312)
    assert chain["gross_minor"] == 1200 + 1059 + 312
    assert chain["sales_count"] == 3
    # Net and net after refunds follow from the converted gross, tax and refunds.
    assert chain["tax_minor"] == 200 + 176 + 0  # 1.50 GBP = 1.7647 EUR -> 1.76
    assert chain["net_minor"] == chain["gross_minor"] - chain["tax_minor"]
    assert chain["refund_minor"] == 1059
    assert chain["net_after_refunds_minor"] == chain["net_minor"] - (1059 - 176)
    # The outlet comparison carries the same total.
    outlets = reports.get("/api/reports/sales/outlets", params=RANGE, headers=admin(keys)).json()
    assert outlets["chain_total"] == chain
    # One currency: nothing to add up, no total converted.
    assert daily(reports, keys, outlet_id="london")["chain_total"] is None


def test_stale_rates_are_used_and_said_to_be_stale(reports: TestClient, payments: TestClient, keys: tuple[Path, Path]) -> None:
    old = DAY - timedelta(days=9)
    set_rates(payments, keys, {"GBP": "0.8000", "JPY": "150"}, old)
    a_chain(reports)
    chain = daily(reports, keys)["chain_total"]
    assert chain["label"] == f"converted at sandbox rates of {old.isoformat()} (stale: GBP, JPY)"
    assert chain["gross_minor"] == 1200 + 1125 + 333


def test_a_currency_with_no_rate_leaves_the_totals_per_currency(
    reports: TestClient, payments: TestClient, keys: tuple[Path, Path]
) -> None:
    set_rates(payments, keys, {"GBP": "0.8500"}, DAY)
    a_chain(reports)
    report = daily(reports, keys)
    assert len(report["totals_by_currency"]) == 3
    chain = report["chain_total"]
    assert chain["label"] is None and chain["lines"] == [] and chain["gross_minor"] == 0
    assert chain["detail"] == "no rate from EUR to JPY in payments: the totals stay per currency"


def test_payments_not_answering_never_fails_a_report(urls: tuple[str, str], keys: tuple[Path, Path]) -> None:
    with reports_client(urls[0], keys) as reports:
        a_chain(reports)
        report = daily(reports, keys)
    assert [t["currency"] for t in report["totals_by_currency"]] == ["EUR", "GBP", "JPY"]
    assert report["chain_total"]["label"] is None
    assert report["chain_total"]["detail"].startswith("payments' rates could not be read (ConnectError")


def test_the_chain_currency_is_a_setting(urls: tuple[str, str], keys: tuple[Path, Path], payments: TestClient) -> None:
    set_rates(payments, keys, {"GBP": "0.8500", "JPY": "160.00"}, DAY)
    with reports_client(urls[0], keys, payments._transport, chain_currency="GBP") as reports:
        a_chain(reports)
        chain = daily(reports, keys)["chain_total"]
    assert chain["currency"] == "GBP"
    lines = {ln["currency"]: ln for ln in chain["lines"]}
    # GBP per EUR 0.85: 12.00 EUR = 10.20 GBP; JPY per GBP = 160 / 0.85 (a cross rate, 12 digits).
    assert lines["EUR"]["gross_minor"] == 1020 and lines["GBP"]["rate"] == "1"
    assert lines["JPY"]["rate"] == "188.235294118" and lines["JPY"]["gross_minor"] == 266  # 500 / 188.235... = 2.656
    with pytest.raises(ValueError, match="EUX is not an ISO 4217 currency code"):
        ReportsSettings(chain_currency="EUX")
