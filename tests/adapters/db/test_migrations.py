"""The migrations build exactly the models' schema, on SQLite and PostgreSQL, with its guards."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ketamine_ptsd.adapters.db.engine import make_engine, open_database
from ketamine_ptsd.adapters.db.migrate import current_revision, head_revision, upgrade
from ketamine_ptsd.adapters.db.tables import metadata


def test_upgrade_of_an_empty_database_reaches_head_and_matches_the_models(
    empty_db_url: str,
) -> None:
    assert current_revision(empty_db_url) is None
    assert upgrade(empty_db_url) == head_revision() == "0019"
    engine = make_engine(empty_db_url)
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), metadata
        )
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent(db_url: str) -> None:
    assert upgrade(db_url) == "0019"


@pytest.mark.parametrize(
    "statement", ["UPDATE randomization_slots SET arm = 'x'", "DELETE FROM randomization_slots"]
)
def test_the_sealed_list_cannot_be_changed_in_the_database(db_url: str, statement: str) -> None:
    db = open_database(db_url)
    try:
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO randomization_lists (protocol_name, list_version, seed, arms, ratio, block_sizes, strata, slots_per_stratum, digest, generated_at, version) VALUES ('rct', 'v', '1', '[]', '[]', '[]', '[]', 1, 'd', '2026-01-01 00:00:00', 1)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO randomization_slots (list_id, stratum, sequence, block_number, block_size, arm) VALUES (1, 'all', 1, 1, 2, 'ketamine')"
                )
            )
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        db.dispose()


def test_sqlite_runs_with_wal_full_sync_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    upgrade(url)
    db = open_database(url)
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    db.dispose()


def test_the_database_accepts_exactly_the_workflow_states(db_url: str) -> None:
    """Issue 11: patients.status is a workflow state (CHECK on PostgreSQL, triggers on SQLite)."""
    from ketamine_ptsd.core.workflow import PatientState

    db = open_database(db_url)
    try:
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO patients (study_id, protocol_name, mode, blinded, site, status, registered_at, version) VALUES ('ZZZ-9999', 'rct', 'trial', true, 'ZZZ', 'registered', '2026-01-01 00:00:00', 1)"
                )
            )
        for state in PatientState:
            with db.engine.begin() as connection:
                connection.execute(
                    text("UPDATE patients SET status = :s WHERE study_id = 'ZZZ-9999'"),
                    {"s": state.value},
                )
        for bogus in ("in treatment", "eligible ", "ELIGIBLE", "randomised"):
            with pytest.raises(DBAPIError), db.engine.begin() as connection:
                connection.execute(
                    text("UPDATE patients SET status = :s WHERE study_id = 'ZZZ-9999'"),
                    {"s": bogus},
                )
        with pytest.raises(DBAPIError), db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO patients (study_id, protocol_name, mode, blinded, site, status, registered_at, version) VALUES ('ZZZ-9998', 'rct', 'trial', true, 'ZZZ', 'eligibel', '2026-01-01 00:00:00', 1)"
                )
            )
    finally:
        db.dispose()
