"""identity consumes events (AuditRecorded): dead letters; the audit log by time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:30:00

Other services' sensitive actions reach the audit chain as AuditRecorded events (ADR
0043): identity now runs a consumer, so it keeps dead letters like every consumer, and
an export of the chain for a date range reads audit_log by `at`. No batch mode: a
rebuilt audit_log would lose its triggers (ADR 0041).
"""

from typing import Sequence, Union

from alembic import op

from pos_platform.migration_steps import create_dead_letters_v1, drop_dead_letters_v1

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_dead_letters_v1()
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    drop_dead_letters_v1()
