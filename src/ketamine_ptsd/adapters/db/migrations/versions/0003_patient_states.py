"""The workflow's patient states enforced by the database; screening outcomes name overrides;
the protocol versions the record uses, and each patient's bound version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

``patients.status`` accepts only the states of ``core.workflow.PatientState`` (issue 11): a CHECK
constraint on PostgreSQL, and triggers on SQLite (a CHECK cannot be added there without
rebuilding ``patients``, which every clinical table refers to). The list is copied here, not
imported: a migration stays what it was when a later version widens the states
(tests/adapters/db/test_migrations.py checks the database against the enum).

Existing records: every status the record could hold before this revision is already one of
these states; a database holding any other value is refused with the values named, rather than
mapped by guess.

``screening_outcomes.override_criteria``: the criteria an investigator's override named.

``protocol_versions``: each version of a protocol the record has used (content and digest);
``patients.protocol_version``: the version a patient consented under (NULL for records made
before this revision: they follow the protocol file, as they did).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATES = (
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
_IN = ", ".join(f"'{s}'" for s in STATES)
_MESSAGE = "patients.status must be a workflow state (core.workflow.PatientState)"


def upgrade() -> None:
    bind = op.get_bind()
    unknown = [
        row[0]
        for row in bind.execute(
            sa.text(f"SELECT DISTINCT status FROM patients WHERE status NOT IN ({_IN})")
        )
    ]
    if unknown:
        raise RuntimeError(
            f"patients hold statuses that are not workflow states: {', '.join(map(str, unknown))}; "
            "map them by hand before upgrading"
        )
    with op.batch_alter_table("screening_outcomes") as batch_op:
        batch_op.add_column(sa.Column("override_criteria", sa.JSON(), nullable=True))
    with op.batch_alter_table("patients") as batch_op:
        batch_op.add_column(sa.Column("protocol_version", sa.String(length=32), nullable=True))
    op.create_table(
        "protocol_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("protocol_version", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["published_by"], ["users.id"], name=op.f("fk_protocol_versions_published_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_versions")),
        sa.UniqueConstraint(
            "name", "protocol_version", name=op.f("uq_protocol_versions_name_protocol_version")
        ),
    )
    if bind.dialect.name == "postgresql":
        op.create_check_constraint(op.f("ck_patients_status"), "patients", f"status IN ({_IN})")
    else:
        for operation in ("INSERT", "UPDATE OF status"):
            name = "patients_status_" + operation.split()[0].lower()
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON patients "
                f"WHEN NEW.status NOT IN ({_IN}) "
                f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )


def downgrade() -> None:
    op.drop_table("protocol_versions")
    with op.batch_alter_table("patients") as batch_op:
        batch_op.drop_column("protocol_version")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_patients_status"), "patients", type_="check")
    else:
        op.execute("DROP TRIGGER IF EXISTS patients_status_insert")
        op.execute("DROP TRIGGER IF EXISTS patients_status_update")
    with op.batch_alter_table("screening_outcomes") as batch_op:
        batch_op.drop_column("override_criteria")
