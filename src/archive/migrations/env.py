"""Alembic's environment for the catalog.

At run time archive.migrations passes an open connection (already inside a BEGIN IMMEDIATE
transaction) in `config.attributes["connection"]`; no alembic.ini is read. For a developer's
`alembic` command (see docs/ARCHITECTURE.md, Migrations) the catalog comes from `-x catalog=PATH`.
"""

from alembic import context

from archive.migrations import catalog_engine

config = context.config


def run(connection) -> None:
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
elif context.is_offline_mode():
    context.configure(dialect_name=context.get_x_argument(as_dictionary=True).get("dialect", "sqlite"),
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    catalog = context.get_x_argument(as_dictionary=True).get("catalog")
    if not catalog:
        raise SystemExit("alembic: give the catalog with -x catalog=PATH/catalog.sqlite (or use archive upgrade)")
    engine = catalog_engine(catalog)
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
