"""dead letters: events the consumer gave up on, with their reason

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 22:30:00
"""

from typing import Sequence, Union

from pos_platform.migration_steps import create_dead_letters_v1, drop_dead_letters_v1

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_dead_letters_v1()


def downgrade() -> None:
    drop_dead_letters_v1()
