"""The bedside completed (issue 12): respiratory rate and sedation (MOAA/S) with each set of
vitals, a missed reading recorded with its reason, and a physician's decision to discharge
despite emergent psychosis or mania, the nurse's two-identifier check before the start, and the
patient's concomitant medications
(PROTOCOL.md §6, §11, §12).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("respiratory_rate_per_min", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("moaas", sa.Integer(), nullable=True))
    with op.batch_alter_table("infusion_days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worsening_decision_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("worsening_decision_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_infusion_days_worsening_decision_by_users",
            "users",
            ["worsening_decision_by"],
            ["id"],
        )
    op.create_table(
        "vitals_missed",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_vitals_missed_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_vitals_missed_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_vitals_missed_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vitals_missed")),
    )
    with op.batch_alter_table("vitals_missed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vitals_missed_patient_id"), ["patient_id"], unique=False
        )
    op.create_table(
        "identity_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("name_confirmed", sa.Boolean(), nullable=False),
        sa.Column("date_of_birth_confirmed", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_identity_checks_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_identity_checks_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_checks")),
    )
    with op.batch_alter_table("identity_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_checks_patient_id"), ["patient_id"], unique=False
        )
    op.create_table(
        "concomitant_medications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=200), nullable=False),
        sa.Column("drug_class", sa.String(length=32), nullable=False),
        sa.Column("dose", sa.String(length=200), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("stopped_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_concomitant_medications_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.id"],
            name=op.f("fk_concomitant_medications_recorded_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_concomitant_medications_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concomitant_medications")),
    )
    with op.batch_alter_table("concomitant_medications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_concomitant_medications_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("concomitant_medications")
    op.drop_table("identity_checks")
    op.drop_table("vitals_missed")
    with op.batch_alter_table("infusion_days", schema=None) as batch_op:
        batch_op.drop_constraint("fk_infusion_days_worsening_decision_by_users", type_="foreignkey")
        batch_op.drop_column("worsening_decision_reason")
        batch_op.drop_column("worsening_decision_by")
    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.drop_column("moaas")
        batch_op.drop_column("respiratory_rate_per_min")
