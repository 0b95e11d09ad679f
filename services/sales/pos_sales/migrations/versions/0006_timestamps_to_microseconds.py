"""timestamps to the microsecond (outbox, inbox, sales)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:00:00
"""

from typing import Sequence, Union

from pos_platform.migration_steps import MESSAGING_TIMESTAMPS, timestamps_to_microseconds_v1, timestamps_to_seconds_v1

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = {**MESSAGING_TIMESTAMPS, "sales": {"created_at": False, "completed_at": True, "fulfilled_at": True}}


def upgrade() -> None:
    timestamps_to_microseconds_v1(COLUMNS)


def downgrade() -> None:
    timestamps_to_seconds_v1(COLUMNS)
