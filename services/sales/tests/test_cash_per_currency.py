"""Cash control per currency (issue 16, ADR 0063): an opening float and cash movements
per accepted foreign currency, a blind count per currency at the close, and the
X/Z-report's drawer per currency with the foreign over/short converted to the outlet's
currency at a stated rate. Refusals name the currency and write nothing."""

from __future__ import annotations

import uuid
from fractions import Fraction
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from pos_platform.conversion import exact_conversion
from pos_sales.shifts import ConversionRate, convert_to_outlet

OUTLET = "outlet-a"  # EUR, the service's default currency

USD = {"currency": "USD", "rate": "1.0812", "source": "sandbox", "reference_date": "2026-12-07", "age_days": 0, "stale": False,
       "usable": True, "detail": None, "feed": None, "manual": None}  # fmt: skip
CHF = {**USD, "currency": "CHF", "rate": "0.9400", "source": "ecb", "reference_date": "2026-12-04"}


def accept(client: TestClient, auth: Any, codes: list[str]) -> None:
    now = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    answer = client.put(
        f"/api/sales/outlets/{OUTLET}/settings", json={**now, "accepted_currencies": codes}, headers=auth("manager")
    )
    assert answer.status_code == 200, answer.text


def open_body(**extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "outlet_id": OUTLET, "register_id": "till-1", "opening_float_minor": 10000, **extra}


def move(client: TestClient, auth: Any, shift_id: str, kind: str, amount: int, currency: str | None = None) -> Any:
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "kind": kind, "amount_minor": amount, "reason": "safe drop"}
    if currency:
        body["currency"] = currency
    return client.post(f"/api/sales/shifts/{shift_id}/cash-movements", json=body, headers=auth())


def no_open_shift(client: TestClient, auth: Any) -> bool:
    found = client.get("/api/sales/shifts/current", params={"outlet_id": OUTLET, "register_id": "till-1"}, headers=auth())
    return found.status_code == 404


def test_opening_floats_are_checked_per_currency_and_a_refusal_writes_nothing(client: TestClient, auth: Any) -> None:
    accept(client, auth, ["USD", "CHF"])
    cases = [
        ([{"currency": "GBP", "amount_minor": 100}], "does not accept GBP"),
        ([{"currency": "EUR", "amount_minor": 100}], "EUR is outlet outlet-a's own currency"),
        ([{"currency": "CHF", "amount_minor": 2003}], "CHF changes hands in steps of 5"),
        ([{"currency": "USX", "amount_minor": 100}], "USX is not an ISO 4217 currency code"),
        ([{"currency": "USD", "amount_minor": 1}, {"currency": "USD", "amount_minor": 2}], "USD is listed twice"),
        ([{"currency": "USD", "amount_minor": 10.5}], "amount_minor"),
        ([{"currency": "USD", "amount_minor": -1}], "amount_minor"),
        # a good float then a bad one: nothing of the good one is kept either
        ([{"currency": "USD", "amount_minor": 5000}, {"currency": "JPY", "amount_minor": 1000}], "does not accept JPY"),
    ]
    for floats, said in cases:
        refused = client.post("/api/sales/shifts", json=open_body(foreign_floats=floats), headers=auth())
        assert refused.status_code == 422, (floats, refused.text)
        assert said in refused.text, (said, refused.text)
        assert no_open_shift(client, auth)
    body = open_body(foreign_floats=[{"currency": "USD", "amount_minor": 5000}, {"currency": "CHF", "amount_minor": 2000}])
    opened = client.post("/api/sales/shifts", json=body, headers=auth())
    assert opened.status_code == 201, opened.text
    assert opened.json()["foreign_floats"] == [
        {"currency": "CHF", "amount_minor": 2000},
        {"currency": "USD", "amount_minor": 5000},
    ]
    assert client.post("/api/sales/shifts", json=body, headers=auth()).status_code == 200  # the same open again
    other = {**body, "foreign_floats": [{"currency": "USD", "amount_minor": 4000}]}
    assert client.post("/api/sales/shifts", json=other, headers=auth()).status_code == 409


