"""Engines and sessions for SQLite (embedded default) and PostgreSQL (multi-user), one URL.

SQLite is opened with WAL (readers do not block the writer), ``synchronous=FULL`` (a committed
clinical record survives a power cut) and ``foreign_keys=ON`` (SQLite leaves them off by
default). pysqlite's own transaction handling is switched off and we emit ``BEGIN`` ourselves
(SQLAlchemy's documented recipe), so a *write* unit of work starts with ``BEGIN IMMEDIATE``: it
takes the write lock first, which serializes writers (the audit chain needs one writer at a time)
and avoids the deadlock-prone upgrade from a read to a write lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ketamine_ptsd.adapters.private_files import ensure_private

from .tables import map_entities

__all__ = ["Database", "make_engine", "open_database"]

_WRITE_OPTION = "ketamine_ptsd_write"
SQLITE_BUSY_TIMEOUT_S = 60.0


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with this project's settings per dialect."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        on_disk = database not in ("", ":memory:") and not database.startswith("file:")
        if on_disk and Path(database).parent.is_dir():
            ensure_private(database)  # 0600 before SQLite creates it (and its -wal, -shm)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise ValueError("PostgreSQL URLs must use psycopg 3: postgresql+psycopg://...")
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@dataclass
class Database:
    """An opened database: the engine and the two session factories (read and write)."""

    url: str
    engine: Engine
    _read: sessionmaker[Session]
    _write: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, *, write: bool) -> Session:
        """A new session; ``write=True`` takes SQLite's write lock at BEGIN."""
        return (self._write if write else self._read)()

    @property
    def session_factory(self) -> Callable[..., Session]:
        """What the service layer's unit of work is given: ``factory(write=bool)``."""
        return self.session

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, **engine_kwargs: Any) -> Database:
    """Open ``url`` (it must already be migrated: see :func:`~.migrate.upgrade`)."""
    map_entities()
    engine = make_engine(url, **engine_kwargs)
    writer = engine.execution_options(**{_WRITE_OPTION: True})
    return Database(
        url=url,
        engine=engine,
        _read=sessionmaker(bind=engine, expire_on_commit=False),
        _write=sessionmaker(bind=writer, expire_on_commit=False),
    )
