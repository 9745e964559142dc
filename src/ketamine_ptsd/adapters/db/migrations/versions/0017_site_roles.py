"""Roles per site (issue 17: "each user in one or more sites with a role per site", like REDCap's
data access groups): ``user_sites.role`` (NULL: the account's own role at that site) and
``user_sessions.site`` (the site a session works at, for a user whose sites give different roles).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=32), nullable=True))
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("site")
    with op.batch_alter_table("user_sites", schema=None) as batch_op:
        batch_op.drop_column("role")
