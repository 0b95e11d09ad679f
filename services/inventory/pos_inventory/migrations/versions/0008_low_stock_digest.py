"""the daily low-stock e-mail digest: settings per outlet, one claimed row per outlet
and local day, and the replicas of outlet time zones and staff addresses

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 15:40:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "digest_settings",
        sa.Column("outlet_id", sa.String(36), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("send_at", sa.String(5), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("send_when_all_stocked", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(36), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id"),
    )
    op.create_table(
        "digest_runs",
        sa.Column("outlet_id", sa.String(36), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("recipients", sa.Text(), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id", "local_date"),
    )
    op.create_index("ix_digest_runs_status", "digest_runs", ["status", "next_try_at"])
    op.create_table(
        "outlet_zones",
        sa.Column("outlet_id", sa.String(36), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id"),
    )
    op.create_table(
        "staff",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("outlets", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("staff")
    op.drop_table("outlet_zones")
    op.drop_index("ix_digest_runs_status", table_name="digest_runs")
    op.drop_table("digest_runs")
    op.drop_table("digest_settings")
