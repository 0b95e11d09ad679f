"""Tax rates per outlet and tax class with the date each starts (ADR 0066): the sale uses
the rate in effect at its time at the outlet (local midnight of the date), managers
schedule and cancel rates with clear refusals, everything audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from pos_contracts import new_envelope
from pos_contracts.events import OutletChanged, OutletCreated
from pos_platform.testing import app_state
from pos_sales import outlet_policy
from pos_sales.domain import ScheduledRate, rates_in_effect

from .conftest import OTHER, OUTLET

ZONE = "Pacific/Auckland"  # UTC+13 in December: the outlet's date is not UTC's


def local_today(zone: str = ZONE) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def set_zone(client: TestClient, auth: Any, zone: str = ZONE) -> None:
    now = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    saved = client.put(f"/api/sales/outlets/{OUTLET}/settings", json={**now, "timezone": zone}, headers=auth("manager"))
    assert saved.status_code == 200, saved.text


def schedule(client: TestClient, auth: Any, tax_class: str, rate: Any, day: date | str, role: str = "manager") -> Any:
    return client.post(
        f"/api/sales/outlets/{OUTLET}/tax-rates",
        json={"tax_class": tax_class, "rate": rate, "effective_from": str(day)},
        headers=auth(role),
    )


def quote_tax(client: TestClient, auth: Any) -> tuple[int, int]:
    """(rate, tax) of one mug (12.50, standard class, prices include tax)."""
    answer = client.post(
        "/api/sales/quote", json={"outlet_id": OUTLET, "lines": [{"product_id": "mug", "qty": 1}]}, headers=auth()
    )
    assert answer.status_code == 200, answer.text
    line = answer.json()["lines"][0]
    return line["tax_rate_bp"], line["tax_minor"]


# --- picking the rate by date --------------------------------------------------------------


def test_rates_in_effect_takes_the_latest_started_entry_per_class() -> None:
    jan = datetime(2027, 1, 1)
    jul = datetime(2027, 7, 1)
    schedule_ = [
        ScheduledRate("standard", jul, 2300),
        ScheduledRate("standard", jan, 2100),
        ScheduledRate("reduced", jul, 600),
        ScheduledRate("ghost", jan, 9900),  # not a class of the outlet: ignored
    ]
    base = {"standard": 2000, "reduced": 500}
    assert rates_in_effect(base, schedule_, jan - timedelta(microseconds=1)) == base
    assert rates_in_effect(base, schedule_, jan) == {"standard": 2100, "reduced": 500}
    assert rates_in_effect(base, schedule_, jul + timedelta(days=400)) == {"standard": 2300, "reduced": 600}


def test_local_midnight_is_the_switch_including_across_a_dst_change() -> None:
    # Berlin is UTC+1 in winter, UTC+2 in summer: midnight local is 23:00 or 22:00 UTC the day before.
    assert outlet_policy.starts_at(date(2027, 1, 1), "Europe/Berlin") == datetime(2026, 12, 31, 23, 0)
    assert outlet_policy.starts_at(date(2027, 7, 1), "Europe/Berlin") == datetime(2027, 6, 30, 22, 0)
    assert outlet_policy.starts_at(date(2027, 1, 1), "America/New_York") == datetime(2027, 1, 1, 5, 0)


def test_a_sale_one_second_before_and_after_local_midnight(
    client: TestClient, auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quote (and sale) prices with the rate in effect at its time at the outlet: the
    second before the outlet's midnight the old rate, the second after the new one."""
    set_zone(client, auth)
    tomorrow = local_today() + timedelta(days=1)
    assert schedule(client, auth, "standard", "25", tomorrow).status_code == 201
    midnight = datetime.combine(tomorrow, datetime.min.time(), tzinfo=ZoneInfo(ZONE)).astimezone(UTC).replace(tzinfo=None)
    assert midnight.date() != tomorrow  # 13 h ahead: UTC is still on the day before

    monkeypatch.setattr(outlet_policy, "utcnow", lambda: midnight - timedelta(seconds=1))
    assert quote_tax(client, auth) == (2000, 208)  # 12.50 incl. 20 %
    before = client.post("/api/sales", json=_sale(), headers=auth())
    assert before.status_code == 201, before.text
    assert before.json()["lines"][0]["tax_rate_bp"] == 2000

    monkeypatch.setattr(outlet_policy, "utcnow", lambda: midnight + timedelta(seconds=1))
    assert quote_tax(client, auth) == (2500, 250)  # 12.50 incl. 25 %
    after = client.post("/api/sales", json=_sale(), headers=auth())
    assert after.status_code == 201, after.text
    assert after.json()["lines"][0]["tax_rate_bp"] == 2500
    assert after.json()["tax_minor"] == 250


