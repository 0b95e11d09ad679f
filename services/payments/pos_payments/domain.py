"""Payment rules and tender capture. Plain Python, no I/O.

`capture_tender` is the one place a tender becomes money taken. Cash is settled right
here; card will go through a payment provider (an interface handed to this function)
once one exists, and a declined card will come back as a result with `captured=False`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class TenderRequest(Protocol):
    """What the cashier asked for: kind, amount to apply and, for cash, what was handed over."""

    @property
    def kind(self) -> str: ...

    @property
    def amount_minor(self) -> int: ...

    @property
    def tendered_minor(self) -> int | None: ...


@dataclass(frozen=True)
class CaptureResult:
    kind: str
    amount_minor: int
    tendered_minor: int
    change_minor: int
    provider_ref: str | None = None
    captured: bool = True


class TenderUnavailable(Exception):
    """This kind of tender cannot be taken (yet); the message says what to do instead."""


def tender_total_problem(amount_minor: int, tenders: Sequence[TenderRequest]) -> str | None:
    """None if the tenders cover exactly the payment amount; else what is wrong."""
    total = sum(t.amount_minor for t in tenders)
    if total != amount_minor:
        return f"the tenders add up to {total} but the payment amount is {amount_minor}: they must be equal"
    return None


def capture_cash(tender: TenderRequest) -> CaptureResult:
    tendered = tender.amount_minor if tender.tendered_minor is None else tender.tendered_minor
    if tendered < tender.amount_minor:
        raise ValueError(f"cash handed over ({tendered}) is less than the amount to pay ({tender.amount_minor})")
    return CaptureResult(
        kind="cash",
        amount_minor=tender.amount_minor,
        tendered_minor=tendered,
        change_minor=tendered - tender.amount_minor,
    )


def capture_tender(tender: TenderRequest) -> CaptureResult:
    """Take one tender. The provider hook for card goes here."""
    if tender.kind == "cash":
        return capture_cash(tender)
    if tender.kind == "card":
        raise TenderUnavailable("card payments are not available yet: take cash")
    raise TenderUnavailable(f"unknown tender kind {tender.kind!r}: use cash")


def payment_status(results: Sequence[CaptureResult]) -> str:
    return "captured" if all(r.captured for r in results) else "declined"
