"""Registered filing outputs (commit c6006a2), the filing round of supplements (61f452b) and the
copies of voided documents marked 作废 (1344aec).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa

from archive.migrations.ddl import SIZE, add_column, create_table, forward_only, key, local_now

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "outputs",
        key("path"),                                      # relative to the home: catalogues, reports, 卷内目录
        sa.Column("kind", sa.Text, nullable=False),       # 归档文件目录 / 卷内目录 / 盒脊与备考表 / 完整性报告 / …
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("size", SIZE, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False, server_default=local_now()),
    )
    # 1: the month's first filing; 2…: supplements after reopen-month
    add_column("documents", sa.Column("filing_round", sa.Integer))
    # voiding: copies marked 作废 (the originals stay as they were)
    add_column("documents", sa.Column("void_pdf_path", sa.Text))
    add_column("documents", sa.Column("void_docx_path", sa.Text))


def downgrade() -> None:
    forward_only()
