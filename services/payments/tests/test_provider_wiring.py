"""What the settings make of the upstreams: each card provider, the card reader and the
rates feed get their own timeout and retry settings (POS_CARD_* for card and reader,
POS_RATES_* for the feed); and the card sandbox answers a GET of one payment intent or
refund as Stripe does (401 without a key, 404 for an unknown id)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from pos_payments.app import build_provider, build_rates_provider, build_reader
from pos_payments.config import Settings
from pos_payments.sandbox.app import create_app as create_sandbox

RETRY = ("timeout_seconds", "attempts", "backoff_seconds", "backoff_max_seconds")


def _settings(tmp_path: Path, keys: tuple[Path, Path]) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/wiring.db",
        jwt_public_key_file=str(keys[1]),
        card_provider="sandbox",
        card_reader="sandbox",
        rates_provider="sandbox",
        card_timeout_seconds=1.5,
        card_attempts=3,
        card_backoff_seconds=0.05,
        card_backoff_max_seconds=0.4,
        rates_timeout_seconds=7.0,
        rates_attempts=2,
        rates_backoff_seconds=0.3,
        rates_backoff_max_seconds=9.0,
    )


def test_card_and_reader_take_the_card_settings_and_the_feed_the_rates_ones(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    settings = _settings(tmp_path, keys)
    reader = build_reader(settings)
    assert reader is not None
    for provider in (build_provider(settings), reader):
        assert [getattr(provider, option) for option in RETRY] == [1.5, 3, 0.05, 0.4]
    assert [getattr(build_rates_provider(settings), option) for option in RETRY] == [7.0, 2, 0.3, 9.0]


def test_the_sandbox_answers_a_get_of_one_intent_or_refund_as_stripe_does() -> None:
    key = {"Authorization": "Bearer sk_test_x"}
    with TestClient(create_sandbox()) as sandbox:
        for path, what in (("/v1/payment_intents/pi_nope", "payment_intent"), ("/v1/refunds/re_nope", "refund")):
            assert sandbox.get(path).status_code == 401
            missing = sandbox.get(path, headers=key)
            assert missing.status_code == 404
            assert missing.json()["error"] == {
                "type": "invalid_request_error",
                "message": f"No such {what}",
                "code": "resource_missing",
            }
        made = sandbox.post(
            "/v1/payment_intents",
            headers=key | {"Idempotency-Key": "k1"},
            data={"amount": "1250", "currency": "eur", "payment_method": "pm_card_visa", "confirm": "true"},
        )
        assert made.status_code == 200, made.text
        intent = made.json()
        found = sandbox.get(f"/v1/payment_intents/{intent['id']}", headers=key)
        assert (found.status_code, found.json()) == (200, intent)