def test_cash_movements_name_their_currency(client: TestClient, auth: Any) -> None:
    accept(client, auth, ["USD"])
    shift_id = client.post("/api/sales/shifts", json=open_body(), headers=auth()).json()["id"]
    own = move(client, auth, shift_id, "out", 500)
    assert own.status_code == 201 and own.json()["currency"] == "EUR"
    usd = move(client, auth, shift_id, "in", 2000, "USD")
    assert usd.status_code == 201 and (usd.json()["currency"], usd.json()["amount_minor"]) == ("USD", 2000)
    gbp = move(client, auth, shift_id, "in", 2000, "GBP")
    assert gbp.status_code == 422 and "does not accept GBP" in gbp.json()["detail"]
    assert move(client, auth, shift_id, "in", 2000, "usd").status_code == 422
    # the same id in another currency is another movement
    body = {"id": str(uuid.uuid4()), "kind": "out", "amount_minor": 100, "reason": "x", "currency": "USD"}
    assert client.post(f"/api/sales/shifts/{shift_id}/cash-movements", json=body, headers=auth()).status_code == 201
    again = client.post(f"/api/sales/shifts/{shift_id}/cash-movements", json={**body, "currency": "EUR"}, headers=auth())
    assert again.status_code == 409
    x = client.get(f"/api/sales/shifts/{shift_id}/z-report", headers=auth("manager")).json()
    eur, usd_row = x["cash_by_currency"]
    assert (eur["currency"], eur["out_minor"], eur["expected_minor"]) == ("EUR", 500, 9500)
    assert (usd_row["currency"], usd_row["in_minor"], usd_row["out_minor"], usd_row["expected_minor"]) == ("USD", 2000, 100, 1900)
    assert "counted_minor" not in usd_row and "converted" not in usd_row  # an X-report counts nothing


def test_z_report_per_currency_with_the_foreign_over_short_converted(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    accept(client, auth, ["USD", "CHF", "JPY"])
    fakes.rates["EUR/USD"] = USD
    fakes.rates["EUR/CHF"] = CHF
    floats = [{"currency": "USD", "amount_minor": 5000}, {"currency": "CHF", "amount_minor": 2000}]
    shift_id = client.post("/api/sales/shifts", json=open_body(foreign_floats=floats), headers=auth()).json()["id"]
    body = helpers.sale(tenders=[{"kind": "foreign_cash", "currency": "USD", "amount_minor": 3000}]) | {"register_id": "till-1"}
    sold = client.post("/api/sales", json=body, headers=auth())
    assert sold.status_code == 201, sold.text  # 2500 EUR due: 27.03 USD, change 2.75 EUR
    assert move(client, auth, shift_id, "out", 1000, "USD").status_code == 201
    assert move(client, auth, shift_id, "in", 500, "CHF").status_code == 201
    refunded = client.post(
        f"/api/sales/{body['id']}/refunds",
        json={"id": str(uuid.uuid4()), "reason": "changed mind", "lines": [{"line_no": 1, "qty": 1}], "register_id": "till-1"},
        headers=auth("manager"),
    )
    assert refunded.status_code == 201, refunded.text  # paid in EUR (1250), the dollars stay in the drawer
    fakes.rate_calls.clear()

    # A count in a currency the outlet does not take: refused, the shift stays open.
    bad = client.post(
        f"/api/sales/shifts/{shift_id}/close",
        json={"counted_cash_minor": 1, "foreign_counted": [{"currency": "GBP", "amount_minor": 0}]},
        headers=auth(),
    )
    assert bad.status_code == 422 and "does not accept GBP" in bad.json()["detail"]
    assert not no_open_shift(client, auth)

    counts = [{"currency": "USD", "amount_minor": 6900}, {"currency": "CHF", "amount_minor": 2510}]
    closed = client.post(
        f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 8475, "foreign_counted": counts}, headers=auth()
    )
    assert closed.status_code == 200, closed.text
    z = closed.json()
    eur, chf, usd = z["cash_by_currency"]
    # EUR: 10000 float - 275 change for the dollars - 1250 refund = 8475, counted exactly
    assert eur == {
        "currency": "EUR", "own": True, "opening_float_minor": 10000, "sales_minor": 0, "refunds_minor": 1250,
        "in_minor": 0, "out_minor": 0, "change_given_minor": 275, "expected_minor": 8475, "counted_minor": 8475,
        "over_short_minor": 0,
    }  # fmt: skip
    # USD: 5000 float + 3000 taken - 1000 out = 7000; counted 6900: short 1.00 USD, at the
    # sale's rate 1.0812 USD per EUR = 0.9249 EUR -> -92 cents
    assert usd == {
        "currency": "USD", "own": False, "opening_float_minor": 5000, "sales_minor": 3000, "refunds_minor": 0,
        "in_minor": 0, "out_minor": 1000, "change_given_minor": 0, "expected_minor": 7000, "counted_minor": 6900,
        "over_short_minor": -100,
        "converted": {"currency": "EUR", "over_short_minor": -92, "rate": "1.0812", "rate_source": "sandbox",
                      "rate_as_of": "2026-12-07", "rate_basis": "sale"},
    }  # fmt: skip
    # CHF: no sale in it: payments' rate at the close (0.94 CHF per EUR): +0.10 CHF = +0.1064 EUR -> 11 cents
    assert (chf["expected_minor"], chf["over_short_minor"]) == (2500, 10)
    assert chf["converted"] == {
        "currency": "EUR", "over_short_minor": 11, "rate": "0.9400", "rate_source": "ecb", "rate_as_of": "2026-12-04",
        "rate_basis": "payments",
    }  # fmt: skip
    assert fakes.rate_calls == ["EUR/CHF"]  # the dollars use their sale's rate: no call
    assert z["cash"]["over_short_minor"] == 0 and z["foreign_cash"][0]["expected_minor"] == 7000  # float + taken - out
    # The events carry it for the reports (ADR 0072): ShiftClosed the drawer per currency,
    # SaleCompleted the tender's currency, the dollars handed over, the rate and the change.
    (closed_event,) = helpers.outbox(client, "ShiftClosed")
    assert [(c["currency"], c["own"], c["expected_minor"], c["counted_minor"], c["over_short_minor"])
            for c in closed_event["payload"]["cash_by_currency"]] == [
        ("EUR", True, 8475, 8475, 0), ("CHF", False, 2500, 2510, 10), ("USD", False, 7000, 6900, -100),
    ]  # fmt: skip
    (sold_event,) = helpers.outbox(client, "SaleCompleted")
    assert sold_event["payload"]["tenders"] == [
        {"kind": "foreign_cash", "amount_minor": 2500, "currency": "USD", "foreign_minor": 3000, "rate": "1.0812",
         "rate_source": "sandbox", "rate_as_of": "2026-12-07", "change_minor": 275},
    ]  # fmt: skip

    # Closing again with the same counts answers the same report; other counts are a 409.
    again = client.post(
        f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 8475, "foreign_counted": counts}, headers=auth()
    )
    assert again.status_code == 200 and again.json() == z
    other = client.post(
        f"/api/sales/shifts/{shift_id}/close",
        json={"counted_cash_minor": 8475, "foreign_counted": counts[:1]},
        headers=auth(),
    )
    assert other.status_code == 409
    shift = client.get(f"/api/sales/shifts/{shift_id}", headers=auth()).json()
    assert shift["foreign_counted"] == [{"currency": "CHF", "amount_minor": 2510}, {"currency": "USD", "amount_minor": 6900}]
    stored = client.get(f"/api/sales/shifts/{shift_id}/z-report", headers=auth()).json()
    assert stored == z
    text = client.get(f"/api/sales/shifts/{shift_id}/z-report", params={"format": "text"}, headers=auth()).text
    assert "USD drawer" in text and "-1.00 USD" in text and "= -0.92 EUR converted" in text
    assert "at 1 EUR = 1.0812 USD" in text and "(sandbox 2026-12-07, sale rate)" in text
    assert "CHF drawer" in text and "(ecb 2026-12-04, payments rate)" in text