def _sale() -> dict[str, Any]:
    import uuid

    return {
        "id": str(uuid.uuid4()),
        "outlet_id": OUTLET,
        "lines": [{"product_id": "mug", "qty": 1}],
        "tenders": [{"kind": "cash", "amount_minor": 1250}],
    }


def test_load_at_a_moment_gives_that_moments_rates(client: TestClient, auth: Any) -> None:
    """What the offline sync or a report would ask: the rates at a given sold_at."""
    set_zone(client, auth, "Europe/Berlin")
    day = local_today("Europe/Berlin") + timedelta(days=3)
    assert schedule(client, auth, "reduced", "7", day).status_code == 201
    switch = outlet_policy.starts_at(day, "Europe/Berlin")
    ctx = app_state(client).ctx
    with ctx.db.transaction() as uow:
        early = outlet_policy.load(uow, OUTLET, ctx.settings, at=switch - timedelta(seconds=1))
        late = outlet_policy.load(uow, OUTLET, ctx.settings, at=switch)
    assert early.tax_rates_bp["reduced"] == 500
    assert late.tax_rates_bp["reduced"] == 700
    assert late.tax_rates_bp["standard"] == 2000


# --- the API ---------------------------------------------------------------------------------


def test_schedule_today_applies_to_the_next_sale_and_is_listed(client: TestClient, auth: Any, helpers: Any) -> None:
    assert quote_tax(client, auth) == (2000, 208)
    made = schedule(client, auth, "standard", "21.5", local_today("UTC"))
    assert made.status_code == 201, made.text
    assert quote_tax(client, auth) == (2150, 221)
    view = client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()  # a cashier may read
    standard = next(c for c in view["classes"] if c["tax_class"] == "standard")
    assert standard["rate"] == "21.50" and standard["rate_bp"] == 2150
    assert standard["since"] == str(local_today("UTC")) and standard["next"] is None
    assert view["prices_include_tax"] is True and view["timezone"] == "UTC"
    # The settings answer the rate in effect now (what a till that does not read the schedule uses).
    assert client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()["tax_rates_bp"]["standard"] == 2150
    [entry] = [e for e in helpers.outbox(client, "AuditRecorded") if e["payload"]["action"] == "outlet.tax_rate_scheduled"]
    details = entry["payload"]["details"]
    assert details["tax_class"] == "standard" and details["rate_bp"] == 2150 and details["rate_in_effect_bp"] == 2000
    assert entry["payload"]["actor_id"] == "manager-1"


def test_an_upcoming_rate_is_shown_and_can_be_cancelled(client: TestClient, auth: Any, helpers: Any) -> None:
    new_year = local_today("UTC") + timedelta(days=25)
    made = schedule(client, auth, "standard", "21", new_year)
    assert made.status_code == 201, made.text
    standard = next(c for c in made.json()["classes"] if c["tax_class"] == "standard")
    assert standard["rate"] == "20.00"
    assert standard["next"]["rate"] == "21.00" and standard["next"]["effective_from"] == str(new_year)
    assert standard["next"]["starts_at"] == f"{new_year}T00:00:00Z"
    assert standard["next"]["set_by_name"] == "A manager"
    assert quote_tax(client, auth) == (2000, 208)

    assert client.delete(f"/api/sales/outlets/{OUTLET}/tax-rates/standard/{new_year}", headers=auth()).status_code == 403
    gone = client.delete(f"/api/sales/outlets/{OUTLET}/tax-rates/standard/{new_year}", headers=auth("manager"))
    assert gone.status_code == 200, gone.text
    assert gone.json()["schedule"] == []
    again = client.delete(f"/api/sales/outlets/{OUTLET}/tax-rates/standard/{new_year}", headers=auth("manager"))
    assert again.status_code == 404
    actions = [e["payload"]["action"] for e in helpers.outbox(client, "AuditRecorded")]
    assert "outlet.tax_rate_cancelled" in actions


