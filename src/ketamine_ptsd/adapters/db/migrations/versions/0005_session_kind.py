"""Session kind and last use: bearer tokens idle out, a cookie token is not a bearer token
(services/auth.py; issue 16 §4).

Sessions opened before this revision are revoked (their kind is unknown): everyone signs in
again after the upgrade.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE user_sessions SET revoked_at = expires_at WHERE revoked_at IS NULL")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), nullable=False, server_default="browser")
        )
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("kind")
