"""Foreign cash at the till (issue 16, ADR 0061): the outlet's accepted currencies, the
rate sales asks payments for (only for a sale with foreign cash), the tender settled at
that rate with change in the outlet's currency, refusals that store nothing, and the
rounding property across a split with another tender."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_platform.conversion import exact_conversion
from pos_platform.currencies import currency
from pos_sales.domain import CheckoutError, StampedRate, TenderIn, settle

OUTLET = "outlet-a"

USD = {"currency": "USD", "rate": "1.0812", "source": "sandbox", "reference_date": "2026-12-07", "age_days": 0, "stale": False,
       "usable": True, "detail": None, "feed": None, "manual": None}  # fmt: skip
STALE = {**USD, "age_days": 6, "stale": True, "usable": False,
         "detail": "the sandbox rate EUR→USD is from 2026-12-01, 6 days old (stale after 3), and no manager has set a manual rate: foreign cash in USD is refused"}  # fmt: skip


def accept(client: TestClient, auth: Any, codes: list[str]) -> Any:
    settings_now = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    return client.put(
        f"/api/sales/outlets/{OUTLET}/settings", json={**settings_now, "accepted_currencies": codes}, headers=auth("manager")
    )


def test_accepted_currencies_are_iso_4217_foreign_currencies_set_by_a_manager(client: TestClient, auth: Any) -> None:
    assert client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()["accepted_currencies"] == []
    ok = accept(client, auth, ["USD", "CHF"])
    assert ok.status_code == 200, ok.text
    assert client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()["accepted_currencies"] == ["USD", "CHF"]
    bad = accept(client, auth, ["USD", "EUX"])
    assert bad.status_code == 422 and "EUX is not an ISO 4217 currency code" in bad.text
    assert accept(client, auth, ["XAU"]).status_code == 422
    own = accept(client, auth, ["EUR"])
    assert own.status_code == 422 and "outlet's own currency" in own.text
    twice = accept(client, auth, ["USD", "USD"])
    assert twice.status_code == 422 and "twice" in twice.text
    settings_now = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    as_cashier = client.put(
        f"/api/sales/outlets/{OUTLET}/settings", json={**settings_now, "accepted_currencies": ["GBP"]}, headers=auth()
    )
    assert as_cashier.status_code == 403
    free_text = client.put(
        f"/api/sales/outlets/{OUTLET}/settings", json={**settings_now, "currency": "EUX"}, headers=auth("manager")
    )
    assert free_text.status_code == 422 and "ISO 4217" in free_text.text


def test_the_settings_tell_the_till_the_stale_limit_the_offline_sync_uses(make_client: Any, auth: Any) -> None:
    """The offline till refuses foreign cash at a kept rate older than this (ADR 0061):
    the service's POS_RATES_STALE_AFTER_DAYS, read-only (what a PUT sends is ignored)."""
    with make_client(rates_stale_after_days=5) as client:
        url = f"/api/sales/outlets/{OUTLET}/settings"
        assert client.get(url, headers=auth()).json()["rates_stale_after_days"] == 5
        saved = client.put(
            url, json={**client.get(url, headers=auth()).json(), "rates_stale_after_days": 30}, headers=auth("manager")
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["rates_stale_after_days"] == 5
        assert client.get(url, headers=auth()).json()["rates_stale_after_days"] == 5
        without = {k: v for k, v in client.get(url, headers=auth()).json().items() if k != "rates_stale_after_days"}
        assert client.put(url, json=without, headers=auth("manager")).status_code == 200


def test_foreign_cash_sale_takes_the_servers_rate_and_gives_change_in_the_outlets_currency(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    assert accept(client, auth, ["USD"]).status_code == 200
    fakes.rates["EUR/USD"] = USD
    # 2 x 12.50 = 25.00 EUR due = 27.03 USD at 1.0812; 30.00 USD handed over: 2.97 USD
    # over = 2.7469 EUR -> 2.75 EUR change.
    r = client.post(
        "/api/sales",
        json=helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 3000}]),
        headers=auth(),
    )
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert (receipt["total_minor"], receipt["due_minor"], receipt["change_minor"]) == (2500, 2500, 275)
    (tender,) = receipt["tenders"]
    assert tender == {
        "kind": "foreign_cash", "amount_minor": 2500, "tendered_minor": 2775, "currency": "USD", "foreign_minor": 3000,
        "due_foreign_minor": 2703, "change_minor": 275, "rate": "1.0812", "rate_source": "sandbox", "rate_as_of": "2026-12-07",
    }  # fmt: skip
    assert fakes.rate_calls == ["EUR/USD"]
    (payment,) = fakes.capture_calls
    assert payment["tenders"] == [{"kind": "foreign_cash", "amount_minor": 2500, "currency": "USD", "foreign_minor": 3000, "change_minor": 275,
                                   "rate": "1.0812", "rate_source": "sandbox", "rate_as_of": "2026-12-07"}]  # fmt: skip
    # Stored with the sale, and the same answer on a repeat even once the rate went stale.
    fakes.rates["EUR/USD"] = STALE
    again = client.post(
        "/api/sales",
        json=helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 3000}])
        | {"id": receipt["sale_id"]},
        headers=auth(),
    )
    assert (again.status_code, again.json()) == (201, receipt)
    assert client.get(f"/api/sales/{receipt['sale_id']}", headers=auth()).json()["tenders"][0]["rate"] == "1.0812"


