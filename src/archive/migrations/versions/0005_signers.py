"""Signed notices: who signed a document and how, and the approvers (commit ada8159).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa

from archive.migrations.ddl import add_column, create_table, forward_only, key, local_now

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_column("documents", sa.Column("signed_by", sa.Text))  # approver whose seal and signature are on it
    add_column("documents", sa.Column("signed_at", sa.Text))
    add_column("documents", sa.Column("signature_kind", sa.Text))  # seal (image only) / pades (digital signature)
    create_table(
        "signers",
        key("name"),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("signature_file", sa.Text),             # under secure/, 0600
        sa.Column("cert_file", sa.Text),                  # PKCS#12 under secure/, 0600; its password never stored
        sa.Column("cert_subject", sa.Text),
        sa.Column("cert_not_after", sa.Text),
        sa.Column("added_at", sa.Text, nullable=False, server_default=local_now()),
    )


def downgrade() -> None:
    forward_only()
