from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI

from pos_payments.card import CardProvider, NoCardProvider
from pos_payments.config import Settings
from pos_payments.ecb import EcbRatesProvider, NoRatesProvider, SandboxRatesProvider
from pos_payments.rates import RatesProvider
from pos_payments.rates_service import RatesService, rates_refresher
from pos_payments.reader import ReaderProvider
from pos_payments.routes import router
from pos_payments.routes_rates import router as rates_router
from pos_payments.service import PaymentService
from pos_payments.stripe import SandboxProvider, StripeProvider
from pos_payments.tables import metadata
from pos_platform.app import ServiceContext, create_service_app
from pos_platform.bus import Bus

NAME = "payments"


def _retry(settings: Settings, upstream: Literal["card", "rates"]) -> dict[str, Any]:
    """The timeout and retry settings of an upstream (POS_CARD_* or POS_RATES_*), as the
    providers' keyword arguments."""
    return {
        option: getattr(settings, f"{upstream}_{option}")
        for option in ("timeout_seconds", "attempts", "backoff_seconds", "backoff_max_seconds")
    }


def build_provider(settings: Settings) -> CardProvider:
    retry = _retry(settings, "card")
    if settings.card_provider == "stripe":
        return StripeProvider(api_key=settings.stripe_api_key, base_url=settings.stripe_api_url, **retry)
    if settings.card_provider == "sandbox":
        return SandboxProvider(base_url=settings.card_sandbox_url, default_card=settings.card_sandbox_default_card, **retry)
    return NoCardProvider()


def build_reader(settings: Settings) -> CardProvider | None:
    """Captures of card-reader payments (ADR 0073); None when readers are not set up."""
    if settings.card_reader != "sandbox":
        return None
    return ReaderProvider(
        base_url=settings.card_reader_acquirer_url,
        **_retry(settings, "card"),
    )


def build_rates_provider(settings: Settings) -> RatesProvider:
    retry = _retry(settings, "rates")
    if settings.rates_provider == "ecb":
        return EcbRatesProvider(url=settings.rates_ecb_url, **retry)
    if settings.rates_provider == "sandbox":
        return SandboxRatesProvider(url=settings.rates_sandbox_url, **retry)
    return NoRatesProvider()


def create_app(
    settings: Settings | None = None,
    *,
    bus: Bus | None = None,
    migrate_on_start: bool = False,
    provider: CardProvider | None = None,
    rates_provider: RatesProvider | None = None,
    reader: CardProvider | None = None,
) -> FastAPI:
    settings = settings or Settings()
    db = settings.open_database(NAME, metadata)
    card = provider or build_provider(settings)
    card_reader = reader or build_reader(settings)
    rates = RatesService(db, rates_provider or build_rates_provider(settings), settings)

    async def close_provider(_ctx: ServiceContext[Settings]) -> None:
        await card.close()
        if card_reader is not None:
            await card_reader.close()
        await rates.provider.close()

    app = create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        routers=[router, rates_router],
        handlers=None,
        bus=bus,
        migrate_on_start=migrate_on_start,
        background_jobs=[rates_refresher(rates, settings.rates_refresh_interval_seconds)],
        on_stop=close_provider,
        description="Takes and gives back the money of sales: cash, card through a provider (Stripe or the sandbox), split tenders; exchange rates (the ECB or the rates sandbox, manual rates).",
    )
    app.state.payments = PaymentService(db, card, rates, reader=card_reader)
    app.state.rates = rates
    return app
