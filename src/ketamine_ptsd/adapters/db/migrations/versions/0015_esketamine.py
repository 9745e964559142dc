"""Intranasal esketamine sessions under the REMS (issue 13; PROTOCOL.md §8, §11): the tables
``esketamine_sessions`` (one per session, the monitoring form's fields), ``esketamine_readings``,
``esketamine_events`` and ``esketamine_decisions`` (the prescriber's released holds and moved
sessions).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _recorded(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f(f"fk_{table}_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _index(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def _session_child(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["esketamine_sessions.id"],
            name=op.f(f"fk_{table}_session_id_esketamine_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f(f"fk_{table}_patient_id_patients")
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "esketamine_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("session_number", sa.Integer(), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("rems_patient_enrolled", sa.Boolean(), nullable=False),
        sa.Column("rems_patient_id", sa.String(length=64), nullable=True),
        sa.Column("setting_name", sa.String(length=200), nullable=False),
        sa.Column("setting_certified", sa.Boolean(), nullable=False),
        sa.Column("monitoring_provider", sa.String(length=200), nullable=False),
        sa.Column("prescriber", sa.String(length=200), nullable=False),
        sa.Column("concomitant_classes", sa.JSON(), nullable=False),
        sa.Column("concomitant_notes", sa.Text(), nullable=True),
        sa.Column("dose_choice", sa.String(length=8), nullable=False),
        sa.Column("dose_mg", sa.Integer(), nullable=False),
        sa.Column("other_dose_reason", sa.Text(), nullable=True),
        sa.Column("device_lot", sa.String(length=64), nullable=False),
        sa.Column("bp_before_systolic", sa.Integer(), nullable=False),
        sa.Column("bp_before_diastolic", sa.Integer(), nullable=False),
        sa.Column("pulse_before", sa.Integer(), nullable=True),
        sa.Column("spo2_before", sa.Integer(), nullable=True),
        sa.Column("first_device_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ready_to_leave_at", sa.DateTime(), nullable=True),
        sa.Column("discharged_by", sa.Integer(), nullable=True),
        sa.Column("discharged_at", sa.DateTime(), nullable=True),
        sa.Column("form_submitted_by", sa.Integer(), nullable=True),
        sa.Column("form_submitted_at", sa.DateTime(), nullable=True),
        *_recorded("esketamine_sessions"),
        sa.CheckConstraint(
            "dose_choice IN ('56', '84', 'other')", name=op.f("ck_esketamine_sessions_dose_choice")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_esketamine_sessions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["discharged_by"],
            ["users.id"],
            name=op.f("fk_esketamine_sessions_discharged_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["form_submitted_by"],
            ["users.id"],
            name=op.f("fk_esketamine_sessions_form_submitted_by_users"),
        ),
        sa.UniqueConstraint(
            "patient_id",
            "session_number",
            name=op.f("uq_esketamine_sessions_patient_id_session_number"),
        ),
    )
    _index("esketamine_sessions", "patient_id")
    op.create_table(
        "esketamine_readings",
        *_session_child("esketamine_readings"),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("pulse", sa.Integer(), nullable=True),
        sa.Column("spo2_percent", sa.Integer(), nullable=True),
        sa.Column("moaas", sa.Integer(), nullable=True),
        *_recorded("esketamine_readings"),
    )
    _index("esketamine_readings", "session_id", "patient_id")
    op.create_table(
        "esketamine_events",
        *_session_child("esketamine_events"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("onset_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        *_recorded("esketamine_events"),
        sa.CheckConstraint(
            "kind IN ('sedation', 'dissociation', 'respiratory_depression')",
            name=op.f("ck_esketamine_events_kind"),
        ),
    )
    _index("esketamine_events", "session_id", "patient_id")
    op.create_table(
        "esketamine_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("session_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("released", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('release_bp_hold', 'move_session')", name=op.f("ck_esketamine_decisions_kind")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_esketamine_decisions_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_esketamine_decisions_decided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esketamine_decisions")),
    )
    _index("esketamine_decisions", "patient_id")


def downgrade() -> None:
    op.drop_table("esketamine_decisions")
    op.drop_table("esketamine_events")
    op.drop_table("esketamine_readings")
    op.drop_table("esketamine_sessions")
