"""The first released catalog: households, members, roster imports, number sequences, documents
and the audit log (commit 16ff908, "Package skeleton").

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa

from archive.migrations.ddl import (
    REAL,
    create_index,
    create_table,
    forward_only,
    key,
    local_now,
    serial,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "households",
        key("id"),                                      # 户主身份证号
        sa.Column("village", sa.Text, nullable=False),
        sa.Column("head_name", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),  # 低保 / 特困 / 临时救助 / 低保边缘
        sa.Column("covered", sa.Integer, nullable=False),  # 保障人数
        sa.Column("amount", REAL, nullable=False),        # 月保障金额(元)
        sa.Column("start_date", sa.Text),                 # 开始日期 (ISO)
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("kin_filed", sa.Integer, nullable=False, server_default=sa.text("0")),  # 近亲属备案
        sa.Column("phone", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("data_sha", sa.Text, nullable=False),  # digest of the imported fields, to see changes
        sa.Column("created_at", sa.Text, nullable=False, server_default=local_now()),
        sa.Column("updated_at", sa.Text, nullable=False, server_default=local_now()),
    )
    create_index("households_village", "households", ["village"])

    create_table(
        "members",
        sa.Column("household_id", sa.Text, sa.ForeignKey("households.id"), nullable=False, primary_key=True,
                  autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("relation", sa.Text, nullable=False),
        sa.Column("id_number", sa.Text, nullable=False, unique=True),
    )

    create_table(
        "roster_imports",
        key("sha256"),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("imported_at", sa.Text, nullable=False, server_default=local_now()),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
    )

    create_table(
        "sequences",
        sa.Column("code", sa.Text, nullable=False, primary_key=True, autoincrement=False),  # 文号 type code
        sa.Column("year", sa.Integer, nullable=False, primary_key=True, autoincrement=False),
        sa.Column("last", sa.Integer, nullable=False),
    )

    create_table(
        "documents",
        key("doc_id"),
        sa.Column("type", sa.Text, nullable=False),       # template id: refusal, approval, ...
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("household_id", sa.Text, sa.ForeignKey("households.id")),
        sa.Column("village", sa.Text),
        sa.Column("doc_date", sa.Text, nullable=False),   # ISO date printed on the document
        sa.Column("number", sa.Text),                     # 文号, e.g. 青岩民不批〔2025〕7号
        sa.Column("number_code", sa.Text),
        sa.Column("number_year", sa.Integer),
        sa.Column("number_seq", sa.Integer),
        sa.Column("request_key", sa.Text, nullable=False),  # same request again = reprint, same number
        sa.Column("params", sa.Text, nullable=False),     # JSON of the values given with --set etc.
        sa.Column("context", sa.Text, nullable=False),    # JSON snapshot of what was printed, for reprints
        sa.Column("body_text", sa.Text, nullable=False, server_default=""),  # the generated text, for search
        sa.Column("pages", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("pdf_path", sa.Text),
        sa.Column("docx_path", sa.Text),
        sa.Column("xlsx_path", sa.Text),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),  # active / voided
        sa.Column("void_reason", sa.Text),
        sa.Column("replaces", sa.Text, sa.ForeignKey("documents.doc_id")),
        sa.Column("created_at", sa.Text, nullable=False, server_default=local_now()),
    )
    create_index("documents_number", "documents", ["number_code", "number_year", "number_seq"], unique=True,
                 where="number_seq IS NOT NULL")
    create_index("documents_household", "documents", ["household_id"])
    create_index("documents_request", "documents", ["request_key"])

    create_table(
        "audit",
        serial(),
        sa.Column("at", sa.Text, nullable=False, server_default=local_now(fraction=True)),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("detail", sa.Text),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    forward_only()
