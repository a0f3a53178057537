"""source health and pending digest emails

Revision ID: source_health
Revises: source_tags
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "source_health"
down_revision: str | None = "source_tags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("email_message", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("email_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("email_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_digest_email_status", ["email_status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_email_status")
        for col in ("emailed_at", "email_error", "email_attempts", "email_message", "email_status"):
            batch_op.drop_column(col)
    with op.batch_alter_table("source", schema=None) as batch_op:
        for col in ("next_attempt_at", "last_error", "consecutive_failures", "last_success_at"):
            batch_op.drop_column(col)
