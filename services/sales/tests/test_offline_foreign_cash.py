"""Issue 16 offline: foreign cash a till took while it could not reach the services, at
the rate it had cached. Recorded as printed (ADR 0054), checked by the arithmetic a
checkout settles with; a rate already stale when the sale was made, or a currency the
outlet no longer takes, is listed as a sync exception with the figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from .test_foreign_cash import accept
from .test_offline_sync import exceptions, offline_sale, sync


def foreign_sale(*, as_of: str | None = None, foreign_minor: int = 3000, change: int = 275, **kwargs: Any) -> dict[str, Any]:
    """2 x 12.50 = 25.00 EUR, paid with 30.00 USD at 1.0812 (27.03 USD due): 2.75 EUR change."""
    body = offline_sale(**kwargs)
    sold = datetime.fromisoformat(body["sold_at"].replace("Z", "+00:00"))
    body["tenders"] = [
        {
            "kind": "foreign_cash",
            "amount_minor": body["total_minor"],
            "tendered_minor": body["total_minor"] + change,
            "currency": "USD",
            "foreign_minor": foreign_minor,
            "rate": "1.0812",
            "rate_source": "ecb",
            "rate_as_of": as_of or sold.date().isoformat(),
        }
    ]
    body["change_minor"] = change
    return body


def test_foreign_cash_taken_offline_is_recorded_at_the_tills_rate_once(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    assert accept(client, auth, ["USD"]).status_code == 200
    body = foreign_sale()
    r = sync(client, auth, body)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert (receipt["total_minor"], receipt["change_minor"], receipt["offline"]) == (2500, 275, True)
    as_of = body["tenders"][0]["rate_as_of"]
    assert receipt["tenders"] == [
        {"kind": "foreign_cash", "amount_minor": 2500, "tendered_minor": 2775, "currency": "USD", "foreign_minor": 3000,
         "due_foreign_minor": 2703, "change_minor": 275, "rate": "1.0812", "rate_source": "ecb", "rate_as_of": as_of}
    ]  # fmt: skip
    # Payments records it as an online foreign-cash tender, with when it was taken;
    # sales never asked payments for today's rate.
    (payment,) = fakes.capture_calls
    assert payment["tenders"] == [
        {"kind": "foreign_cash", "amount_minor": 2500, "currency": "USD", "foreign_minor": 3000, "change_minor": 275,
         "rate": "1.0812", "rate_source": "ecb", "rate_as_of": as_of}
    ]  # fmt: skip
    assert payment["taken_at"] == receipt["completed_at"]
    assert fakes.rate_calls == []
    text = client.get(f"/api/sales/{body['id']}/receipt", params={"format": "text"}, headers=auth()).text
    assert "TAKEN OFFLINE" in text and "USD" in text and "1.0812" in text
    assert exceptions(client, auth) == []
    again = sync(client, auth, body)  # the answer was lost: the same sale, once
    assert (again.status_code, again.json()) == (201, receipt)
    assert len(helpers.outbox(client, "SaleCompleted")) == 1
    assert len({c["payment_id"] for c in fakes.capture_calls}) == 1


def test_a_rate_stale_when_sold_or_a_currency_no_longer_taken_is_recorded_and_listed(client: TestClient, auth: Any) -> None:
    assert accept(client, auth, ["CHF"]).status_code == 200  # USD taken off the list since
    sold_at = datetime.now(UTC) - timedelta(hours=1)
    old = (sold_at - timedelta(days=5)).date().isoformat()
    body = foreign_sale(as_of=old, sold_at=sold_at)
    first = sync(client, auth, body)
    assert first.status_code == 201, first.text
    assert sync(client, auth, body).json() == first.json()
    found = {e["kind"]: e for e in exceptions(client, auth)}
    assert set(found) == {"foreign_cash_stale_rate", "foreign_cash_not_accepted"}
    stale = found["foreign_cash_stale_rate"]
    assert "5 days old when sold, stale after 3" in stale["detail"]
    figures = {"currency": "USD", "foreign_minor": 3000, "amount_minor": 2500, "change_minor": 275, "rate": "1.0812",
               "rate_source": "ecb", "rate_as_of": old}  # fmt: skip
    assert stale["facts"] == [{**figures, "age_days": 5, "stale_after_days": 3}]
    assert found["foreign_cash_not_accepted"]["facts"] == [{**figures, "accepted": ["CHF"]}]
    assert "the outlet takes CHF" in found["foreign_cash_not_accepted"]["detail"]


def test_a_rate_within_the_limit_when_sold_is_not_listed_however_late_the_sync(client: TestClient, auth: Any) -> None:
    assert accept(client, auth, ["USD"]).status_code == 200
    sold_at = datetime.now(UTC) - timedelta(hours=20)
    body = foreign_sale(as_of=(sold_at - timedelta(days=3)).date().isoformat(), sold_at=sold_at)
    assert sync(client, auth, body).status_code == 201
    assert [e["kind"] for e in exceptions(client, auth)] == []


def test_foreign_figures_that_do_not_follow_from_the_tills_rate_are_refused(client: TestClient, auth: Any, fakes: Any) -> None:
    assert accept(client, auth, ["USD"]).status_code == 200
    wrong_change = foreign_sale(change=300)
    r = sync(client, auth, wrong_change)
    assert r.status_code == 422 and "pay 2500 with 275 change, not the 2500 with 300 change" in r.text
    # 20 USD at 1.0812 is worth 18.49 EUR (rounded down, as a checkout credits it), the
    # rest in euro cash: a till that credited 18.50 is refused, one that credited 18.49 kept.
    split = foreign_sale(foreign_minor=2000, change=0)
    split["tenders"][0] |= {"amount_minor": 1850, "tendered_minor": 1850}
    split["tenders"].append({"kind": "cash", "amount_minor": 650, "tendered_minor": 650})
    r = sync(client, auth, split)
    assert r.status_code == 422 and "pay 1849 with 0 change, not the 1850 with 0 change" in r.text
    assert fakes.capture_calls == []
    split["tenders"][0] |= {"amount_minor": 1849, "tendered_minor": 1849}
    split["tenders"][1] |= {"amount_minor": 651, "tendered_minor": 700}
    split["change_minor"] = 49
    r = sync(client, auth, split)
    assert r.status_code == 201, r.text
    assert [(t["kind"], t["amount_minor"]) for t in r.json()["tenders"]] == [("foreign_cash", 1849), ("cash", 651)]
    fakes.capture_calls.clear()
    no_rate = foreign_sale()
    del no_rate["tenders"][0]["rate"]
    r = sync(client, auth, no_rate)
    assert r.status_code == 422 and "the rate the till used" in r.text
    two = foreign_sale()
    two["tenders"][0]["amount_minor"] = 1250
    two["tenders"].append({**two["tenders"][0]})
    r = sync(client, auth, two)
    assert r.status_code == 422 and "one foreign_cash tender per sale" in r.text
    assert fakes.capture_calls == []
