"""Database URL resolution (SYSTEM.md §Main commands): --db, then the environment, then the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketamine_ptsd.adapters.settings import (
    DATABASE_URL_ENV,
    default_database_path,
    resolve_database_url,
)


def test_the_flag_wins_over_the_environment() -> None:
    env = {DATABASE_URL_ENV: "postgresql+psycopg://u@h/db"}
    assert resolve_database_url("sqlite:////tmp/x.sqlite", env) == "sqlite:////tmp/x.sqlite"
    assert resolve_database_url(None, env) == "postgresql+psycopg://u@h/db"


def test_a_plain_path_means_sqlite(tmp_path: Path) -> None:
    assert resolve_database_url(str(tmp_path / "r.db"), {}) == f"sqlite:///{tmp_path / 'r.db'}"


def test_without_either_the_user_data_dir_is_used() -> None:
    assert resolve_database_url(None, {}) == f"sqlite:///{default_database_path()}"
    assert default_database_path().parent.name == "ketamine-ptsd"


def test_postgres_urls_get_psycopg3_and_other_databases_are_refused() -> None:
    assert resolve_database_url("postgresql://u@h/db", {}) == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValueError, match="unsupported"):
        resolve_database_url("mysql://u@h/db", {})
