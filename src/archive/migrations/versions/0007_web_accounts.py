"""The web application: accounts, API tokens and opaque household keys (commit 2455cf4).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa

from archive.migrations.ddl import create_table, forward_only, key, local_now

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # accounts (archive user add); passwords as argon2 hashes
    create_table(
        "users",
        key("name"),
        sa.Column("role", sa.Text, nullable=False),       # caseworker / archivist / inspector / admin
        sa.Column("password_hash", sa.Text),
        sa.Column("disabled", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.Text, nullable=False, server_default=local_now()),
        sa.Column("last_login", sa.Text),
    )
    # API tokens for scripts: only the SHA-256 of each token is kept
    create_table(
        "api_tokens",
        key("token_sha256"),
        sa.Column("user_name", sa.Text, sa.ForeignKey("users.name"), nullable=False),
        sa.Column("created_at", sa.Text, nullable=False, server_default=local_now()),
        sa.Column("last_used", sa.Text),
    )
    # an opaque key per household, so that no ID number appears in a web address
    create_table(
        "household_keys",
        key("key"),
        sa.Column("household_id", sa.Text, nullable=False, unique=True),
    )


def downgrade() -> None:
    forward_only()
