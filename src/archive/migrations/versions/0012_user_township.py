"""A user's township: on a county home (one deployment, many townships; docs/COUNTY.md) an account
is kept in the county's catalog and may be limited to one township. NULL: not limited (every
account of a single-township home, and the county's inspectors and administrators).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa

from archive.migrations.ddl import add_column, forward_only

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_column("users", sa.Column("township", sa.Text))


def downgrade() -> None:
    forward_only()
