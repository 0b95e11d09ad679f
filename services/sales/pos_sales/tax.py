"""Who calculates a sale's tax (issue 16, ADR 0064): a provider interface, the built-in
rate table (the outlet's `tax_rates_bp`: the default, works offline, no hop) and an
adapter for an external tax calculation API, shaped like the real ones (Stripe Tax's
calculations, Avalara's transactions): lines with amounts, quantities and tax codes and
the outlet's address in; tax per line and per jurisdiction out.

The till never waits long: the API gets `POS_TAX_TIMEOUT_SECONDS` in all (one quick
retry included, tenacity); past that, or on an answer that does not add up, the table's
figures are used and the sale is marked "tax estimated". A late answer is never read:
the request is cancelled at the deadline.

The quote's tax is signed (HMAC) and handed to the till; a sale that brings it back
charges exactly those figures, with no second call (quote and checkout agree).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from pos_sales.config import Settings
from pos_sales.domain import (
    CheckoutError,
    JurisdictionTax,
    LineTax,
    PricedCart,
    PricingPolicy,
    apply_line_taxes,
    div_round,
    taxable_amount,
)
from pos_sales.hops import AiohttpHop, Hop, HopError
from pos_sales.outlet_policy import OutletSettings

log = logging.getLogger("pos.sales.tax")

CALCULATIONS_PATH = "/v1/tax/calculations"
TAX_CALCULATIONS = Counter("pos_tax_calculations_total", "Tax calculations by the external API", ["outcome"])
_PERCENT = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,6})?$")


class TaxUnavailable(Exception):
    """The API gave no usable answer; the message says why (logged, stored on the sale)."""


class _Retryable(TaxUnavailable):
    """A quick failure worth one more try: connection refused, 5xx, 429."""


@dataclass(frozen=True)
class TaxRequestLine:
    reference: str  # the line number
    amount_minor: int  # price x qty less discounts; tax included if tax_behavior is inclusive
    quantity: int
    tax_code: str  # the product's tax class
    product: str  # the SKU


@dataclass(frozen=True)
class TaxRequest:
    currency: str
    tax_behavior: str  # inclusive | exclusive
    address: dict[str, str]
    lines: tuple[TaxRequestLine, ...]
    reference: str  # the outlet (a quote) or the sale

    def body(self) -> dict[str, Any]:
        """The API's request body."""
        return {
            "currency": self.currency.lower(),
            "reference": self.reference,
            "tax_behavior": self.tax_behavior,
            "customer_details": {"address": self.address, "address_source": "shipping"},
            "line_items": [
                {
                    "reference": line.reference,
                    "amount": line.amount_minor,
                    "quantity": line.quantity,
                    "tax_code": line.tax_code,
                    "product": line.product,
                }
                for line in self.lines
            ],
        }

    def fingerprint(self) -> str:
        """What the tax depends on, hashed: a quote's figures fit a sale with the same one."""
        body = self.body()
        body.pop("reference")
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


def tax_request(cart: PricedCart, tax_classes: dict[str, str], address: dict[str, str], reference: str) -> TaxRequest:
    """The request for a cart priced by the table (its amounts after discounts)."""
    return TaxRequest(
        currency=cart.currency,
        tax_behavior="inclusive" if cart.prices_include_tax else "exclusive",
        address=address,
        lines=tuple(
            TaxRequestLine(str(line.line_no), taxable_amount(line), line.qty, tax_classes[line.product_id], line.sku)
            for line in cart.lines
        ),
        reference=reference,
    )


@dataclass(frozen=True)
class TaxAnswer:
    source: str  # builtin | external | estimated (the table, because the API did not answer)
    lines: tuple[LineTax, ...]
    calculation_id: str | None = None
    reason: str | None = None  # estimated: why

    @property
    def estimated(self) -> bool:
        return self.source == "estimated"


class TaxProvider(Protocol):
    name: str

    async def calculate(self, request: TaxRequest) -> TaxAnswer:
        """Tax per line (and per jurisdiction where known), or TaxUnavailable."""
        ...


class BuiltinTaxProvider:
    """The outlet's rate table: per line on the amount after discounts, rounded as the
    outlet says (the arithmetic of domain.price_cart, ADR 0022)."""

    name = "builtin"

    def __init__(self, policy: PricingPolicy) -> None:
        self.policy = policy

    async def calculate(self, request: TaxRequest) -> TaxAnswer:
        lines = []
        for line in request.lines:
            rate = self.policy.tax_rates_bp.get(line.tax_code)
            if rate is None:
                raise TaxUnavailable(f"no tax rate configured for tax class {line.tax_code!r}")
            if request.tax_behavior == "inclusive":
                tax = div_round(line.amount_minor * rate, 10_000 + rate, self.policy.rounding_mode)
            else:
                tax = div_round(line.amount_minor * rate, 10_000, self.policy.rounding_mode)
            lines.append(LineTax(tax))
        return TaxAnswer("builtin", tuple(lines))


