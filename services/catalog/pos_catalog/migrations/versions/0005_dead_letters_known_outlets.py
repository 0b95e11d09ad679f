"""dead letters (catalog consumes events now) and the outlets replica

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 00:50:00
"""

from typing import Sequence, Union

from pos_platform.migration_steps import create_dead_letters_v1, create_known_outlets_v1, drop_dead_letters_v1, drop_known_outlets_v1

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_dead_letters_v1()
    create_known_outlets_v1()


def downgrade() -> None:
    drop_known_outlets_v1()
    drop_dead_letters_v1()
