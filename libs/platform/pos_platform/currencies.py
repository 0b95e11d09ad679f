"""ISO 4217: which codes are currencies, their names, minor units, and the smallest
unit of each that changes hands as cash.

The table is ISO's own (list one, as published by the ISO 4217 maintenance agency),
shipped by the `iso4217` package; its publication date is `ISO_TABLE_PUBLISHED`. A new
code or a changed exponent arrives with an upgrade of that package.

Cash units are not in ISO 4217: they come from CLDR's currency data (`cashDigits`,
`cashRounding` in supplementalData.xml, the table every locale library uses), copied
below because they are policy as much as data (a chain may choose to round CHF to 0.05
at the till). Everything else pays in its minor unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import iso4217

ISO_TABLE_PUBLISHED = iso4217.__published__

# CLDR 46 supplementalData.xml <currencyData><fractions>: currencies whose cash unit is
# larger than their minor unit, as the smallest cash amount in minor units.
# cashDigits="0": whole units only (100 minor units); cashRounding="5" with 2 digits:
# 0.05 (5 minor units); DKK cashRounding="50": 0.50.
CASH_UNIT_MINOR: dict[str, int] = {
    "AMD": 100, "COP": 100, "CRC": 100, "CZK": 100, "GYD": 100, "HUF": 100, "IDR": 100,
    "MNT": 100, "MUR": 100, "NOK": 100, "PKR": 100, "SEK": 100, "TWD": 100, "TZS": 100,
    "UZS": 100,
    "CAD": 5, "CHF": 5,
    "DKK": 50,
}  # fmt: skip

CODE = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class CurrencyInfo:
    code: str
    name: str
    numeric: int
    minor_units: int  # the ISO 4217 exponent: JPY 0, EUR 2, KWD 3
    cash_unit_minor: int  # the smallest cash amount, in minor units: EUR 1, CHF 5, SEK 100

    @property
    def scale(self) -> int:
        """Minor units in one major unit: 100 for EUR, 1 for JPY, 1000 for KWD."""
        return int(10**self.minor_units)


@dataclass(frozen=True)
class _IsoEntry:
    code: str
    name: str
    numeric: int
    minor_units: str  # "2", or "N.A." for gold, SDR, test and no-currency codes
    fund: bool


@cache
def _iso_entries() -> dict[str, _IsoEntry]:
    entries: dict[str, _IsoEntry] = {}
    for node in iso4217.raw_xml.iter("CcyNtry"):
        code = (node.findtext("Ccy") or "").strip()
        name_node = node.find("CcyNm")
        if not code or name_node is None or code in entries:
            continue
        entries[code] = _IsoEntry(
            code=code,
            name=(name_node.text or "").strip(),
            numeric=int((node.findtext("CcyNbr") or "0").strip() or 0),
            minor_units=(node.findtext("CcyMnrUnts") or "N.A.").strip(),
            fund=name_node.get("IsFund", "").lower() == "true",
        )
    return entries


@cache
def currencies() -> dict[str, CurrencyInfo]:
    """Every ISO 4217 currency money can be counted in at a till, by code: the codes
    with a minor unit that are not funds (BOV, CHE, CLF, ... are units of account) nor
    metals, SDR, test or "no currency" codes (minor units "N.A.")."""
    found: dict[str, CurrencyInfo] = {}
    for entry in sorted(_iso_entries().values(), key=lambda e: e.code):
        if entry.fund or not entry.minor_units.isdigit():
            continue
        found[entry.code] = CurrencyInfo(
            code=entry.code,
            name=entry.name,
            numeric=entry.numeric,
            minor_units=int(entry.minor_units),
            cash_unit_minor=CASH_UNIT_MINOR.get(entry.code, 1),
        )
    return found


def currency_problem(code: str) -> str | None:
    """None if `code` is an ISO 4217 currency a till can use; else a sentence saying
    what is wrong with it, for a 422."""
    if not isinstance(code, str) or not CODE.match(code):
        return f"{code!r} is not a currency code: use an ISO 4217 code, three capital letters such as EUR, USD or JPY"
    if code in currencies():
        return None
    entry = _iso_entries().get(code)
    if entry is not None:
        kind = "a fund (a unit of account)" if entry.fund else "not a currency money is counted in"
        return f"{code} ({entry.name}) is in ISO 4217 but is {kind}: choose a currency such as EUR, USD or JPY"
    return f"{code} is not an ISO 4217 currency code (ISO 4217 list of {ISO_TABLE_PUBLISHED}): check the spelling, e.g. EUR, USD, GBP"


def currency(code: str) -> CurrencyInfo:
    """The currency `code`; ValueError (with currency_problem's sentence) if there is none."""
    found = currencies().get(code)
    if found is None:
        raise ValueError(currency_problem(code))
    return found