class ExternalTaxProvider:
    """`POST <url>/v1/tax/calculations` with a bearer key, bounded by `timeout` in all:
    at most `attempts` tries, the second only after a quick failure and only if time is
    left (tenacity, jittered backoff)."""

    name = "external"

    def __init__(
        self, url: str, api_key: str, *, timeout: float, attempts: int = 2, backoff: float = 0.05, hop: Hop | None = None
    ) -> None:
        self.url = url.rstrip("/") + CALCULATIONS_PATH
        self.api_key = api_key
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.hop: Hop = hop or AiohttpHop(connect_timeout=min(timeout, 2.0), limit=50)

    async def calculate(self, request: TaxRequest) -> TaxAnswer:
        deadline = time.monotonic() + self.timeout
        try:
            async with asyncio.timeout(self.timeout):
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(self.attempts),
                    wait=wait_random_exponential(multiplier=self.backoff, max=self.backoff * 4),
                    retry=retry_if_exception_type(_Retryable),
                    reraise=True,
                ):
                    with attempt:
                        number = attempt.retry_state.attempt_number
                        try:
                            return await self._once(request, max(deadline - time.monotonic(), 0.01))
                        except TaxUnavailable as exc:
                            log.warning(
                                "tax calculation attempt failed",
                                extra={"url": self.url, "attempt": number, "error": str(exc)},
                            )
                            raise
        except TimeoutError:
            raise TaxUnavailable(f"the tax API did not answer within {self.timeout:g} s") from None
        raise TaxUnavailable("the tax API was not asked")  # pragma: no cover (tenacity reraises)

    async def _once(self, request: TaxRequest, timeout: float) -> TaxAnswer:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        try:
            # A third party's API: timed as a client span, no trace context sent to it.
            response = await self.hop.request(
                "POST", self.url, headers=headers, json_body=request.body(), timeout=timeout, propagate=False
            )
        except HopError as exc:
            if exc.sent:
                raise TaxUnavailable(f"the tax API's answer was lost: {exc}") from exc
            raise _Retryable(f"the tax API cannot be reached: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise _Retryable(f"the tax API answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise TaxUnavailable(f"the tax API refused the request: HTTP {response.status_code} {response.text[:200]}")
        try:
            body = response.json()
        except ValueError:
            raise TaxUnavailable(f"the tax API answered something that is not JSON: {response.text[:80]!r}") from None
        return parse_calculation(body, request)


def parse_calculation(body: Any, request: TaxRequest) -> TaxAnswer:
    """The API's answer, checked: one line per requested line (by reference), integer
    tax never negative (nor above a tax-inclusive amount), jurisdictions adding up to
    the line's tax, rates as plain percentages. Anything else is TaxUnavailable."""

    def bad(why: str) -> TaxUnavailable:
        return TaxUnavailable(f"the tax API's answer is unusable: {why}")

    if not isinstance(body, dict) or not isinstance(body.get("line_items"), list):
        raise bad("no line_items")
    if str(body.get("currency", "")).upper() != request.currency:
        raise bad(f"currency {body.get('currency')!r}, asked {request.currency}")
    by_ref = {}
    for item in body["line_items"]:
        if not isinstance(item, dict) or not isinstance(item.get("reference"), str):
            raise bad("a line without a reference")
        by_ref[item["reference"]] = item
    lines = []
    for asked in request.lines:
        item = by_ref.get(asked.reference)
        if item is None:
            raise bad(f"line {asked.reference} is missing")
        tax = item.get("amount_tax")
        if type(tax) is not int or tax < 0 or (request.tax_behavior == "inclusive" and tax > asked.amount_minor):
            raise bad(f"line {asked.reference}: amount_tax {tax!r}")
        parts = []
        for part in item.get("tax_breakdown") or []:
            jur = part.get("jurisdiction") if isinstance(part, dict) else None
            rate = part.get("rate") if isinstance(part, dict) else None
            amount, taxable = (part.get("amount"), part.get("taxable_amount")) if isinstance(part, dict) else (None, None)
            if not isinstance(jur, dict) or not isinstance(rate, str) or not _PERCENT.match(rate):
                raise bad(f"line {asked.reference}: a jurisdiction without a name or a plain percentage rate")
            if type(amount) is not int or type(taxable) is not int or amount < 0 or taxable < 0:
                raise bad(f"line {asked.reference}: a jurisdiction's amounts are not whole minor units")
            parts.append(
                JurisdictionTax(
                    str(jur.get("display_name") or jur.get("name") or "")[:80],
                    str(jur.get("level") or "")[:16],
                    str(jur.get("code") or "")[:32],
                    rate,
                    taxable,
                    amount,
                )
            )
        if parts and sum(p.tax_minor for p in parts) != tax:
            raise bad(f"line {asked.reference}: the jurisdictions add up to {sum(p.tax_minor for p in parts)}, not {tax}")
        lines.append(LineTax(tax, tuple(parts)))
    calc_id = body.get("id")
    return TaxAnswer("external", tuple(lines), str(calc_id)[:64] if calc_id else None)


# --- the quote's signed tax -------------------------------------------------------------


class TaxQuoteSigner:
    """`v1.<payload>.<hmac>`, base64url: the tax a quote showed, for the sale to charge."""

    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self.secret = secret
        self.ttl = ttl_seconds

    def sign(self, outlet_id: str, fingerprint: str, answer: TaxAnswer, now: float | None = None) -> str:
        payload = {
            "o": outlet_id,
            "f": fingerprint,
            "x": int((now or time.time()) + self.ttl),
            "s": answer.source,
            "c": answer.calculation_id,
            "r": answer.reason,
            "l": [
                [line.tax_minor, [[j.name, j.level, j.code, j.rate, j.taxable_minor, j.tax_minor] for j in line.jurisdictions]]
                for line in answer.lines
            ],
        }
        data = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"v1.{data}.{_b64(hmac.new(self.secret, data.encode(), hashlib.sha256).digest())}"

    def verify(self, token: str, outlet_id: str, fingerprint: str, now: float | None = None) -> TaxAnswer | str:
        """The quote's tax, or why it cannot be used (for the 409)."""
        try:
            version, data, mac = token.split(".")
            expected = _b64(hmac.new(self.secret, data.encode(), hashlib.sha256).digest())
            if version != "v1" or not hmac.compare_digest(mac, expected):
                return "the tax quote is not one this service signed"
            payload = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        except ValueError:
            return "the tax quote is not one this service signed"
        if payload["o"] != outlet_id:
            return "the tax quote is another outlet's"
        if payload["x"] < (now or time.time()):
            return "the tax quote has expired"
        if payload["f"] != fingerprint:
            return "the cart or its prices changed since the tax was quoted"
        lines = tuple(LineTax(tax, tuple(JurisdictionTax(*j) for j in parts)) for tax, parts in payload["l"])
        return TaxAnswer(payload["s"], lines, payload["c"], payload["r"])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- the service's choice ----------------------------------------------------------------


class TaxDesk:
    """Which provider an outlet uses, the fallback to its table, and the quote's token."""

    def __init__(self, settings: Settings, hop: Hop | None = None) -> None:
        self.settings = settings
        secret = settings.tax_quote_secret.get_secret_value() or f"pos-tax-quote:{settings.internal_api_token}"
        self.signer = TaxQuoteSigner(hashlib.sha256(secret.encode()).digest(), settings.tax_quote_ttl_seconds)
        self.external: ExternalTaxProvider | None = None
        if settings.tax_api_url:
            self.external = ExternalTaxProvider(
                settings.tax_api_url,
                settings.tax_api_key.get_secret_value(),
                timeout=settings.tax_timeout_seconds,
                attempts=settings.tax_attempts,
                backoff=settings.tax_backoff_seconds,
                hop=hop,
            )

    def uses_external(self, policy: OutletSettings) -> bool:
        choice = self.settings.tax_provider if policy.tax_provider == "default" else policy.tax_provider
        return choice == "external"

    async def close(self) -> None:
        if self.external is not None:
            await self.external.hop.close()

    async def calculate(self, cart: PricedCart, policy: OutletSettings, request: TaxRequest) -> TaxAnswer:
        """The API's tax for the cart; on any failure the table's (already in `cart`),
        marked estimated with the reason. Never raises."""
        try:
            if self.external is None:
                raise TaxUnavailable("POS_TAX_API_URL is not set")
            if policy.tax_address is None:
                raise TaxUnavailable("the outlet has no tax_address")
            answer = await self.external.calculate(request)
            apply_line_taxes(cart, answer.lines)  # checks it fits the cart
        except (TaxUnavailable, CheckoutError) as exc:
            TAX_CALCULATIONS.labels("estimated").inc()
            log.error(
                "tax calculation failed: the built-in table is used, the sale marked tax estimated", extra={"error": str(exc)}
            )
            return estimated(cart, str(exc))
        TAX_CALCULATIONS.labels("external").inc()
        return answer


def estimated(cart: PricedCart, reason: str) -> TaxAnswer:
    return TaxAnswer("estimated", tuple(LineTax(line.tax_minor) for line in cart.lines), None, reason[:300])


def jurisdiction_totals(answer: TaxAnswer) -> list[dict[str, Any]]:
    """Per jurisdiction over the whole cart, for the quote and the receipt."""
    totals: dict[tuple[str, str, str, str], list[int]] = {}
    for line in answer.lines:
        for j in line.jurisdictions:
            found = totals.setdefault((j.name, j.level, j.code, j.rate), [0, 0])
            found[0] += j.taxable_minor
            found[1] += j.tax_minor
    return [
        {"name": name, "level": level, "code": code, "rate": rate, "taxable_minor": taxable, "tax_minor": tax}
        for (name, level, code, rate), (taxable, tax) in totals.items()
    ]


def address_of(policy: OutletSettings) -> dict[str, str]:
    return policy.tax_address.model_dump() if policy.tax_address else {}
