"""The states ``screening`` and ``completed_series`` (issue 11; PROTOCOL.md §1, §2, §5, §6).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05

``patients.status`` accepts the workflow's states as they are now: the CHECK constraint
(PostgreSQL) and the triggers (SQLite) are replaced with the widened list, copied here (a
migration stays what it was when a later one widens the states again).

No stored status is rewritten. A status changes only through the workflow, with its audit row
(``audit verify`` replays the trail against the tables), so a migration that moved patients
would leave changes nobody made. Both older states stay valid where they stand: a consented
patient still ``registered`` moves to ``screening`` at the next screening decision, and a
patient ``in_treatment`` whose series is already discharged moves on when the primary outcome is
recorded, as before.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
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
    "in_maintenance",
)
STATES = (*_BEFORE, "screening", "completed_series")
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


def downgrade() -> None:
    bind = op.get_bind()
    held = bind.exec_driver_sql(
        "SELECT count(*) FROM patients WHERE status IN ('screening', 'completed_series')"
    ).scalar()
    if held:
        raise RuntimeError(
            f"{held} patient(s) are in 'screening' or 'completed_series', which the earlier "
            "schema does not know; downgrading would lose their state"
        )
    _status_rule(_BEFORE)
