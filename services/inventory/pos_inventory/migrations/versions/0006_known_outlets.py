"""the outlets replica

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 00:50:00
"""

from typing import Sequence, Union

from pos_platform.migration_steps import create_known_outlets_v1, drop_known_outlets_v1

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_known_outlets_v1()


def downgrade() -> None:
    drop_known_outlets_v1()