def test_a_counted_currency_without_any_rate_is_not_converted_and_says_so(client: TestClient, auth: Any) -> None:
    accept(client, auth, ["JPY"])
    shift_id = client.post(
        "/api/sales/shifts", json=open_body(foreign_floats=[{"currency": "JPY", "amount_minor": 5000}]), headers=auth()
    ).json()["id"]
    closed = client.post(
        f"/api/sales/shifts/{shift_id}/close",
        json={"counted_cash_minor": 10000, "foreign_counted": [{"currency": "JPY", "amount_minor": 4000}]},
        headers=auth(),
    )
    assert closed.status_code == 200, closed.text
    jpy = closed.json()["cash_by_currency"][1]
    assert (jpy["currency"], jpy["expected_minor"], jpy["over_short_minor"]) == ("JPY", 5000, -1000)
    assert "converted" not in jpy and "not converted" in jpy["converted_detail"]


def test_a_foreign_currency_left_uncounted_has_no_over_short(client: TestClient, auth: Any) -> None:
    accept(client, auth, ["USD"])
    shift_id = client.post(
        "/api/sales/shifts", json=open_body(foreign_floats=[{"currency": "USD", "amount_minor": 5000}]), headers=auth()
    ).json()["id"]
    z = client.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 10000}, headers=auth()).json()
    usd = z["cash_by_currency"][1]
    assert usd["expected_minor"] == 5000 and "counted_minor" not in usd and "over_short_minor" not in usd


@given(
    amount=st.integers(-(10**9), 10**9),
    code=st.sampled_from(["USD", "JPY", "KWD", "CHF"]),
    rate=st.decimals(min_value="0.0001", max_value="20000", places=4),
)
def test_a_converted_over_short_is_the_nearest_minor_unit(amount: int, code: str, rate: Any) -> None:
    stated = ConversionRate(format(rate, "f"), "ecb", "2026-12-04", "sale")
    exact = exact_conversion(amount, code, "EUR", 1 / Fraction(rate))
    got = convert_to_outlet(amount, code, "EUR", stated)
    assert abs(Fraction(got) - exact) <= Fraction(1, 2)
    assert convert_to_outlet(-amount, code, "EUR", stated) in (-got, -got + 1, -got - 1)
