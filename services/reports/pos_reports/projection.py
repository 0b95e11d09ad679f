"""What an event handler does to the read models, collected, merged and then written
with one multi-row statement per table.

The consumer gives each event its own `Changes` (flushed in the event's transaction,
next to the inbox row). The seed and the rebuild give one `Changes` to thousands of
events: the counters they add to the same (outlet, day, ...) row are summed in memory
first, which is exact for sums, so a year of history becomes a few rows per day. Either
way the same handler functions decide what changes; only the batching differs.

Kinds of change:
- `add`: counters, incremented in one statement (ON DUPLICATE KEY UPDATE c = c + x),
  so concurrent consumer threads never lose an update;
- `put` / `insert_ignore` / `update`: replicas (names, costs, timezones);
- `claim`: a fact keyed by a business id (a sale, a refund, a shift): False if it is
  already recorded, so an event re-published under a new event id counts once;
- `stock` / `set_stock`: read-modify-write of a stock level (the handler decides what
  the newest event says and what that does to the stock value); rows are read FOR
  UPDATE, so two consumers never work from the same old level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, select, tuple_, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from pos_reports.tables import outlets, products, stock_levels

Key = tuple[Any, ...]


@dataclass(frozen=True)
class OutletInfo:
    outlet_id: str
    name: str
    currency: str
    timezone: str


@dataclass(frozen=True)
class ProductInfo:
    product_id: str
    sku: str
    name: str
    category_id: str | None
    cost_minor: int
    currency: str


@dataclass(frozen=True)
class StockState:
    on_hand: int = 0
    on_hand_at: datetime | None = None
    reorder_point: int | None = None
    reorder_point_at: datetime | None = None
    low: bool = False
    exists: bool = False


STOCK_COLUMNS = ("on_hand", "on_hand_at", "reorder_point", "reorder_point_at", "low")


@dataclass
class ReplicaCache:
    """Replicas kept in memory across batches. Only for a process that is the only
    writer of the read models while it runs (the seed, the rebuild)."""

    outlets: dict[str, OutletInfo] = field(default_factory=dict)
    products: dict[str, ProductInfo] = field(default_factory=dict)


def primary_key(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


class Changes:
    """`immediate_claims` (the consumer's one-event path): a claim inserts its fact at
    once with INSERT IGNORE, so a consumer thread racing another one with the same
    business id waits for it and then sees the fact, instead of failing at commit. The
    batch path looks facts up in bulk first (`prefetch`) and inserts them at flush."""

    def __init__(self, session: Session, cache: ReplicaCache | None = None, *, immediate_claims: bool = False) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.cache = cache
        self.immediate_claims = immediate_claims
        self._adds: dict[Table, dict[Key, tuple[dict[str, int], dict[str, Any]]]] = defaultdict(dict)
        self._puts: dict[Table, dict[Key, dict[str, Any]]] = defaultdict(dict)
        self._ignores: dict[Table, dict[Key, dict[str, Any]]] = defaultdict(dict)
        self._inserts: dict[Table, dict[Key, dict[str, Any]]] = defaultdict(dict)
        self._updates: dict[Table, dict[Key, dict[str, Any]]] = defaultdict(dict)
        # facts looked up or prefetched: key -> row (as a dict) or None when absent
        self._known: dict[Table, dict[Key, dict[str, Any] | None]] = defaultdict(dict)
        # stock levels read (FOR UPDATE) or set in this unit: (outlet, product) -> state
        self._stock: dict[Key, StockState] = {}
        self._stock_dirty: set[Key] = set()
        self._stock_by_product: dict[str, set[Key]] = defaultdict(set)
        self._products_loaded: set[str] = set()  # stock rows of these products all read
        self._read_products: dict[str, ProductInfo | None] = {}  # replica rows read in this unit
        self._products_locked: set[str] = set()

    # --- writes ----------------------------------------------------------------------

    def add(self, table: Table, key: Key, increments: dict[str, int], sets: dict[str, Any] | None = None) -> None:
        pending = self._adds[table].get(key)
        if pending is None:
            self._adds[table][key] = (dict(increments), dict(sets or {}))
            return
        counters, values = pending
        for column, amount in increments.items():
            counters[column] = counters.get(column, 0) + amount
        if sets:
            values.update(sets)

    def put(self, table: Table, key: Key, values: dict[str, Any]) -> None:
        """Insert or overwrite the row (a replica)."""
        self._ignores[table].pop(key, None)
        self._updates[table].pop(key, None)
        self._puts[table][key] = dict(values)
        self._cache_row(table, key, values)

    def insert_ignore(self, table: Table, key: Key, values: dict[str, Any]) -> None:
        """Insert the row unless it exists (or is already written in this batch)."""
        if key not in self._puts[table]:
            self._ignores[table].setdefault(key, dict(values))

    def update(self, table: Table, key: Key, values: dict[str, Any]) -> None:
        """Change some columns of the row if it exists."""
        if key in self._puts[table]:
            self._puts[table][key].update(values)
        else:
            self._updates[table].setdefault(key, {}).update(values)

    def claim(self, table: Table, key: Key, values: dict[str, Any]) -> bool:
        """Record a fact unless it is already recorded; True if this call recorded it."""
        row = dict(zip(primary_key(table), key, strict=True)) | values
        if self.immediate_claims:
            if self.dialect == "mysql":
                stmt = mysql.insert(table).prefix_with("IGNORE")
            else:
                stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=primary_key(table))
            claimed = self.session.execute(stmt.values(**row)).rowcount == 1
            self._known[table].pop(key, None)
            return claimed
        if self.fact(table, key) is not None:
            return False
        self._inserts[table][key] = row
        self._known[table][key] = row
        return True

    def set_stock(self, key: Key, state: StockState) -> None:
        self._stock[key] = state
        self._stock_dirty.add(key)
        self._stock_by_product[key[1]].add(key)

    # --- stock levels ----------------------------------------------------------------

    def stock(self, key: Key) -> StockState:
        if key not in self._stock:
            self.prefetch_stock([key])
        return self._stock[key]

    def prefetch_stock(self, keys: Iterable[Key]) -> None:
        """Read (and lock) these stock levels; one query per 500."""
        wanted = sorted({k for k in keys if k not in self._stock})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for key in chunk:
                self._stock[key] = StockState()
                self._stock_by_product[key[1]].add(key)
            condition = tuple_(stock_levels.c.outlet_id, stock_levels.c.product_id).in_(chunk)
            self._load_stock(condition)

    def stock_of_product(self, product_id: str) -> dict[Key, StockState]:
        """Every outlet's level of a product (read and locked)."""
        if product_id not in self._products_loaded:
            self._products_loaded.add(product_id)
            self._load_stock(stock_levels.c.product_id == product_id)
        return {key: self._stock[key] for key in sorted(self._stock_by_product.get(product_id, ()))}

    def _load_stock(self, condition: Any) -> None:
        query = select(stock_levels.c.outlet_id, stock_levels.c.product_id, *(stock_levels.c[c] for c in STOCK_COLUMNS))
        for row in self.session.execute(query.where(condition).with_for_update()):
            key = (row.outlet_id, row.product_id)
            if key in self._stock_dirty:
                continue  # what this unit decided wins over what it read
            self._stock[key] = StockState(
                on_hand=int(row.on_hand),
                on_hand_at=row.on_hand_at,
                reorder_point=None if row.reorder_point is None else int(row.reorder_point),
                reorder_point_at=row.reorder_point_at,
                low=bool(row.low),
                exists=True,
            )
            self._stock_by_product[row.product_id].add(key)

    def lock_products(self, product_ids: Iterable[str]) -> None:
        """Live consumer on MariaDB: hold the product's replica row (a placeholder row with
        no currency and no cost where the catalog has not announced it yet) until commit,
        in key order. A stock event and the product's ProductCreated handled at the same
        moment by two consumer threads then run one after the other, so the stock value
        is moved to the product's currency and cost whichever commits first (without it,
        a level read before the product existed stayed valued under currency "" for
        good). Replays run on one thread, in order, and need no lock."""
        if not self.immediate_claims or self.dialect != "mysql":
            return
        wanted = sorted(set(product_ids) - self._products_locked)
        if not wanted:
            return
        self._products_locked.update(wanted)
        stmt = mysql.insert(products)
        # Existing rows are left as they are, but locked like any updated row; one
        # statement for the lot, rows in key order.
        self.session.execute(
            stmt.on_duplicate_key_update(product_id=stmt.inserted.product_id),
            [
                {
                    "product_id": p,
                    "sku": p[:64],
                    "name": p,
                    "cost_minor": 0,
                    "category_id": None,
                    "price_minor": 0,
                    "currency": "",
                    "active": False,
                }
                for p in wanted
            ],
        )
        # A placeholder inserted here is a row of this unit now: read it again.
        for p in wanted:
            self._read_products.pop(p, None)

    # --- reads -----------------------------------------------------------------------

    def fact(self, table: Table, key: Key) -> dict[str, Any] | None:
        known = self._known[table]
        if key not in known:
            columns = primary_key(table)
            row = self.session.execute(
                select(table).where(and_(*(table.c[c] == v for c, v in zip(columns, key, strict=True))))
            ).first()
            known[key] = dict(row._mapping) if row is not None else None
        return known[key]

    def prefetch(self, table: Table, keys: Iterable[Key]) -> None:
        """Look many facts up at once (the batch path), so `fact` asks no more queries."""
        wanted = [k for k in set(keys) if k not in self._known[table]]
        columns = primary_key(table)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for key in chunk:
                self._known[table][key] = None
            if len(columns) == 1:
                condition = table.c[columns[0]].in_([k[0] for k in chunk])
            else:
                condition = tuple_(*(table.c[c] for c in columns)).in_(chunk)
            for row in self.session.execute(select(table).where(condition)):
                mapping = dict(row._mapping)
                self._known[table][tuple(mapping[c] for c in columns)] = mapping

    def outlet(self, outlet_id: str, currency: str) -> OutletInfo:
        """The outlet's replica; an outlet not announced yet is registered with the
        event's currency and UTC (OutletCreated fills in the rest when it comes)."""
        key = (outlet_id,)
        for pending in (self._puts[outlets].get(key), self._ignores[outlets].get(key)):
            if pending is not None:
                return _outlet_info(outlet_id, pending)
        if self.cache is not None and outlet_id in self.cache.outlets:
            return self.cache.outlets[outlet_id]
        row = self.session.execute(select(outlets).where(outlets.c.outlet_id == outlet_id)).first()
        if row is not None:
            info = _outlet_info(outlet_id, row._mapping)
        else:
            values = {"name": outlet_id, "currency": currency, "timezone": "UTC"}
            self.insert_ignore(outlets, key, values)
            info = _outlet_info(outlet_id, values)
        if self.cache is not None:
            self.cache.outlets[outlet_id] = info
        return info

    def product(self, product_id: str) -> ProductInfo | None:
        return self.products([product_id]).get(product_id)

    def products(self, product_ids: Iterable[str]) -> dict[str, ProductInfo]:
        found: dict[str, ProductInfo] = {}
        missing = []
        for product_id in set(product_ids):
            pending = self._puts[products].get((product_id,))
            if pending is not None:
                found[product_id] = _product_info(product_id, pending)
            elif self.cache is not None and product_id in self.cache.products:
                found[product_id] = self.cache.products[product_id]
            elif product_id in self._read_products:
                info = self._read_products[product_id]
                if info is not None:
                    found[product_id] = info
            else:
                missing.append(product_id)
        if missing:
            for product_id in missing:
                self._read_products[product_id] = None
            rows = self.session.execute(select(products).where(products.c.product_id.in_(missing))).all()
            for row in rows:
                info = _product_info(row.product_id, row._mapping)
                found[row.product_id] = info
                # This unit's own writes to a product go through `put` (checked first).
                self._read_products[row.product_id] = info
                if self.cache is not None:
                    self.cache.products[row.product_id] = info
        return found

    def _cache_row(self, table: Table, key: Key, values: dict[str, Any]) -> None:
        if self.cache is None:
            return
        if table is outlets:
            self.cache.outlets[key[0]] = _outlet_info(key[0], values)
        elif table is products:
            self.cache.products[key[0]] = _product_info(key[0], values)

    # --- writing it all --------------------------------------------------------------

    def flush(self) -> int:
        """Write everything collected (tables in name order, rows in key order, so
        concurrent consumers take row locks in one order); returns the rows written."""
        written = 0
        for table in _ordered(self._ignores):
            written += self._write(table, self._ignores[table], [], [], ignore=True)
        for table in _ordered(self._puts):
            rows = self._puts[table]
            written += self._write(table, rows, [], sorted({c for r in rows.values() for c in r}))
        for table in _ordered(self._updates):
            columns = primary_key(table)
            for key in sorted(self._updates[table]):
                condition = and_(*(table.c[c] == v for c, v in zip(columns, key, strict=True)))
                self.session.execute(update(table).where(condition).values(**self._updates[table][key]))
                written += 1
        for table in _ordered(self._inserts):
            rows = [self._inserts[table][k] for k in sorted(self._inserts[table])]
            if rows:
                self.session.execute(table.insert(), rows)
                written += len(rows)
        if self._stock_dirty:
            rows = {}
            for key in sorted(self._stock_dirty):
                state = self._stock[key]
                rows[key] = {c: getattr(state, c) for c in STOCK_COLUMNS}
            written += self._write(stock_levels, rows, [], list(STOCK_COLUMNS))
        for table in _ordered(self._adds):
            written += self._write_adds(table)
        for store in (self._adds, self._puts, self._ignores, self._inserts, self._updates):
            store.clear()
        self._stock_dirty.clear()
        return written

    def _write_adds(self, table: Table) -> int:
        pending = self._adds[table]
        counters = sorted({c for incs, _ in pending.values() for c in incs})
        by_sets: dict[tuple[str, ...], dict[Key, dict[str, Any]]] = defaultdict(dict)
        for key, (incs, sets) in pending.items():
            by_sets[tuple(sorted(sets))][key] = {c: incs.get(c, 0) for c in counters} | sets
        return sum(self._write(table, rows, counters, list(sets)) for sets, rows in sorted(by_sets.items()))

    def _write(
        self, table: Table, rows: dict[Key, dict[str, Any]], counters: list[str], sets: list[str], *, ignore: bool = False
    ) -> int:
        if not rows:
            return 0
        columns = primary_key(table)
        params = [dict(zip(columns, key, strict=True)) | rows[key] for key in sorted(rows)]
        if self.dialect == "mysql":
            stmt = mysql.insert(table)
            updates = {c: table.c[c] + stmt.inserted[c] for c in counters} | {c: stmt.inserted[c] for c in sets}
            stmt = stmt.prefix_with("IGNORE") if ignore or not updates else stmt.on_duplicate_key_update(updates)
        else:
            stmt = sqlite.insert(table)
            updates = {c: table.c[c] + stmt.excluded[c] for c in counters} | {c: stmt.excluded[c] for c in sets}
            if ignore or not updates:
                stmt = stmt.on_conflict_do_nothing(index_elements=columns)
            else:
                stmt = stmt.on_conflict_do_update(index_elements=columns, set_=updates)
        self.session.execute(stmt, params)
        return len(params)


def _ordered(store: dict[Table, Any]) -> list[Table]:
    return sorted((t for t, rows in store.items() if rows), key=lambda t: t.name)


def _outlet_info(outlet_id: str, values: Any) -> OutletInfo:
    return OutletInfo(outlet_id, values["name"], values["currency"], values.get("timezone") or "UTC")


def _product_info(product_id: str, values: Any) -> ProductInfo:
    return ProductInfo(
        product_id,
        values["sku"],
        values["name"],
        values.get("category_id"),
        int(values.get("cost_minor") or 0),
        values.get("currency") or "",
    )
