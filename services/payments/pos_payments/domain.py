"""Payment rules. Plain Python on integers, no I/O.

A payment is one or more tenders. Cash is settled the moment it is recorded; a card
tender is `pending` until the card provider answers, then `captured` or `declined`. A
card that was captured while another tender of the same payment was declined is given
back (`reversed`), so a payment is all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from pos_platform.conversion import PART_CREDIT_ROUNDING, exact_conversion, foreign_part, rate_text, round_fraction


class TenderRequest(Protocol):
    """What the cashier asked for: kind, amount to apply and, for cash, what was handed over."""

    @property
    def kind(self) -> str: ...

    @property
    def amount_minor(self) -> int: ...

    @property
    def tendered_minor(self) -> int | None: ...


@dataclass(frozen=True)
class CashResult:
    amount_minor: int
    tendered_minor: int
    change_minor: int


def tender_total_problem(amount_minor: int, tenders: Sequence[TenderRequest]) -> str | None:
    """None if the tenders cover exactly the payment amount; else what is wrong."""
    total = sum(t.amount_minor for t in tenders)
    if total != amount_minor:
        return f"the tenders add up to {total} but the payment amount is {amount_minor}: they must be equal"
    return None


def capture_cash(tender: TenderRequest) -> CashResult:
    tendered = tender.amount_minor if tender.tendered_minor is None else tender.tendered_minor
    if tendered < tender.amount_minor:
        raise ValueError(f"cash handed over ({tendered}) is less than the amount to pay ({tender.amount_minor})")
    return CashResult(amount_minor=tender.amount_minor, tendered_minor=tendered, change_minor=tendered - tender.amount_minor)


def foreign_tender_problem(
    amount_minor: int, local: str, foreign: str, rate: Decimal, foreign_minor: int, change_minor: int
) -> str | None:
    """None if a foreign-cash tender's figures follow from its rate (ADR 0061): either
    it settled what was left (`amount_minor`), handing over at least the amount due in
    `foreign` with the change the rounding rules give; or it paid a part, credited at its
    value rounded down, with no change. Else what is wrong, for a 422."""
    try:
        part = foreign_part(amount_minor, local, foreign, rate, foreign_minor)
    except ValueError as exc:
        return f"foreign cash: {exc}"
    if part.settled and part.change_minor == change_minor:
        return None
    value = exact_conversion(foreign_minor, foreign, local, 1 / Fraction(rate))
    if change_minor == 0 and amount_minor == round_fraction(value, PART_CREDIT_ROUNDING):
        return None  # a part payment: the rest was paid by another tender
    expected = (
        f"change {part.change_minor}" if part.settled else f"a part payment of {round_fraction(value, PART_CREDIT_ROUNDING)}"
    )
    return (
        f"foreign cash: {foreign_minor} {foreign} minor units at {rate_text(rate)} for {amount_minor} {local} minor units "
        f"with change {change_minor} does not follow the rounding rules ({expected} expected)"
    )


@dataclass(frozen=True)
class TenderState:
    seq: int
    kind: str
    status: str  # captured | pending | declined | reversed
    amount_minor: int = 0
    refunded_minor: int = 0

    @property
    def refundable_minor(self) -> int:
        return self.amount_minor - self.refunded_minor if self.status == "captured" else 0


def payment_status(tenders: Sequence[TenderState]) -> str:
    """pending while any card is unanswered or a captured card still has to be given
    back after a decline; else captured (all taken) or declined (nothing kept)."""
    declined = any(t.status == "declined" for t in tenders)
    if declined:
        unreversed = any(t.kind == "card" and t.status in ("captured", "pending") for t in tenders)
        return "pending" if unreversed else "declined"
    if any(t.status == "pending" for t in tenders):
        return "pending"
    return "captured"


def cards_to_charge(tenders: Sequence[TenderState]) -> list[TenderState]:
    """Card tenders still to be charged, in order; none once one was declined."""
    if any(t.status == "declined" for t in tenders):
        return []
    return [t for t in tenders if t.kind == "card" and t.status == "pending"]


def cards_to_reverse(tenders: Sequence[TenderState]) -> list[TenderState]:
    """After a decline, the captured cards must be given back."""
    if not any(t.status == "declined" for t in tenders):
        return []
    return [t for t in tenders if t.kind == "card" and t.status == "captured"]


class RefundRefused(ValueError):
    """The refund asks for more than can be refunded, or to a tender that cannot take it."""


@dataclass(frozen=True)
class RefundPart:
    kind: str
    amount_minor: int
    payment_tender_seq: int | None  # card: the captured tender it goes back to


def allocate_refund(
    tenders: Sequence[TenderState], requested: Sequence[tuple[str, int]], already_refunded_minor: int, amount_minor: int
) -> list[RefundPart]:
    """Split a refund into parts: a card refund goes back to the captured card tenders
    in order (each at most what is left of it); cash is paid out of the drawer. The whole
    refund never exceeds what was paid minus earlier refunds."""
    total = sum(amount for _, amount in requested)
    if total <= 0 or any(amount <= 0 for _, amount in requested):
        raise RefundRefused("a refund tender must be more than zero")
    if already_refunded_minor + total > amount_minor:
        raise RefundRefused(f"refund of {total} exceeds what is left to refund ({amount_minor - already_refunded_minor})")
    parts: list[RefundPart] = []
    remaining = {t.seq: t.refundable_minor for t in tenders if t.kind == "card"}
    for kind, amount in requested:
        if kind == "cash":
            parts.append(RefundPart("cash", amount, None))
            continue
        if kind != "card":
            raise RefundRefused(f"cannot refund to {kind!r}: use card or cash")
        left = amount
        for seq in sorted(remaining):
            take = min(left, remaining[seq])
            if take > 0:
                parts.append(RefundPart("card", take, seq))
                remaining[seq] -= take
                left -= take
        if left:
            raise RefundRefused(f"only {amount - left} of the {amount} can go back to the card: refund the rest in cash")
    return parts
