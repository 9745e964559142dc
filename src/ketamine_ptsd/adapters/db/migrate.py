"""Schema migrations (Alembic), shipped inside the package: one history for both databases.

``upgrade(url)`` is the programmatic API behind ``ketamine-ptsd db upgrade`` and the tests.
"""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .engine import make_engine

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations and ``url``."""
    config = Config()
    location = resources.files("ketamine_ptsd.adapters.db") / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> str:
    """Bring the database at ``url`` to ``revision``; return the revision it is now at."""
    command.upgrade(alembic_config(url), revision)
    return current_revision(url) or ""


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    return head or ""


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (None when never migrated)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
