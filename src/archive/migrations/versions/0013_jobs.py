"""Long jobs run in the background of the web server (archive.jobs): one row per job, with its
progress, so that a page reload or another user sees it, and at most one running job per kind.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa

from archive.migrations.ddl import create_index, create_table, forward_only, local_now, serial

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "jobs",
        serial(),
        sa.Column("kind", sa.Text, nullable=False),        # ingest / file-month / reindex / batch / verify
        sa.Column("title", sa.Text, nullable=False),       # what it does, in Chinese (月末归档 2025年7月)
        sa.Column("operator", sa.Text, nullable=False),    # who started it
        sa.Column("started_at", sa.Text, nullable=False, server_default=local_now()),
        sa.Column("finished_at", sa.Text),
        sa.Column("state", sa.Text, nullable=False),       # running / done / failed / interrupted
        sa.Column("done", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("total", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("message", sa.Text),                     # the last progress line
        sa.Column("detail", sa.Text),                      # JSON: per-item progress (files and pages)
        sa.Column("result", sa.Text),                      # JSON: the summary of a finished job
        sa.Column("error", sa.Text),                       # why it failed (Chinese)
        sa.Column("owner", sa.Text, nullable=False),       # host:pid:token of the server process running it
        sqlite_autoincrement=True,
    )
    # one running job per kind, held by the database itself (two server processes on one home)
    create_index("jobs_one_running", "jobs", ["kind"], unique=True, where="state = 'running'")
    create_index("jobs_started", "jobs", ["started_at"])


def downgrade() -> None:
    forward_only()
