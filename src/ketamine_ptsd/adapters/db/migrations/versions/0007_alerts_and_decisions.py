"""Owned alerts and a physician's infusion-day decisions (issue 12 items 1, 2, 6, 8, 10):
``safety_alerts`` (a vital sign beyond its threshold or a C-SSRS at the review level, with its
acknowledgement: who, which physician was called and when, what was done; PROTOCOL.md §6, §7,
§12) and ``physician_decisions`` (a held morning released, an infusion's day moved, with the
reason; §5, §6).

Revision ID: 0007
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "safety_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_table", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("raised_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("physician_called", sa.String(length=200), nullable=True),
        sa.Column("physician_called_at", sa.DateTime(), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_safety_alerts_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by"], ["users.id"], name=op.f("fk_safety_alerts_raised_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["users.id"], name=op.f("fk_safety_alerts_acknowledged_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_alerts")),
    )
    with op.batch_alter_table("safety_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safety_alerts_patient_id"), ["patient_id"], unique=False
        )
    op.create_table(
        "physician_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("released", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_physician_decisions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_physician_decisions_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_physician_decisions_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physician_decisions")),
    )
    with op.batch_alter_table("physician_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_physician_decisions_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("physician_decisions")
    op.drop_table("safety_alerts")
