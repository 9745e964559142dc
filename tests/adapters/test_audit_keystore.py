"""The audit key ring kept outside the database: created 0600 beside the SQLite file, refused
when others can read it, taken from the environment secret, rotated without losing old rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.audit_keystore import (
    AUDIT_KEYS_ENV,
    checkpoint_path,
    instance_dir,
    load_keyring,
)
from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.services.audit import KeyringError


def _run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(build_app(), list(args), input=stdin)


def test_the_key_file_is_made_0600_next_to_the_database_and_reused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    ring = load_keyring(url, {})
    path = tmp_path / "audit-keys.json"
    assert instance_dir(url, {}) == tmp_path
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keyring(url, {}).active == ring.active
    assert checkpoint_path(url, {}) == tmp_path / "record.sqlite.audit-checkpoints.jsonl"


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    load_keyring(url, {})
    os.chmod(tmp_path / "audit-keys.json", 0o644)
    with pytest.raises(KeyringError, match="readable by others"):
        load_keyring(url, {})


def test_the_environment_secret_takes_the_place_of_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    secret = load_keyring(f"sqlite:///{tmp_path / 'elsewhere' / 'x.sqlite'}", {}).to_json()
    ring = load_keyring(url, {AUDIT_KEYS_ENV: secret})
    assert ring.to_json() == secret
    assert not (tmp_path / "audit-keys.json").exists()
    with pytest.raises(KeyringError, match="not valid JSON"):
        load_keyring(url, {AUDIT_KEYS_ENV: "not json"})


def test_rotation_keeps_the_rows_of_the_old_key_verifiable(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite")
    assert _run("db", "upgrade", "--db", db).exit_code == 0
    add = ("users", "add", "--role", "nurse", "--password-stdin", "--db", db)
    assert _run(*add[:2], "alice", *add[2:], stdin="a long passphrase\n").exit_code == 0
    old = load_keyring(f"sqlite:///{db}", {}).active_id
    rotated = _run("audit", "rotate-key", "--db", db)
    assert rotated.exit_code == 0, rotated.output
    ring = load_keyring(f"sqlite:///{db}", {})
    assert ring.active_id != old and ring.holds(old)
    assert _run(*add[:2], "bob", *add[2:], stdin="a long passphrase\n").exit_code == 0
    verified = _run("audit", "verify", "--db", db)
    assert verified.exit_code == 0, verified.output
