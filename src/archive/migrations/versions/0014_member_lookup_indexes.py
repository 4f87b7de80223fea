"""Indexes for the search's roster lookups (issue #15: at a county's 30,000 households each
search scanned the whole members table twice over):
- a name typed is looked up with the names equal to it or one character off it (search/names.py):
  the name itself, and for a differing character at position 1, 2 or later the rest of the name
  (its tail from the 2nd character; its 1st character with its tail from the 3rd; its first two
  characters) — four indexes, the expressions exactly as names.py writes them;
- the last 4 to 6 characters of an ID number (search/engine.py): an 18-character ID number's tail
  by its start position (13, 14, 15), and the few ID numbers of another length in a partial index
  (an ID number itself has the index of its UNIQUE constraint).

Revision ID: 0014
Revises: 0013
"""

from alembic import op

from archive.migrations.ddl import forward_only

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (name, indexed expressions[, partial index condition]); portable SQL: SQLite and PostgreSQL
INDEXES = [
    ("members_name", "name"),
    ("members_name_tail", "substr(name, 2)"),
    ("members_name_ends", "substr(name, 1, 1), substr(name, 3)"),
    ("members_name_head", "substr(name, 1, 2)"),
    ("members_id_last6", "substr(id_number, 13)"),
    ("members_id_last5", "substr(id_number, 14)"),
    ("members_id_last4", "substr(id_number, 15)"),
    ("members_id_other", "id_number", "length(id_number) <> 18"),
]


def upgrade() -> None:
    for name, expressions, *where in INDEXES:
        condition = f" WHERE {where[0]}" if where else ""
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON members ({expressions}){condition}")


def downgrade() -> None:
    forward_only()
