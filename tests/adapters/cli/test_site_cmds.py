"""``sites add|member|list`` (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.db.migrate import upgrade


def test_sites_from_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite3")
    upgrade(f"sqlite:///{db}")
    run = CliRunner()
    added = run.invoke(
        build_app(),
        ["sites", "add", "YAL", "--name", "Yale", "--time-zone", "America/New_York", "--db", db],
    )
    assert added.exit_code == 0 and "site YAL (Yale, America/New_York) added" in added.output
    bad = run.invoke(
        build_app(),
        ["sites", "add", "BOS", "--name", "Boston", "--time-zone", "Nowhere/Here", "--db", db],
    )
    assert (
        bad.exit_code == 2
        and "time_zone" in bad.output
        and len(bad.output.strip().splitlines()) == 1
    )
    date = run.invoke(
        build_app(),
        [
            "sites",
            "add",
            "BOS",
            "--name",
            "B",
            "--time-zone",
            "UTC",
            "--active-from",
            "1 May",
            "--db",
            db,
        ],
    )
    assert date.exit_code == 2 and "--active-from" in date.output
    user = run.invoke(
        build_app(),
        ["users", "add", "nurse1", "--role", "nurse", "--password-stdin", "--db", db],
        input="a long enough passphrase\n",
    )
    assert user.exit_code == 0, user.output
    member = run.invoke(build_app(), ["sites", "member", "nurse1", "YAL", "--db", db])
    assert member.exit_code == 0 and "nurse1 is a member of YAL" in member.output
    listed = json.loads(run.invoke(build_app(), ["sites", "list", "--json", "--db", db]).output)
    assert listed == [
        {
            "code": "YAL",
            "name": "Yale",
            "time_zone": "America/New_York",
            "active_from": None,
            "active_to": None,
            "members": ["nurse1"],
            "roles": {"nurse1": "nurse"},
        }
    ]
    # a role at the site (issue 17): the nurse is the site's investigator too
    changed = run.invoke(
        build_app(),
        ["sites", "role", "nurse1", "YAL", "investigator", "--reason", "the new PI", "--db", db],
    )
    assert changed.exit_code == 0 and "nurse1 is investigator at YAL" in changed.output
    wrong = run.invoke(
        build_app(),
        ["sites", "role", "nurse1", "YAL", "captain", "--reason", "why not", "--db", db],
    )
    assert wrong.exit_code == 2 and "role" in wrong.output
    assert len(wrong.output.strip().splitlines()) == 1
