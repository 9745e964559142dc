"""``demo`` and ``report``: the fast checks (the end-to-end run is tests/adapters/test_demo_end_to_end.py)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.cli.main_cmds import WORKED_EXAMPLE, _worked_example
from ketamine_ptsd.adapters.db.migrate import upgrade


def test_worked_example_shows_dose_bp_hold_and_a_scored_caps5(capsys: object) -> None:
    from rich.console import Console

    _worked_example(Console(width=120))
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "36 mg" in out and "54 mL/h" in out  # 0.5 mg/kg × 72 kg over 40 min at 1 mg/mL
    assert "FAILS" in out  # third reading above 140/90 holds the infusion (PROTOCOL.md §6)
    assert "total: 48" in out
    assert len(WORKED_EXAMPLE) == 3


def test_demo_refuses_an_existing_database_file(tmp_path: Path) -> None:
    existing = tmp_path / "record.sqlite3"
    existing.write_bytes(b"")
    result = CliRunner().invoke(
        build_app(), ["demo", "--no-serve", "--db", str(existing), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert "Traceback" not in result.output


def test_report_without_a_sanctioned_statistician_says_so_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "empty.sqlite3"
    upgrade(f"sqlite:///{db}")
    for extra, level in (([], "full"), (["--interim"], "partial")):
        result = CliRunner().invoke(
            build_app(), ["report", "--db", str(db), "--out", str(tmp_path / "r"), *extra]
        )
        assert result.exit_code == 2
        assert f"no statistician holds a live {level} sanction" in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_report_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        build_app(), ["report", "--db", str(tmp_path / "none.sqlite3"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_demo_accounts_end_up_hashed_with_the_production_argon2_parameters(tmp_path: Path) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy import text

    from ketamine_ptsd.adapters.cli.main_cmds import _demo_services
    from ketamine_ptsd.adapters.db.migrate import upgrade
    from ketamine_ptsd.adapters.demo_loader import DEMO_ACCOUNTS, DemoLoader

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    upgrade(url)
    services, clock, database = _demo_services(url, fast_sqlite=True)
    try:
        loader = DemoLoader(services, clock)
        loader.create_accounts(DEMO_ACCOUNTS[:2])
        production = PasswordHasher()

        def hashes() -> list[str]:
            with database.engine.connect() as connection:
                return list(connection.execute(text("SELECT password_hash FROM users")).scalars())

        assert all(production.check_needs_rehash(h) for h in hashes())  # cheap for the replay
        loader.rehash_passwords(production)
        assert not any(production.check_needs_rehash(h) for h in hashes())
        account = DEMO_ACCOUNTS[0]
        assert services.auth.login(account.username, account.password).actor.username == "admin"
    finally:
        database.dispose()
