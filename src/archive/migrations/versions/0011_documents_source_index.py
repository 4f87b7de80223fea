"""An index on a generated original's signed copy: location.COLUMNS looks it up for every listed
document (main, after 805c2a4).

Revision ID: 0011
Revises: 0010
"""

from archive.migrations import ddl

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ddl.create_index("documents_source", "documents", ["source_doc"], where="source_doc IS NOT NULL")


def downgrade() -> None:
    ddl.forward_only()
