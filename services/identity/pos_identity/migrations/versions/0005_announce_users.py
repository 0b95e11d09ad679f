"""every existing user announced once more (UserChanged) through the outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 05:00:00

Sales now keeps a replica of identity's users (who may be named as the cashier of a
sale a till synced later); reports already does. Consumers apply UserChanged
idempotently (an upsert keeping the newest), so announcing again is harmless.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from pos_contracts.events import UserChanged
from pos_platform.migration_steps import announce_v1

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

users = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("email", sa.String),
    sa.column("name", sa.String),
    sa.column("role", sa.String),
    sa.column("outlets", sa.JSON),
    sa.column("active", sa.Boolean),
)


def upgrade() -> None:
    rows = op.get_bind().execute(sa.select(users)).all()
    announce_v1(
        "identity",
        [
            (
                UserChanged(
                    user_id=u.id, email=u.email, name=u.name, role=u.role, outlets=list(u.outlets or []), active=bool(u.active)
                ),
                None,
            )
            for u in rows
        ],
    )


def downgrade() -> None:
    pass  # nothing to undo: the events were sent