def test_a_started_rate_cannot_be_cancelled(client: TestClient, auth: Any) -> None:
    today = local_today("UTC")
    assert schedule(client, auth, "reduced", "6", today).status_code == 201
    refused = client.delete(f"/api/sales/outlets/{OUTLET}/tax-rates/reduced/{today}", headers=auth("manager"))
    assert refused.status_code == 422
    assert "has started" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("tax_class", "rate", "day_offset", "words"),
    [
        ("luxury", "20", 1, "unknown tax class 'luxury': the outlet's tax classes are reduced, standard"),
        ("standard", "-1", 1, "negative"),
        ("standard", "100.01", 1, "over 100 %"),
        ("standard", "20.125", 1, "more than two decimals"),
        ("standard", "twenty", 1, "not a number"),
        ("standard", "NaN", 1, "not a number"),
        ("standard", "1_0", 1, "not a number"),
        ("standard", "1e1", 1, "not a number"),
        ("standard", "Infinity", 1, "not a number"),
        ("standard", "20", 3700, "more than 10 years ahead"),
        ("standard", "20", -1, "is in the past"),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_stored(
    client: TestClient, auth: Any, tax_class: str, rate: str, day_offset: int, words: str
) -> None:
    refused = schedule(client, auth, tax_class, rate, local_today("UTC") + timedelta(days=day_offset))
    assert refused.status_code == 422, refused.text
    assert words in refused.json()["detail"]
    assert client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()["schedule"] == []


def test_a_rate_as_a_json_number_or_a_bad_date_is_refused(client: TestClient, auth: Any) -> None:
    assert schedule(client, auth, "standard", 21, local_today("UTC")).status_code == 422
    assert schedule(client, auth, "standard", "21", "2027-02-30").status_code == 422
    assert schedule(client, auth, "standard", "21", "9999-12-31").status_code == 422  # not a 500 past the calendar
    gone = client.delete(f"/api/sales/outlets/{OUTLET}/tax-rates/standard/9999-12-31", headers=auth("manager"))
    assert gone.status_code == 404


def test_the_same_class_and_date_twice_is_refused(client: TestClient, auth: Any) -> None:
    day = local_today("UTC") + timedelta(days=2)
    assert schedule(client, auth, "standard", "21", day).status_code == 201
    twice = schedule(client, auth, "standard", "22", day)
    assert twice.status_code == 422
    assert f"standard already has a rate from {day}" in twice.json()["detail"]
    rates = client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()["schedule"]
    assert [(e["tax_class"], e["rate_bp"]) for e in rates] == [("standard", 2100)]


def test_100_and_0_percent_are_rates(client: TestClient, auth: Any) -> None:
    day = local_today("UTC") + timedelta(days=2)
    assert schedule(client, auth, "standard", "100", day).status_code == 201
    assert schedule(client, auth, "reduced", "0", day).status_code == 201


def test_the_past_is_the_outlets_date_not_utcs(client: TestClient, auth: Any) -> None:
    """Auckland is a day ahead of UTC for half of each day: its today is accepted, its
    yesterday refused, whatever UTC's date is."""
    set_zone(client, auth)
    assert schedule(client, auth, "standard", "21", local_today()).status_code == 201
    refused = schedule(client, auth, "reduced", "6", local_today() - timedelta(days=1))
    assert refused.status_code == 422
    assert f"today at the outlet is {local_today()} (Pacific/Auckland)" in refused.json()["detail"]


def test_cashiers_read_managers_write_other_outlets_are_not_found(client: TestClient, auth: Any) -> None:
    day = local_today("UTC") + timedelta(days=1)
    assert schedule(client, auth, "standard", "21", day, role="cashier").status_code == 403
    assert client.get(f"/api/sales/outlets/{OTHER}/tax-rates", headers=auth()).status_code == 404
    other = client.post(
        f"/api/sales/outlets/{OTHER}/tax-rates",
        json={"tax_class": "standard", "rate": "21", "effective_from": str(day)},
        headers=auth("manager"),
    )
    assert other.status_code == 404


def test_a_wrong_time_zone_is_refused(client: TestClient, auth: Any) -> None:
    now = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    refused = client.put(
        f"/api/sales/outlets/{OUTLET}/settings", json={**now, "timezone": "Mars/Olympus"}, headers=auth("manager")
    )
    assert refused.status_code == 422
    assert "'Mars/Olympus' is not an IANA time zone" in refused.text


def test_changing_a_rate_in_the_settings_keeps_the_upcoming_ones(client: TestClient, auth: Any) -> None:
    """The settings' tax_rates_bp are the rates in effect now: changing one there applies
    from now on and drops its started entries; a rate still to come stays."""
    today = local_today("UTC")
    later = today + timedelta(days=30)
    assert schedule(client, auth, "standard", "21", today).status_code == 201
    assert schedule(client, auth, "standard", "23", later).status_code == 201
    now = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    assert now["tax_rates_bp"]["standard"] == 2100
    saved = client.put(
        f"/api/sales/outlets/{OUTLET}/settings",
        json={**now, "tax_rates_bp": {**now["tax_rates_bp"], "standard": 2200}},
        headers=auth("manager"),
    )
    assert saved.status_code == 200, saved.text
    assert quote_tax(client, auth)[0] == 2200
    rates = client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()["schedule"]
    assert [(e["effective_from"], e["rate_bp"]) for e in rates] == [(str(later), 2300)]
    # Saving the settings unchanged (the receipt page does) leaves the schedule alone.
    same = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    assert client.put(f"/api/sales/outlets/{OUTLET}/settings", json=same, headers=auth("manager")).status_code == 200
    assert len(client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()["schedule"]) == 1


def test_a_class_added_and_the_provider_chosen_in_the_settings_show_in_the_tax_view(client: TestClient, auth: Any) -> None:
    """What the office's Tax page does (issue 16): a new class added to the settings' table
    is listed with its rate, and the provider and address chosen are answered back, with
    what `default` means here and whether a tax API is configured."""
    view = client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()
    assert (view["tax_provider"], view["default_tax_provider"], view["tax_address"]) == ("default", "builtin", None)
    now = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    body = {**now, "tax_rates_bp": {**now["tax_rates_bp"], "food": 700}, "tax_provider": "external"}
    refused = client.put(f"/api/sales/outlets/{OUTLET}/settings", json=body, headers=auth("manager"))
    assert refused.status_code == 422 and "needs the outlet's tax_address" in refused.text
    body["tax_address"] = {"country": "DE", "city": "Berlin"}
    assert client.put(f"/api/sales/outlets/{OUTLET}/settings", json=body, headers=auth("manager")).status_code == 200
    view = client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()
    food = next(c for c in view["classes"] if c["tax_class"] == "food")
    assert (food["rate"], food["rate_bp"]) == ("7.00", 700)
    assert view["tax_provider"] == "external" and view["tax_address"]["country"] == "DE"
    assert view["tax_api_configured"] is False


def test_the_outlets_time_zone_comes_from_identity(client: TestClient, auth: Any) -> None:
    """ADR 0072: identity's OutletCreated / OutletChanged set the zone the tax dates are
    in; the settings answer it, and a PUT naming another zone is refused with where to
    change it (one place for the zone). Before identity announced one, the settings' own."""
    consumer = client.app.state.ctx.consumer
    set_zone(client, auth, "Europe/Berlin")  # identity has said nothing yet: the settings' own zone
    view = client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()
    assert (view["timezone"], view["timezone_from_identity"]) == ("Europe/Berlin", False)
    assert consumer.handle(
        new_envelope(OutletCreated(outlet_id=OUTLET, name="A", currency="EUR", timezone="Pacific/Auckland"), producer="identity")
    )
    view = client.get(f"/api/sales/outlets/{OUTLET}/tax-rates", headers=auth()).json()
    assert (view["timezone"], view["today"]) == ("Pacific/Auckland", str(local_today("Pacific/Auckland")))
    assert view["timezone_from_identity"] is True
    settings = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    assert settings["timezone"] == "Pacific/Auckland"
    # Sending back what was read is fine; another zone is refused, naming where to set it.
    same = client.put(
        f"/api/sales/outlets/{OUTLET}/settings", json={**settings, "discount_approval_bp": 1500}, headers=auth("manager")
    )
    assert same.status_code == 200, same.text
    other = client.put(f"/api/sales/outlets/{OUTLET}/settings", json={**settings, "timezone": "UTC"}, headers=auth("manager"))
    assert other.status_code == 422 and "set on the outlet itself (Back office → Outlets → Edit" in other.text
    # The outlet's zone changed in identity: the next read (and sale) follows it.
    assert consumer.handle(
        new_envelope(OutletChanged(outlet_id=OUTLET, name="A", currency="EUR", timezone="America/New_York"), producer="identity")
    )
    assert client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()["timezone"] == "America/New_York"
    made = schedule(client, auth, "standard", "21", local_today("America/New_York"))
    assert made.status_code == 201, made.text
    assert made.json()["timezone"] == "America/New_York"
