"""Month-end filing: the stamped copy and attachments, the audit hash chain, file digests and the
months filed (commit 90ff538).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa

from archive.migrations.ddl import SIZE, add_column, create_table, forward_only, key, local_now

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_column("documents", sa.Column("stamped_path", sa.Text))  # the filed copy with the 归档章
    add_column("documents", sa.Column("attached_to", sa.Text))   # filed as an attachment of this 件
    # hash chain: altering or removing a row breaks it
    add_column("audit", sa.Column("prev_hash", sa.Text))
    add_column("audit", sa.Column("hash", sa.Text))
    create_table(
        "files",
        sa.Column("doc_id", sa.Text, nullable=False, primary_key=True, autoincrement=False),
        # pdf_path / docx_path / xlsx_path / original_path / sidecar_path / stamped_path / void_*
        sa.Column("kind", sa.Text, nullable=False, primary_key=True, autoincrement=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("size", SIZE, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False, server_default=local_now()),
    )
    create_table(
        "filing_months",
        key("month"),                                     # YYYY-MM
        sa.Column("status", sa.Text, nullable=False),     # filed / reopened
        sa.Column("items", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("filed_at", sa.Text),
        sa.Column("operator", sa.Text),
        sa.Column("report", sa.Text),                     # JSON summary of the last filing
    )


def downgrade() -> None:
    forward_only()
