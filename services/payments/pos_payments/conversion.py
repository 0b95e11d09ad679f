"""Kept for the payments code that imported it here: the conversion rules live in
`pos_platform.conversion`, shared with sales, which settles a foreign-cash tender
against a sale's total (ADR 0061)."""

from pos_platform.conversion import (  # noqa: F401
    AMOUNT_DUE_ROUNDING,
    CHANGE_ROUNDING,
    CONVERSION_ROUNDING,
    CROSS_RATE_DIGITS,
    PART_CREDIT_ROUNDING,
    ForeignCash,
    ForeignPart,
    amount_due_in,
    convert,
    cross_rate,
    exact_conversion,
    foreign_cash,
    foreign_part,
    inverse_rate,
    parse_rate,
    rate_text,
    round_fraction,
    round_to_cash,
)
