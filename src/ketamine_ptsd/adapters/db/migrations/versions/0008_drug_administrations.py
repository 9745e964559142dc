"""Drug administrations: the bag, the pump double-check, the supervising physician, the weight's
confirmation, the dose given and the waste of each infusion (issue 12 items 2, 3, 4, 5, 7;
services/infusions/day.py, accountability.py; PROTOCOL.md §4, §6).

Revision ID: 0008
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0012"
branch_labels = None
depends_on = None

_USERS = (
    "prepared_by",
    "checked_by",
    "supervising_physician_id",
    "weight_confirmed_by",
    "waste_witnessed_by",
    "recorded_by",
)


def upgrade() -> None:
    op.create_table(
        "drug_administrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("infusion_day_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("bag_lot", sa.String(length=64), nullable=False),
        sa.Column("bag_expiry", sa.Date(), nullable=False),
        sa.Column("bag_concentration_mg_per_ml", sa.Float(), nullable=False),
        sa.Column("bag_volume_ml", sa.Float(), nullable=False),
        sa.Column("prepared_by", sa.Integer(), nullable=False),
        sa.Column("checked_by", sa.Integer(), nullable=False),
        sa.Column("pump_rate_ml_per_h", sa.Float(), nullable=False),
        sa.Column("supervising_physician_id", sa.Integer(), nullable=False),
        sa.Column("weight_previous_kg", sa.Float(), nullable=True),
        sa.Column("weight_confirmed_by", sa.Integer(), nullable=True),
        sa.Column("weight_confirmation_reasons", sa.JSON(), nullable=False),
        sa.Column("stopped_early", sa.Boolean(), nullable=True),
        sa.Column("early_stop_reason", sa.Text(), nullable=True),
        sa.Column("volume_given_ml", sa.Float(), nullable=True),
        sa.Column("dose_given_mg", sa.Float(), nullable=True),
        sa.Column("volume_wasted_ml", sa.Float(), nullable=True),
        sa.Column("waste_witnessed_by", sa.Integer(), nullable=True),
        sa.Column("waste_recorded_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["infusion_day_id"],
            ["infusion_days.id"],
            name=op.f("fk_drug_administrations_infusion_day_id_infusion_days"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_drug_administrations_patient_id_patients"),
        ),
        *(
            sa.ForeignKeyConstraint(
                [column], ["users.id"], name=op.f(f"fk_drug_administrations_{column}_users")
            )
            for column in _USERS
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_administrations")),
        sa.UniqueConstraint(
            "infusion_day_id", name=op.f("uq_drug_administrations_infusion_day_id")
        ),
    )
    with op.batch_alter_table("drug_administrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drug_administrations_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("drug_administrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drug_administrations_patient_id"))
    op.drop_table("drug_administrations")
