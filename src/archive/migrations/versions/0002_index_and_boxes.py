"""Full-text index bookkeeping, filing fields (档号, 件号, box) with the boxes table, and the moves
log (commit bc9dcaf).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa

from archive.migrations.ddl import (
    add_column,
    create_index,
    create_table,
    forward_only,
    local_now,
    serial,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "boxes",
        serial(),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("village", sa.Text, nullable=False),
        sa.Column("retention", sa.Text, nullable=False),
        sa.Column("box_no", sa.Integer, nullable=False),
        sa.UniqueConstraint("year", "village", "retention", "box_no"),
        sqlite_autoincrement=True,
    )
    create_table(
        "moves",
        serial(),
        sa.Column("at", sa.Text, nullable=False, server_default=local_now()),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),       # document / household
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("from_value", sa.Text),
        sa.Column("to_value", sa.Text),
        sa.Column("reason", sa.Text),
        sqlite_autoincrement=True,
    )
    for column in (
        # bumped on every change (trigger of revision 0010); the index keeps its own copy
        sa.Column("rev", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("indexed_rev", sa.Integer, nullable=False, server_default=sa.text("0")),
        # filing (DA/T 22): set by file-month
        sa.Column("archival_code", sa.Text),              # 档号 (unique: index below)
        sa.Column("class_code", sa.Text),                 # 机构(问题)代码
        sa.Column("retention", sa.Text),                  # 保管期限 Y / D30 / D10
        sa.Column("item_no", sa.Integer),                 # 件号
        sa.Column("box_id", sa.Integer, sa.ForeignKey("boxes.id")),
        sa.Column("filed_month", sa.Text),
        sa.Column("filed_at", sa.Text),
    ):
        add_column("documents", column)
    create_index("documents_archival_code_unique", "documents", ["archival_code"], unique=True)


def downgrade() -> None:
    forward_only()
