"""Catalog rules. Plain Python, no I/O: barcodes and the words products are found by."""

from __future__ import annotations

import re
import unicodedata

_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}

# Longest search term stored; longer words are cut (a query is cut the same way).
TERM_LENGTH = 40
SORT_KEY_LENGTH = 24
_WORD = re.compile(r"[^\W_]+")


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


def fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Crème Brûlée' -> 'creme brulee'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of `text` (letters and digits; everything else separates)."""
    return [w[:TERM_LENGTH] for w in _WORD.findall(fold(text))]


def sort_key(name: str) -> str:
    """Order of products with the same matching word: by folded name (its start)."""
    return " ".join(words(name))[:SORT_KEY_LENGTH]


def index_terms(name: str, sku: str, barcodes: list[str]) -> set[str]:
    """Every term a product is found by (by prefix): the words of its name and SKU, and
    its barcodes whole."""
    return {*words(name), *words(sku), *(code[:TERM_LENGTH] for code in barcodes)}


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """[low, high) such that low <= term < high exactly when term starts with prefix
    (binary, code-point order: what SQLite and utf8mb4_bin compare by). An index range,
    unlike LIKE, on both databases."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def query_words(query: str) -> list[str]:
    """Distinct words of a search query, longest first (the most selective one drives
    the index scan)."""
    unique = list(dict.fromkeys(words(query)))
    return sorted(unique, key=len, reverse=True)