def test_a_cash_or_card_sale_asks_for_no_rate(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    assert accept(client, auth, ["USD"]).status_code == 200
    assert client.post("/api/sales", json=helpers.sale(), headers=auth()).status_code == 201
    assert (
        client.post("/api/sales", json=helpers.sale(tenders=[{"kind": "card", "amount_minor": 2500}]), headers=auth()).status_code
        == 201
    )
    assert fakes.rate_calls == []


def test_refusals_store_nothing_and_say_why(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    assert accept(client, auth, ["USD"]).status_code == 200
    fakes.rates["EUR/USD"] = STALE
    body = helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 3000}])
    stale = client.post("/api/sales", json=body, headers=auth())
    assert stale.status_code == 409, stale.text
    assert stale.json()["code"] == "rate_unusable"
    assert "6 days old (stale after 3)" in stale.json()["detail"] and "no manager has set a manual rate" in stale.json()["detail"]
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).status_code == 404
    assert fakes.reservations == {} and fakes.capture_calls == []

    gbp = client.post(
        "/api/sales",
        json=helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "GBP", "amount_minor": 3000}]),
        headers=auth(),
    )
    assert gbp.status_code == 422 and "does not take GBP cash (it takes USD)" in gbp.json()["detail"]
    assert fakes.rate_calls == ["EUR/USD"]  # GBP was refused before asking

    fakes.rates["EUR/USD"] = USD
    changed = client.post(
        "/api/sales",
        json=helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 3000, "quoted_rate": "1.0700"}]),
        headers=auth(),
    )
    assert (
        changed.status_code == 409
        and changed.json()["rate"] == "1.0812"
        and "not the 1.0700 the pay dialog showed" in changed.json()["detail"]
    )
    short = client.post(
        "/api/sales",
        json=helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 2000}]),
        headers=auth(),
    )
    assert short.status_code == 422 and "less than the total due" in short.json()["detail"]
    assert fakes.reservations == {} and fakes.capture_calls == []
    not_iso = client.post(
        "/api/sales",
        json=helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "EUX", "amount_minor": 2000}]),
        headers=auth(),
    )
    assert not_iso.status_code == 422 and "ISO 4217" in not_iso.text


def test_part_foreign_cash_part_card(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    assert accept(client, auth, ["USD"]).status_code == 200
    fakes.rates["EUR/USD"] = USD
    # 20.00 USD is worth 18.4979 EUR, credited 18.49 (rounded down): the card pays 6.51.
    r = client.post(
        "/api/sales",
        json=helpers.sale(
            tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 2000}, {"kind": "card", "amount_minor": 651}]
        ),
        headers=auth(),
    )
    assert r.status_code == 201, r.text
    card, foreign = r.json()["tenders"]
    assert (card["kind"], card["amount_minor"]) == ("card", 651)
    assert (foreign["amount_minor"], foreign["foreign_minor"], foreign["due_foreign_minor"], foreign["change_minor"]) == (
        1849,
        2000,
        1999,
        1,
    )
    # Part USD, part euro cash: the USD is credited 18.49, the euro cash pays 6.51 with change.
    r = client.post(
        "/api/sales",
        json=helpers.sale(
            tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 2000}, {"kind": "cash", "amount_minor": 1000}]
        ),
        headers=auth(),
    )
    assert r.status_code == 201, r.text
    foreign, cash = r.json()["tenders"]
    assert (foreign["amount_minor"], foreign["change_minor"], cash["amount_minor"], cash["tendered_minor"]) == (
        1849,
        0,
        651,
        1000,
    )
    assert r.json()["change_minor"] == 349


RATE = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("20000"), places=4).filter(lambda d: d > 0)
PAIRS = st.sampled_from(
    [("EUR", "USD"), ("EUR", "JPY"), ("CHF", "EUR"), ("EUR", "CHF"), ("SEK", "EUR"), ("EUR", "KWD"), ("JPY", "DKK")]
)


