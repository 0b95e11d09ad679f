"""What sales' use cases (checkout, refunds, voids, the offline sync) answer, as typed outcomes, and the
one place that turns an outcome into an HTTP status and body (ADR 0074).

A use case takes a plain command (the pydantic input model, the principal, an approval
port) and returns one of these; it knows nothing of HTTP. The body of each outcome is
the JSON the caller gets and, for a sale, refund or void, the JSON that is stored with
the row and answered again when the same id is posted (idempotency, ADR 0020). The
status is NOT part of the outcome: `http_answer` decides it, and it is used both by the
routes and by the code that stores an answer (`http_status` of the sales and refunds
rows), so a stored answer and a fresh one can never disagree.

An answer read back from a row (a repeated id) is `Replayed`: it is given exactly as it
was stored, status and body, whatever this mapping would say today.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pos_sales.idempotency import Answer

# Why a request was refused. `upstream` on Refused: another service's 4xx that is passed
# on as it came (inventory refusing a reservation, payments refusing a capture).
Reason = Literal["invalid", "conflict", "not_found"]
_REASON_STATUS: dict[Reason, int] = {"invalid": 422, "conflict": 409, "not_found": 404}


@dataclass(frozen=True)
class SaleCompleted:
    """The sale is completed; `receipt` is the receipt (responses.Receipt)."""

    receipt: dict[str, Any]


@dataclass(frozen=True)
class RecordedOnline:
    """An offline sale whose id the till had first tried online, and that sale completed:
    its stored receipt, marked `recorded: online` (the offline copy is not recorded)."""

    receipt: dict[str, Any]


@dataclass(frozen=True)
class RefundCompleted:
    """The refund is completed; `slip` is the refund slip (responses.RefundSlip)."""

    slip: dict[str, Any]


@dataclass(frozen=True)
class Voided:
    """The cart is voided; `void` is the void as recorded (responses.Void)."""

    void: dict[str, Any]


@dataclass(frozen=True)
class Declined:
    """The card was declined: nothing sold, the stock released."""

    body: dict[str, Any]


@dataclass(frozen=True)
class StockShort:
    """Not enough stock: inventory's answer names the short lines."""

    body: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """The request cannot be done as asked: invalid (a bad cart, tender, refund),
    conflict (the state forbids it: reused id, cancelled, stale rate or tax quote,
    nothing left to refund) or not_found; or another service's refusal (`upstream`)."""

    reason: Reason
    body: dict[str, Any]
    upstream: int | None = None


@dataclass(frozen=True)
class NeedsApproval:
    """A manager's approval is missing, invalid or already used."""

    body: dict[str, Any]


@dataclass(frozen=True)
class OutcomeUnknown:
    """The payment's (or refund's) outcome is not known yet: the row stays PENDING and
    the reconciler settles it. The till must not take payment again. (An offline sale:
    payments has not confirmed its cash yet, or the same id's online attempt is still
    being settled; the till syncs it again.)"""

    body: dict[str, Any]


@dataclass(frozen=True)
class Unavailable:
    """A service was down: nothing was charged or refunded; the same id may be posted
    again (a stored one is discarded and run again, ADR 0020)."""

    body: dict[str, Any]


@dataclass(frozen=True)
class Replayed:
    """An answer the idempotency layer gives as it has it: a stored answer to a repeated
    id, or its own (the id reused for another request, still being processed)."""

    answer: Answer


Outcome = (
    SaleCompleted
    | RecordedOnline
    | RefundCompleted
    | Voided
    | Declined
    | StockShort
    | Refused
    | NeedsApproval
    | OutcomeUnknown
    | Unavailable
    | Replayed
)


def http_answer(outcome: Outcome) -> Answer:
    """The HTTP status and body of an outcome: what the route answers and what is stored
    for a replay. The one mapping of outcomes to statuses."""
    match outcome:
        case SaleCompleted(receipt=body) | RefundCompleted(slip=body) | Voided(void=body):
            return Answer(201, body)
        case RecordedOnline(receipt=body):
            return Answer(200, body)
        case Declined(body=body):
            return Answer(402, body)
        case StockShort(body=body):
            return Answer(409, body)
        case Refused(reason=reason, body=body, upstream=upstream):
            return Answer(upstream or _REASON_STATUS[reason], body)
        case NeedsApproval(body=body):
            return Answer(403, body)
        case OutcomeUnknown(body=body) | Unavailable(body=body):
            return Answer(503, body)
        case Replayed(answer=answer):
            return answer
    raise TypeError(f"not an outcome: {outcome!r}")  # pragma: no cover
