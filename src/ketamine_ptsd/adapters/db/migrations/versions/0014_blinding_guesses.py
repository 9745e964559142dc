"""Blinding guesses at the end of treatment (issue 15; PROTOCOL.md §3): the table
``blinding_guesses``, one guess per patient and respondent.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blinding_guesses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(length=32), nullable=False),
        sa.Column("guess", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "respondent IN ('patient', 'outcome_rater', 'infusion_nurse')",
            name=op.f("ck_blinding_guesses_respondent"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_blinding_guesses_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_blinding_guesses_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blinding_guesses")),
        sa.UniqueConstraint(
            "patient_id", "respondent", name=op.f("uq_blinding_guesses_patient_id_respondent")
        ),
    )
    with op.batch_alter_table("blinding_guesses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blinding_guesses_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("blinding_guesses")
