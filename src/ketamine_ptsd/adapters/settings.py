"""Where the record lives: one database URL from ``--db``, the environment, or the default.

SYSTEM.md §Main commands: the URL comes from ``--db`` or ``KETAMINE_PTSD_DATABASE_URL``; a plain
file path means SQLite; without either, a SQLite file in the user's data directory (platformdirs:
``~/.local/share/ketamine-ptsd`` on Linux). Settings are built in entry points and passed down
(STYLE.md §6); nothing here runs at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = [
    "DATABASE_URL_ENV",
    "Settings",
    "default_database_path",
    "display_url",
    "ensure_sqlite_parent",
    "resolve_database_url",
]

DATABASE_URL_ENV = "KETAMINE_PTSD_DATABASE_URL"
APP_NAME = "ketamine-ptsd"


def default_database_path() -> Path:
    """The SQLite file used when no URL is given."""
    return platformdirs.user_data_path(APP_NAME) / "record.sqlite3"


def _normalise(value: str) -> str:
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {value!r}") from exc
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    if backend == "postgresql" and url.drivername in ("postgresql", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return value


def resolve_database_url(db: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--db`` first, then the environment, then the default SQLite file; ValueError if bad."""
    environ = os.environ if environ is None else environ
    for candidate in (db, environ.get(DATABASE_URL_ENV)):
        if candidate is not None and candidate.strip():
            return _normalise(candidate.strip())
    return f"sqlite:///{default_database_path()}"


def ensure_sqlite_parent(url: str) -> None:
    """Create the directory of a SQLite file (the default data directory may not exist yet)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class Settings:
    """Settings of one running instance (the web app and the CLI build one)."""

    database_url: str

    @classmethod
    def from_sources(
        cls, db: str | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        return cls(database_url=resolve_database_url(db, environ))
