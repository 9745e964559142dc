"""Keyed audit chain: ``audit_log.key_id`` names the audit key a row's HMAC was made with.

Rows written before this revision keep ``key_id`` NULL: the legacy segment, plain SHA-256,
which verification reports as such (services/audit/verify.py). A plain ADD COLUMN on both
databases (no table rebuild on SQLite, so the append-only triggers of 0001 stay in place).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_log", "key_id")
