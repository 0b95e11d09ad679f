"""Barcode rules. Plain Python, no I/O."""

from __future__ import annotations

_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}


def expected_check_digit(body: str) -> int:
    """GS1 check digit of the digits before it: weights 3,1,3,... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def barcode_problem(code: str) -> str | None:
    """None if `code` is a valid EAN-13, EAN-8 or UPC-A; else what is wrong with it."""
    if not code.isdigit():
        return f"barcode {code!r} must contain digits only"
    kind = _LENGTHS.get(len(code))
    if kind is None:
        return f"barcode {code!r} has {len(code)} digits; EAN-13 has 13, UPC-A 12, EAN-8 8"
    expected = expected_check_digit(code[:-1])
    if int(code[-1]) != expected:
        return f"{kind} barcode {code!r}: check digit (digit {len(code)}) is {code[-1]}, expected {expected}"
    return None
