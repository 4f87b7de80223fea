"""Scans: the ingest ledger and the scan fields of documents (commit a0196c7).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa

from archive.migrations.ddl import (
    add_column,
    create_index,
    create_table,
    forward_only,
    key,
    local_now,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in (
        sa.Column("origin", sa.Text, nullable=False, server_default="generated"),  # generated / scan
        sa.Column("source_doc", sa.Text, sa.ForeignKey("documents.doc_id")),  # a signed scan's generated original
        sa.Column("scan_sha256", sa.Text),
        sa.Column("original_path", sa.Text),              # the scan as it came, unchanged
        sa.Column("sidecar_path", sa.Text),               # OCR lines, boxes, confidences (JSON)
    ):
        add_column("documents", column)
    create_table(
        "scans",
        key("sha256"),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),     # processing / filed / linked / review / rejected / quarantined
        sa.Column("doc_id", sa.Text),                     # reserved when processing starts, so a rerun reuses it
        sa.Column("pages", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("detected_type", sa.Text),
        sa.Column("household_id", sa.Text),
        sa.Column("quarantine_path", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False, server_default=local_now()),
        sa.Column("updated_at", sa.Text, nullable=False, server_default=local_now()),
    )
    create_index("scans_status", "scans", ["status"])


def downgrade() -> None:
    forward_only()
