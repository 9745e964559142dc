"""``queries sweep`` (issue 17): the edit checks over the record, as a monitor, from the command
line — one line or JSON; a role that may not raise queries, or a wrong password, is one line and
exit 2. (What the sweep finds and raises: tests/services/test_edit_checks.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.db.migrate import upgrade

PASSPHRASE = "a long enough passphrase"


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(build_app(), list(args), input=stdin)


def test_a_sweep_from_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite3")
    upgrade(f"sqlite:///{db}")
    for user, role in (("mon1", "monitor"), ("nurse1", "nurse")):
        added = _run(
            "users", "add", user, "--role", role, "--password-stdin", "--db", db,
            stdin=PASSPHRASE + "\n",
        )  # fmt: skip
        assert added.exit_code == 0, added.output
    swept = _run("queries", "sweep", "--db", db, "--user", "mon1", "--password-stdin",
                 stdin=PASSPHRASE + "\n")  # fmt: skip
    assert swept.exit_code == 0, swept.output
    assert swept.output.strip() == "checked 0 records; raised 0 queries"
    as_json = _run("queries", "sweep", "--db", db, "--user", "mon1", "--password-stdin", "--json",
                   stdin=PASSPHRASE + "\n")  # fmt: skip
    assert json.loads(as_json.output) == {"records_checked": 0, "raised": {}, "total_raised": 0}
    nurse = _run("queries", "sweep", "--db", db, "--user", "nurse1", "--password-stdin",
                 stdin=PASSPHRASE + "\n")  # fmt: skip
    assert nurse.exit_code == 2 and "'nurse1' may not sweep the record" in nurse.output
    assert len(nurse.output.strip().splitlines()) == 1
    wrong = _run("queries", "sweep", "--db", db, "--user", "mon1", "--password-stdin",
                 stdin="not the passphrase\n")  # fmt: skip
    assert wrong.exit_code == 2 and "login failed for 'mon1'" in wrong.output
    assert "Traceback" not in wrong.output
