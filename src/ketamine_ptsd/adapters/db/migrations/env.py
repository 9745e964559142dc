"""Alembic environment: runs the packaged migrations against the URL given by ``upgrade``."""

from __future__ import annotations

from alembic import context

from ketamine_ptsd.adapters.db.engine import make_engine
from ketamine_ptsd.adapters.db.tables import metadata

config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL given to the migrations")

engine = make_engine(url)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
