"""Shared fixtures: a migrated database per test, on SQLite and on PostgreSQL.

``db_url`` is parametrised over SQLite (a file in the test's tmp dir) and PostgreSQL (a fresh
database per test, copied from a migrated template made once per test worker, dropped after the
test). PostgreSQL is found at ``KETAMINE_PTSD_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); when it is not reachable the
PostgreSQL variants are skipped with that reason — except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_admin_url() -> str:
    return os.environ.get("KETAMINE_PTSD_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)


def _postgres_problem() -> str | None:
    url = _postgres_admin_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL server at {url} ({type(exc).__name__}); set KETAMINE_PTSD_TEST_POSTGRES_URL"
    return None


@pytest.fixture(scope="session")
def _postgres_template(worker_id: str) -> Iterator[str]:
    """A migrated template database for this test worker; yields its name."""
    problem = _postgres_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    from ketamine_ptsd.adapters.db.migrate import upgrade

    admin_url = make_url(_postgres_admin_url())
    name = f"ketamine_tpl_{worker_id}_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(admin_url.set(database=name).render_as_string(hide_password=False))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    from ketamine_ptsd.adapters.db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a freshly migrated, empty database of its own for this test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "record.sqlite"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("_postgres_template")
    admin_url = make_url(_postgres_admin_url())
    name = f"ketamine_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, db_url: str) -> str:
    """Like ``db_url`` but never migrated (for migration tests): the schema is dropped first."""
    from alembic import command

    from ketamine_ptsd.adapters.db.migrate import alembic_config

    command.downgrade(alembic_config(db_url), "base")
    return db_url


@pytest.fixture
def start_time() -> dt.datetime:
    """A fixed, timezone-aware moment: Monday 2 March 2026, 08:00 UTC (an infusion morning)."""
    return dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """xdist's worker id ("master" without xdist); overridden by xdist when it is active."""
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


@pytest.fixture(autouse=True)
def _private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user data directory (default database, PostgreSQL's audit key ring and checkpoints)
    in a temporary folder, never the real one (platformdirs follows ``XDG_DATA_HOME``)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    monkeypatch.delenv("KETAMINE_PTSD_INSTANCE_DIR", raising=False)
    monkeypatch.delenv("KETAMINE_PTSD_AUDIT_KEYS", raising=False)
