"""A list endpoint covers the outlets its caller may see (Principal.where_visible): the
one asked for when it is theirs (404 when not), else all of theirs; an admin's query
is left as it is unless one outlet is asked for."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine, insert, select

from pos_platform.auth import Principal

things = Table("things", MetaData(), Column("id", String(8), primary_key=True), Column("outlet_id", String(8)))


@pytest.fixture
def engine() -> Engine:
    engine = create_engine("sqlite://")
    things.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(
            insert(things), [{"id": "a", "outlet_id": "o1"}, {"id": "b", "outlet_id": "o2"}, {"id": "c", "outlet_id": "o3"}]
        )
    return engine


def ids(engine: Engine, principal: Principal, requested: str | None = None) -> list[str]:
    query = principal.where_visible(select(things.c.id).order_by(things.c.id), things.c.outlet_id, requested)
    with engine.connect() as c:
        return list(c.scalars(query))


def test_a_cashier_sees_their_outlets_and_asks_for_one_of_them(engine: Engine) -> None:
    cashier = Principal(user_id="u1", role="cashier", outlets=["o1", "o2"])
    assert ids(engine, cashier) == ["a", "b"]
    assert ids(engine, cashier, "o2") == ["b"]
    with pytest.raises(HTTPException) as refused:
        ids(engine, cashier, "o3")
    assert refused.value.status_code == 404


def test_an_admin_sees_every_outlet_or_the_one_asked_for(engine: Engine) -> None:
    admin = Principal(user_id="u0", role="admin")
    assert ids(engine, admin) == ["a", "b", "c"]
    assert ids(engine, admin, "o3") == ["c"]
