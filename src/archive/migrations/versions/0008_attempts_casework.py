"""Ingest attempts of a scan (commit 6238bff) and the casework history of households (b0fe711).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa

from archive.migrations.ddl import (
    REAL,
    add_column,
    create_index,
    create_table,
    forward_only,
    local_now,
    serial,
)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # times processing started without finishing (a worker killed for memory): see ingest max_attempts
    add_column("scans", sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")))
    # a household's history; decisions take effect from effective_month (archive.casework)
    create_table(
        "case_events",
        serial(),
        sa.Column("household_id", sa.Text, sa.ForeignKey("households.id"), nullable=False),
        # application / investigation / publicity / approval / refusal / adjustment / suspension / review
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("event_date", sa.Text, nullable=False),  # ISO date of the act (the document's date)
        sa.Column("effective_month", sa.Text),            # YYYY-MM the effect starts (decisions only)
        sa.Column("status", sa.Text),                     # status from then on: active / stopped / refused
        sa.Column("amount", REAL),                        # 月保障金额 from then on
        sa.Column("covered", sa.Integer),                 # 保障人数 from then on
        sa.Column("doc_id", sa.Text, sa.ForeignKey("documents.doc_id")),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),                     # JSON: dates cited, reason, flags
        sa.Column("recorded_at", sa.Text, nullable=False, server_default=local_now()),
        sqlite_autoincrement=True,
    )
    create_index("case_events_household", "case_events", ["household_id", "effective_month"])


def downgrade() -> None:
    forward_only()
