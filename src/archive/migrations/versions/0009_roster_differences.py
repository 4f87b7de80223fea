"""Roster differences held for a person to accept or reject (commit 805c2a4, archive.roster.differences).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa

from archive.migrations import ddl

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a re-imported roster that differs from what a decision set; nothing in households changes until accepted
    ddl.create_table(
        "roster_differences",
        ddl.serial(),
        sa.Column("household_id", sa.Text, sa.ForeignKey("households.id"), nullable=False),
        # amount / covered / status / category / village / head_name / members
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("roster_value", sa.Text, nullable=False),   # JSON: what the roster says
        sa.Column("archive_value", sa.Text, nullable=False),  # JSON: what the archive holds
        sa.Column("basis", sa.Text),                          # JSON: the decisions (doc_id, number, title) that set it
        sa.Column("import_sha", sa.Text, nullable=False),     # the roster file (roster_imports.sha256)
        sa.Column("file_name", sa.Text),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),  # pending / accepted / rejected / superseded
        sa.Column("created_at", sa.Text, nullable=False, server_default=ddl.local_now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("resolved_at", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("reason", sa.Text),
        sqlite_autoincrement=True,
    )
    ddl.create_index("roster_differences_state", "roster_differences", ["state", "household_id"])


def downgrade() -> None:
    ddl.forward_only()
