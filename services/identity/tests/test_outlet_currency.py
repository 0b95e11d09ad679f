"""An outlet's currency is an ISO 4217 code (issue 16): anything else is a 422 that
names the problem; the list a picker shows comes from the ISO table."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("currency", "says"),
    [
        ("EUX", "EUX is not an ISO 4217 currency code"),
        ("eur", "three capital letters"),
        ("EURO", "three capital letters"),
        ("€", "three capital letters"),
        ("XAU", "XAU (Gold) is in ISO 4217 but is not a currency money is counted in"),
        ("CHE", "fund"),
        ("XXX", "not a currency money is counted in"),
    ],
)
def test_an_outlet_in_anything_but_an_iso_4217_currency_is_refused(
    client: TestClient, admin: dict[str, str], currency: str, says: str
) -> None:
    r = client.post("/api/identity/outlets", json={"name": f"Shop {currency}", "currency": currency}, headers=admin)
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "currency"]
    assert says in error["msg"]
    assert client.get("/api/identity/outlets", headers=admin).json() == []


@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD", "CHF", "XOF"])
def test_an_outlet_in_an_iso_4217_currency_is_created(client: TestClient, admin: dict[str, str], currency: str) -> None:
    r = client.post("/api/identity/outlets", json={"name": f"Shop {currency}", "currency": currency}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["currency"] == currency


def test_the_currency_list_gives_code_name_and_minor_units(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get("/api/identity/currencies").status_code == 401
    r = client.get("/api/identity/currencies", headers=admin)
    assert r.status_code == 200
    body = r.json()
    assert body["iso_table_published"] >= "2026-01-01"
    by_code = {c["code"]: c for c in body["currencies"]}
    assert by_code["EUR"] == {"code": "EUR", "name": "Euro", "numeric": 978, "minor_units": 2, "cash_unit_minor": 1}
    assert (by_code["JPY"]["minor_units"], by_code["KWD"]["minor_units"], by_code["CHF"]["cash_unit_minor"]) == (0, 3, 5)
    assert not {"XAU", "XXX", "CHE", "XTS"} & set(by_code)
    codes = [c["code"] for c in body["currencies"]]
    assert codes == sorted(codes) and len(codes) > 150