@settings(max_examples=300, deadline=None)
@given(pair=PAIRS, rate=RATE, total=st.integers(1, 10**7), card=st.integers(0, 10**7), handed=st.integers(1, 10**8))
def test_settling_with_foreign_cash_never_makes_or_loses_a_minor_unit_beyond_the_rounding(
    pair: tuple[str, str], rate: Decimal, total: int, card: int, handed: int
) -> None:
    """What the shop keeps (card + the foreign cash's exact value - change) differs from
    the total by at most half a foreign cash unit plus half a local cash unit when the
    foreign cash settles the sale; a part payment is credited at most its value and
    less than a minor unit below it."""
    local, foreign = pair
    card = min(card, total - 1)
    unit = currency(foreign).cash_unit_minor
    handed = max(handed - handed % unit, unit)
    stamped = StampedRate(local, foreign, format(rate, "f"), "sandbox", "2026-12-07")
    tenders = [TenderIn("foreign_cash", handed, None, foreign)] + ([TenderIn("card", card)] if card else [])
    try:
        done = settle(total, tenders, rate=stamped)
    except CheckoutError as exc:
        assert "less than" in str(exc) or "worth less than a minor unit" in str(exc) or "do not cover" in str(exc)
        return
    (applied,) = [t for t in done.tenders if t.kind == "foreign_cash"]
    value = exact_conversion(handed, foreign, local, 1 / Fraction(rate))
    kept = card + value - applied.change_minor
    bound = exact_conversion(unit, foreign, local, 1 / Fraction(rate)) / 2 + Fraction(currency(local).cash_unit_minor, 2)
    assert applied.amount_minor + card == total and done.due_minor == total
    assert applied.change_minor >= 0
    assert abs(kept - total) <= bound
    assert done.tendered_minor - done.change_minor == total


def test_receipt_and_z_report_show_the_foreign_cash(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    import uuid

    assert accept(client, auth, ["USD"]).status_code == 200
    fakes.rates["EUR/USD"] = USD
    shift_id = str(uuid.uuid4())
    opened = client.post(
        "/api/sales/shifts",
        json={"id": shift_id, "outlet_id": OUTLET, "register_id": "till-1", "opening_float_minor": 10000},
        headers=auth(),
    )
    assert opened.status_code == 201, opened.text
    body = helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 3000}]) | {"register_id": "till-1"}
    sold = client.post("/api/sales", json=body, headers=auth())
    assert sold.status_code == 201, sold.text
    text = client.get(f"/api/sales/{body['id']}/receipt", params={"format": "text"}, headers=auth()).text
    assert "Cash USD" in text and "30.00 USD" in text and "1 EUR = 1.0812 USD" in text and "due 27.03 USD" in text
    assert "change EUR" in text and "2.75" in text
    # The drawer: the euro float less the euro change; the dollars on their own line.
    closed = client.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 9725}, headers=auth())
    assert closed.status_code == 200, closed.text
    z = closed.json()
    assert (z["cash"]["foreign_change_minor"], z["cash"]["expected_minor"], z["cash"]["over_short_minor"]) == (275, 9725, 0)
    assert z["foreign_cash"] == [
        {"currency": "USD", "tenders": 1, "taken_minor": 3000, "expected_minor": 3000, "change_given_minor": 275}
    ]
    report = client.get(f"/api/sales/shifts/{shift_id}/z-report", params={"format": "text"}, headers=auth()).text
    assert "Expected USD (1 tenders)" in report and "30.00 USD" in report


def test_a_foreign_cash_sale_is_refunded_in_the_outlets_currency_at_the_sales_amounts(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    import uuid

    assert accept(client, auth, ["USD"]).status_code == 200
    fakes.rates["EUR/USD"] = USD
    sold = client.post(
        "/api/sales",
        json=helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 3000}]),
        headers=auth(),
    )
    assert sold.status_code == 201, sold.text
    fakes.rates["EUR/USD"] = {**USD, "rate": "1.2500"}  # the rate moves: it plays no part
    one = client.post(
        f"/api/sales/{sold.json()['sale_id']}/refunds",
        json={"id": str(uuid.uuid4()), "reason": "changed mind", "lines": [{"line_no": 1, "qty": 1}]},
        headers=auth("manager"),
    )
    assert one.status_code == 201, one.text
    assert one.json()["tenders"] == [{"kind": "cash", "amount_minor": 1250}]
    (sent,) = fakes.refunds.values()
    assert (sent["currency"], sent["tenders"]) == ("EUR", [{"kind": "cash", "amount_minor": 1250}])
    assert fakes.rate_calls == ["EUR/USD"]  # the refund asked for no rate
