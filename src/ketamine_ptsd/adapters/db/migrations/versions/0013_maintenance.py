"""Periodic IV maintenance after the series (issue 13; PROTOCOL.md §8, §11): the state
``in_maintenance`` and the table ``maintenance_schedules``.

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-05

``patients.status`` accepts the workflow's states as they are now: the CHECK constraint
(PostgreSQL) and the triggers (SQLite) of migration 0003 are replaced with the widened list,
copied here (a migration stays what it was when a later one widens the states again).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0007"
branch_labels = None
depends_on = None

_BEFORE = (
    "registered",
    "eligible",
    "screen_failed",
    "declined",
    "randomized",
    "in_treatment",
    "responder",
    "non_responder",
    "lost_response",
    "withdrawn",
)
STATES = (*_BEFORE, "in_maintenance")
_MESSAGE = "patients.status must be a workflow state (core.workflow.PatientState)"


def _status_rule(states: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{s}'" for s in states)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_patients_status"), "patients", type_="check")
        op.create_check_constraint(op.f("ck_patients_status"), "patients", f"status IN ({listed})")
        return
    for operation in ("INSERT", "UPDATE OF status"):
        name = "patients_status_" + operation.split()[0].lower()
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {operation} ON patients "
            f"WHEN NEW.status NOT IN ({listed}) "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )


def upgrade() -> None:
    _status_rule(STATES)
    op.create_table(
        "maintenance_schedules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.String(length=64), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_on", sa.Date(), nullable=True),
        sa.Column("stopped_by", sa.Integer(), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_maintenance_schedules_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_maintenance_schedules_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["stopped_by"], ["users.id"], name=op.f("fk_maintenance_schedules_stopped_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_schedules")),
    )
    with op.batch_alter_table("maintenance_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_schedules_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("maintenance_schedules")
    _status_rule(_BEFORE)
