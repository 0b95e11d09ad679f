"""Blocks of days: level L is a block of 4**L days, aligned on 1970-01-01 (levels 0 to
4: 1, 4, 16, 64 and 256 days). A sale adds to the one block of each level that holds
its day; a range of days is covered exactly by a few blocks (at most 3 per level and
end, in practice about 8 for 30 days and 12 for a year), so summing a product over a
month reads a dozen block rows instead of one row per day and outlet."""

from __future__ import annotations

from datetime import date, timedelta

EPOCH = date(1970, 1, 1)
LEVELS = (0, 1, 2, 3, 4)


def length(level: int) -> int:
    return 4**level


def block_start(day: date, level: int) -> date:
    offset = (day - EPOCH).days
    return day - timedelta(days=offset % length(level))


def blocks_of(day: date) -> list[tuple[int, date]]:
    """The block of every level that holds `day`."""
    return [(level, block_start(day, level)) for level in LEVELS]


def cover(first: date, last: date) -> list[tuple[int, date]]:
    """Blocks that together hold exactly the days first..last (both included)."""
    blocks = []
    day = first
    while day <= last:
        for level in reversed(LEVELS):
            size = length(level)
            if (day - EPOCH).days % size == 0 and day + timedelta(days=size - 1) <= last:
                blocks.append((level, day))
                day += timedelta(days=size)
                break
    return blocks
