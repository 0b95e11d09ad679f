"""Report endpoints. Every one: managers (and admins) only; covers the outlets the
caller may see (one, several with repeated `outlet_id`, or all); JSON for charts, or
CSV with format=csv. Reads only the pre-aggregated read models, so its cost grows
with the days in the range, not the sales in it.

One module per area (sales over time and place, products, people and registers,
stock); the rules they share live beside them: `scope` (outlets and days),
`queries` (SQL), `figures` (arithmetic) and `export` (the JSON or CSV answer)."""

from __future__ import annotations

from fastapi import APIRouter

from pos_reports.routes import people, products, sales, stock

router = APIRouter(prefix="/api/reports", tags=["reports"])
for area in (sales, products, people, stock):
    router.include_router(area.router)
