"""The clinic's long game (issue 13): self-report links (single-use, expiring; the token's hash
only), the patient's self-reports (PCL-5 and C-SSRS screener, as scored, and what they raised),
and retreatment series after a lost response (PROTOCOL.md §5, §7, §8).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "self_report_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_self_report_links_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["users.id"], name=op.f("fk_self_report_links_issued_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_report_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_self_report_links_token_hash")),
    )
    with op.batch_alter_table("self_report_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_self_report_links_patient_id"), ["patient_id"], unique=False
        )
    op.create_table(
        "self_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("pcl5_items", sa.JSON(), nullable=False),
        sa.Column("pcl5_total", sa.Integer(), nullable=False),
        sa.Column("pcl5_subscales", sa.JSON(), nullable=False),
        sa.Column("cssrs_items", sa.JSON(), nullable=False),
        sa.Column("cssrs_derived", sa.JSON(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("previous_pcl5_total", sa.Integer(), nullable=True),
        sa.Column("baseline_pcl5_total", sa.Integer(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_self_reports_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["self_report_links.id"],
            name=op.f("fk_self_reports_link_id_self_report_links"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_reports")),
        sa.UniqueConstraint("link_id", name=op.f("uq_self_reports_link_id")),
    )
    with op.batch_alter_table("self_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_self_reports_patient_id"), ["patient_id"], unique=False
        )
    op.create_table(
        "retreatment_courses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_number", sa.Integer(), nullable=False),
        sa.Column("first_infusion_number", sa.Integer(), nullable=False),
        sa.Column("infusion_count", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_retreatment_courses_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_retreatment_courses_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retreatment_courses")),
        sa.UniqueConstraint(
            "patient_id",
            "course_number",
            name=op.f("uq_retreatment_courses_patient_id_course_number"),
        ),
    )
    with op.batch_alter_table("retreatment_courses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retreatment_courses_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("retreatment_courses")
    op.drop_table("self_reports")
    op.drop_table("self_report_links")
