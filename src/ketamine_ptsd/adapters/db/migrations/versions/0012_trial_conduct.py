"""Trial conduct (issue 17): database locks — a lock before the blind is broken; while it holds,
every write of patient data is refused (services/lock_guard.py) and the final analysis records
its digest — data queries on one field of one record (core/conduct/queries.py), and
source-data verification marks (core/conduct/sdv.py).

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

    op.create_table(
        "data_queries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value_raised", sa.Text(), nullable=True),
        sa.Column("sensitivity", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.Integer(), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("corrected", sa.Boolean(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'answered', 'closed')", name=op.f("ck_data_queries_state")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_data_queries_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by"], ["users.id"], name=op.f("fk_data_queries_raised_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["users.id"], name=op.f("fk_data_queries_answered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["users.id"], name=op.f("fk_data_queries_closed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_queries")),
    )
    with op.batch_alter_table("data_queries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_queries_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_data_queries_state"), ["state"], unique=False)
    op.create_table(
        "sdv_marks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("verified_by", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_sdv_marks_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"], ["users.id"], name=op.f("fk_sdv_marks_verified_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sdv_marks")),
    )
    with op.batch_alter_table("sdv_marks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sdv_marks_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sdv_marks")
    op.drop_table("data_queries")
    op.drop_table("database_locks")
