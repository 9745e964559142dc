"""Workflow records: screening visits and eligibility decisions, clinic documents, Table 1
demographics, infusion days (checklist, dose, vitals, interventions, ratings), adverse events,
assessments and withdrawals (services/screening.py … followup.py; PROTOCOL.md §1-§8).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=True),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("relatedness", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_adverse_events_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_adverse_events_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_adverse_events_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_events_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("time_point", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("window_start", sa.Date(), nullable=True),
        sa.Column("window_end", sa.Date(), nullable=True),
        sa.Column("in_window", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("subscales", sa.JSON(), nullable=False),
        sa.Column("derived", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_assessments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_assessments_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_assessments_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessments_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "demographics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("age_years", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("race", sa.String(length=64), nullable=True),
        sa.Column("hispanic", sa.Boolean(), nullable=True),
        sa.Column("bmi_kg_m2", sa.Float(), nullable=True),
        sa.Column("ptsd_duration_years", sa.Float(), nullable=True),
        sa.Column("comorbid_mdd", sa.Boolean(), nullable=True),
        sa.Column("concomitant_psychotherapy", sa.Boolean(), nullable=True),
        sa.Column("stable_psychotropics", sa.Boolean(), nullable=True),
        sa.Column("primary_trauma", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_demographics_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_demographics_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demographics")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_demographics_patient_id")),
    )
    op.create_table(
        "infusion_ratings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("subscales", sa.JSON(), nullable=False),
        sa.Column("derived", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_infusion_ratings_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_infusion_ratings_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_infusion_ratings_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infusion_ratings")),
    )
    with op.batch_alter_table("infusion_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_infusion_ratings_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "interventions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=True),
        sa.Column("drug", sa.String(length=100), nullable=False),
        sa.Column("dose_mg", sa.Float(), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_interventions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_interventions_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_interventions_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interventions")),
    )
    with op.batch_alter_table("interventions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interventions_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "maintenance_plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("option_ids", sa.JSON(), nullable=False),
        sa.Column("site_facts", sa.JSON(), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_maintenance_plans_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_maintenance_plans_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_maintenance_plans_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_plans")),
    )
    with op.batch_alter_table("maintenance_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_plans_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "pre_infusion_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("hold_reasons", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_pre_infusion_checks_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_pre_infusion_checks_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pre_infusion_checks")),
    )
    with op.batch_alter_table("pre_infusion_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pre_infusion_checks_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "risk_benefit_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=64), nullable=False),
        sa.Column("proceed", sa.Boolean(), nullable=False),
        sa.Column("decided_by_name", sa.String(length=200), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_risk_benefit_decisions_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_risk_benefit_decisions_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_risk_benefit_decisions_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_benefit_decisions")),
    )
    with op.batch_alter_table("risk_benefit_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_benefit_decisions_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "safety_plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("documented_on", sa.Date(), nullable=False),
        sa.Column("warning_signs", sa.Text(), nullable=False),
        sa.Column("coping_strategies", sa.Text(), nullable=False),
        sa.Column("contacts", sa.Text(), nullable=False),
        sa.Column("means_restriction", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_safety_plans_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_safety_plans_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_safety_plans_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_plans")),
    )
    with op.batch_alter_table("safety_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safety_plans_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "screening_visits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("protocol_version", sa.String(length=32), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_screening_visits_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_screening_visits_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_screening_visits_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_visits")),
    )
    with op.batch_alter_table("screening_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_screening_visits_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "treatment_resistance",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("psychotherapy_trials", sa.JSON(), nullable=False),
        sa.Column("medication_trials", sa.JSON(), nullable=False),
        sa.Column("documented_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_treatment_resistance_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_treatment_resistance_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_treatment_resistance_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_resistance")),
    )
    with op.batch_alter_table("treatment_resistance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_treatment_resistance_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "vital_signs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("measured_at", sa.DateTime(), nullable=False),
        sa.Column("systolic_mmhg", sa.Integer(), nullable=True),
        sa.Column("diastolic_mmhg", sa.Integer(), nullable=True),
        sa.Column("heart_rate_bpm", sa.Integer(), nullable=True),
        sa.Column("spo2_percent", sa.Integer(), nullable=True),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_vital_signs_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_vital_signs_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_vital_signs_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vital_signs")),
    )
    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vital_signs_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "withdrawals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=False),
        sa.Column("decided_by_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("infusions_received", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_withdrawals_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_withdrawals_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_withdrawals_patient_id")),
    )
    op.create_table(
        "eligibility_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("facts_used", sa.JSON(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(), nullable=False),
        sa.Column("evaluated_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluated_by"], ["users.id"], name=op.f("fk_eligibility_decisions_evaluated_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_eligibility_decisions_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["screening_visits.id"],
            name=op.f("fk_eligibility_decisions_visit_id_screening_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_decisions")),
    )
    with op.batch_alter_table("eligibility_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eligibility_decisions_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "infusion_days",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("infusion_date", sa.Date(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=False),
        sa.Column("drug", sa.String(length=64), nullable=False),
        sa.Column("dose_mg", sa.Float(), nullable=False),
        sa.Column("concentration_mg_per_ml", sa.Float(), nullable=False),
        sa.Column("dose_arithmetic", sa.Text(), nullable=False),
        sa.Column("volume_ml", sa.Float(), nullable=False),
        sa.Column("rate_ml_per_h", sa.Float(), nullable=False),
        sa.Column("infusion_minutes", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ambulatory_unaided", sa.Boolean(), nullable=True),
        sa.Column("delayed_effects_checked", sa.Boolean(), nullable=True),
        sa.Column("physician_signoff_by", sa.Integer(), nullable=True),
        sa.Column("discharged_at", sa.DateTime(), nullable=True),
        sa.Column("discharge_reasons", sa.JSON(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["pre_infusion_checks.id"],
            name=op.f("fk_infusion_days_check_id_pre_infusion_checks"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_infusion_days_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["physician_signoff_by"],
            ["users.id"],
            name=op.f("fk_infusion_days_physician_signoff_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_infusion_days_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_infusion_days_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infusion_days")),
        sa.UniqueConstraint(
            "patient_id",
            "infusion_number",
            name=op.f("uq_infusion_days_patient_id_infusion_number"),
        ),
    )
    with op.batch_alter_table("infusion_days", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_infusion_days_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("infusion_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_infusion_days_patient_id"))

    op.drop_table("infusion_days")
    with op.batch_alter_table("eligibility_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eligibility_decisions_patient_id"))

    op.drop_table("eligibility_decisions")
    op.drop_table("withdrawals")
    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vital_signs_patient_id"))

    op.drop_table("vital_signs")
    with op.batch_alter_table("treatment_resistance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_treatment_resistance_patient_id"))

    op.drop_table("treatment_resistance")
    with op.batch_alter_table("screening_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_visits_patient_id"))

    op.drop_table("screening_visits")
    with op.batch_alter_table("safety_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_plans_patient_id"))

    op.drop_table("safety_plans")
    with op.batch_alter_table("risk_benefit_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_benefit_decisions_patient_id"))

    op.drop_table("risk_benefit_decisions")
    with op.batch_alter_table("pre_infusion_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pre_infusion_checks_patient_id"))

    op.drop_table("pre_infusion_checks")
    with op.batch_alter_table("maintenance_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_plans_patient_id"))

    op.drop_table("maintenance_plans")
    with op.batch_alter_table("interventions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interventions_patient_id"))

    op.drop_table("interventions")
    with op.batch_alter_table("infusion_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_infusion_ratings_patient_id"))

    op.drop_table("infusion_ratings")
    op.drop_table("demographics")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_patient_id"))

    op.drop_table("assessments")
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_events_patient_id"))

    op.drop_table("adverse_events")
