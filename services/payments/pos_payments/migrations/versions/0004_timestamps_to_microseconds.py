"""timestamps to the microsecond (outbox, inbox)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 23:00:00
"""

from typing import Sequence, Union

from pos_platform.migration_steps import MESSAGING_TIMESTAMPS, timestamps_to_microseconds_v1, timestamps_to_seconds_v1

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = MESSAGING_TIMESTAMPS


def upgrade() -> None:
    timestamps_to_microseconds_v1(COLUMNS)


def downgrade() -> None:
    timestamps_to_seconds_v1(COLUMNS)
