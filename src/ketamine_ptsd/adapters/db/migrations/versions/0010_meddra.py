"""MedDRA coding (issue 14): a site's own release as reference data, and the coding of each
adverse event (LLT and its primary path, who coded it and when; audited field by field).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _path() -> list[sa.Column[object]]:
    return [
        sa.Column("llt_code", sa.Integer(), nullable=False),
        sa.Column("llt_name", sa.String(length=100), nullable=False),
        sa.Column("pt_code", sa.Integer(), nullable=False),
        sa.Column("pt_name", sa.String(length=100), nullable=False),
        sa.Column("hlt_code", sa.Integer(), nullable=False),
        sa.Column("hlt_name", sa.String(length=100), nullable=False),
        sa.Column("hlgt_code", sa.Integer(), nullable=False),
        sa.Column("hlgt_name", sa.String(length=100), nullable=False),
        sa.Column("soc_code", sa.Integer(), nullable=False),
        sa.Column("soc_name", sa.String(length=100), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "meddra_terms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release", sa.String(length=32), nullable=False),
        *_path(),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("loaded_by", sa.Integer(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loaded_by"], ["users.id"], name=op.f("fk_meddra_terms_loaded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meddra_terms")),
        sa.UniqueConstraint("release", "llt_code", name=op.f("uq_meddra_terms_release_llt_code")),
    )
    op.create_table(
        "adverse_event_codings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=False),
        sa.Column("release", sa.String(length=32), nullable=False),
        *_path(),
        sa.Column("coded_by", sa.Integer(), nullable=True),
        sa.Column("coded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_events.id"],
            name=op.f("fk_adverse_event_codings_adverse_event_id_adverse_events"),
        ),
        sa.ForeignKeyConstraint(
            ["coded_by"], ["users.id"], name=op.f("fk_adverse_event_codings_coded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event_codings")),
        sa.UniqueConstraint(
            "adverse_event_id", name=op.f("uq_adverse_event_codings_adverse_event_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("adverse_event_codings")
    op.drop_table("meddra_terms")
