"""The documents' revision counter is bumped by the database, not by each UPDATE statement.

`documents.rev` tells the full-text index which rows changed (index.store.sync writes every row
whose `rev` differs from `indexed_rev`). Code used to add `rev = rev + 1` to each UPDATE by hand,
so one forgotten statement left the index stale. Now:
- any UPDATE of a document bumps its `rev`, except the index's own bookkeeping (an update that
  sets `rev` or `indexed_rev` itself);
- any UPDATE of a household, and any change to its members, bumps the `rev` of its documents
  (the index holds the household's head and category and the members' names and ID numbers).
A trigger, unlike a helper function, also covers the web application, the county's workers and
a repair made by hand in SQL.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from archive.migrations.ddl import dialect, forward_only

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_SQLITE = [
    """CREATE TRIGGER documents_rev AFTER UPDATE ON documents
       WHEN NEW.rev IS OLD.rev AND NEW.indexed_rev IS OLD.indexed_rev
       BEGIN UPDATE documents SET rev = OLD.rev + 1 WHERE doc_id = NEW.doc_id; END""",
    """CREATE TRIGGER households_rev AFTER UPDATE ON households
       BEGIN UPDATE documents SET rev = rev + 1 WHERE household_id = NEW.id; END""",
    """CREATE TRIGGER members_rev_insert AFTER INSERT ON members
       BEGIN UPDATE documents SET rev = rev + 1 WHERE household_id = NEW.household_id; END""",
    """CREATE TRIGGER members_rev_delete AFTER DELETE ON members
       BEGIN UPDATE documents SET rev = rev + 1 WHERE household_id = OLD.household_id; END""",
    """CREATE TRIGGER members_rev_update AFTER UPDATE ON members
       BEGIN UPDATE documents SET rev = rev + 1 WHERE household_id IN (OLD.household_id, NEW.household_id); END""",
]

_POSTGRESQL = [
    """CREATE FUNCTION documents_bump_rev() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.rev IS NOT DISTINCT FROM OLD.rev AND NEW.indexed_rev IS NOT DISTINCT FROM OLD.indexed_rev THEN
           NEW.rev := OLD.rev + 1;
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER documents_rev BEFORE UPDATE ON documents
       FOR EACH ROW EXECUTE FUNCTION documents_bump_rev()""",
    """CREATE FUNCTION households_bump_rev() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE documents SET rev = rev + 1 WHERE household_id = NEW.id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER households_rev AFTER UPDATE ON households
       FOR EACH ROW EXECUTE FUNCTION households_bump_rev()""",
    """CREATE FUNCTION members_bump_rev() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN
           UPDATE documents SET rev = rev + 1 WHERE household_id = OLD.household_id;
         END IF;
         IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.household_id IS DISTINCT FROM OLD.household_id) THEN
           UPDATE documents SET rev = rev + 1 WHERE household_id = NEW.household_id;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER members_rev AFTER INSERT OR UPDATE OR DELETE ON members
       FOR EACH ROW EXECUTE FUNCTION members_bump_rev()""",
]


def upgrade() -> None:
    statements = {"sqlite": _SQLITE, "postgresql": _POSTGRESQL}.get(dialect())
    if statements is None:
        raise NotImplementedError(f"no revision counter trigger for {dialect()}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    forward_only()
