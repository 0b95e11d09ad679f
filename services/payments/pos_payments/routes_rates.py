"""Exchange rates: the rates in force, a refresh from the feed, manual rates (ADR 0060,
docs/currency-tax.md)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, status

from pos_payments.conversion import parse_rate
from pos_payments.rates_schemas import FeedStatusOut, ManualRateIn, ManualRateOut, RateOut, RatesOut, RefreshOut, iso_code
from pos_payments.rates_service import RatesProblem, RatesService
from pos_platform.app import unprocessable
from pos_platform.auth import Cashier, Manager
from pos_platform.db import utcnow
from pos_platform.openapi import errors

router = APIRouter(prefix="/api/payments/rates", tags=["exchange rates"])


def _rates(request: Request) -> RatesService:
    return request.app.state.rates


def _problem(exc: RatesProblem) -> HTTPException:
    headers = {"Retry-After": "60"} if exc.status == 503 else None
    return HTTPException(exc.status, exc.detail, headers=headers)


def _code(value: str, name: str) -> str:
    try:
        return iso_code(value)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: {exc}") from None


@router.get("", response_model=RatesOut, responses=unprocessable("base is not an ISO 4217 currency"))
def list_rates(
    _user: Cashier,
    request: Request,
    base: str = Query(
        default="EUR", max_length=16, description="ISO 4217 code: each rate is units of a currency per unit of this one"
    ),
) -> RatesOut:
    """Every rate from `base` the service knows: each with its value (a decimal string),
    source (the feed, or `manual`), reference date, age in days, whether it is stale, and
    whether a foreign tender may use it (`usable`; `detail` says why not). Cross rates
    (neither side the euro) are derived from the feed's euro rates."""
    base = _code(base, "base")
    service = _rates(request)
    now = utcnow()
    rates = service.rates(base, now)
    status_ = service.feed_status()
    feed = (
        FeedStatusOut(**status_.__dict__)
        if status_ is not None
        else FeedStatusOut(
            source=service.provider.name, url=service.provider.url, last_attempt_at=None, last_success_at=None,
            last_reference_date=None, last_error=None, last_error_at=None, failures_in_a_row=0,
        )
    )  # fmt: skip
    return RatesOut(
        base=base, as_of=now, stale_after_days=service.stale_after_days, feed=feed, rates=[RateOut.of(r) for r in rates]
    )


@router.get("/{base}/{quote}", response_model=RateOut, responses=unprocessable("base or quote is not an ISO 4217 currency"))
def get_rate(base: str, quote: str, _user: Cashier, request: Request) -> RateOut:
    """The rate in force for one pair (units of quote per unit of base), as in the list."""
    base, quote = _code(base, "base"), _code(quote, "quote")
    if base == quote:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"base and quote are both {base}")
    return RateOut.of(_rates(request).rate(base, quote))


@router.post(
    "/refresh",
    response_model=RefreshOut,
    responses=errors(
        {
            503: "the rates source could not be fetched (unreachable, too slow, an error or not a rates document): the cached rates stay in use"
        }
    ),
)
async def refresh_rates(_manager: Manager, request: Request) -> RefreshOut:
    """Fetch the feed's rates now (the background refresh does it every
    POS_RATES_REFRESH_INTERVAL_SECONDS). Retries within its budget; on failure a 503
    says why and which cached rates stay in use."""
    try:
        outcome = await _rates(request).refresh()
    except RatesProblem as exc:
        raise _problem(exc) from None
    return RefreshOut(**outcome.__dict__)


@router.post(
    "/manual",
    response_model=RateOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **errors({409: "the feed's rate for the pair is fresh: it takes precedence"}),
        **unprocessable(
            "a currency that is not ISO 4217, a rate that is not a positive decimal string, an expiry in the past or too far"
        ),
    },
)
def set_manual_rate(body: ManualRateIn, manager: Manager, request: Request) -> RateOut:
    """Set a rate for a currency pair while the feed's is stale or missing (kept with who,
    when, the value and the reason). It applies until it expires or a fresh feed rate
    arrives; the answer is the pair's rate in force, with this manual rate."""
    try:
        _manual, pair = _rates(request).set_manual(
            base=body.base,
            quote=body.quote,
            rate=parse_rate(body.rate),
            reason=body.reason,
            user_id=manager.user_id,
            user_name=manager.name or manager.email,
            expires_at=body.expires_at,
        )
    except RatesProblem as exc:
        raise _problem(exc) from None
    return RateOut.of(pair)


@router.get("/manual", response_model=list[ManualRateOut], responses=unprocessable("a currency that is not ISO 4217"))
def manual_rate_history(
    _manager: Manager,
    request: Request,
    base: str | None = Query(
        default=None, max_length=16, description="only rates of this currency (with quote: of this pair, either direction)"
    ),
    quote: str | None = Query(default=None, max_length=16),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[ManualRateOut]:
    """Every manual rate ever set, newest first: who, when, the value, the reason, the
    expiry, and when and why it ended."""
    base = _code(base, "base") if base else None
    quote = _code(quote, "quote") if quote else None
    return [ManualRateOut.of(m, reason) for m, reason in _rates(request).manual_history(base, quote, limit)]
