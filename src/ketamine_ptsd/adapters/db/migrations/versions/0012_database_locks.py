"""Database locks (issue 17): a lock before the blind is broken; while it holds, every write of
patient data is refused (services/lock_guard.py) and the final analysis records its digest.

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "database_locks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=False),
        sa.Column("locked_by", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=96), nullable=False),
        sa.Column("unlocked_at", sa.DateTime(), nullable=True),
        sa.Column("unlocked_by", sa.Integer(), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["locked_by"], ["users.id"], name=op.f("fk_database_locks_locked_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["unlocked_by"], ["users.id"], name=op.f("fk_database_locks_unlocked_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_database_locks")),
    )


def downgrade() -> None:
    op.drop_table("database_locks")
