"""``db lock`` / ``db unlock`` and the final report on a locked record only (issue 17)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ketamine_ptsd.adapters.cli.app import build_app

INVESTIGATOR = ("investigator", "quiet-meadow-demo")  # the demo's accounts (demo_loader.py)


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(build_app(), list(args), input=stdin)


@pytest.fixture(scope="module")
def demo_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    made = _run("demo", "--no-serve", "--out", str(out), "--seed", "3", "--n-per-arm", "2")
    assert made.exit_code == 0, made.output
    return out


@pytest.fixture
def record(demo_record: Path, tmp_path: Path) -> Path:
    """A copy of the demo's folder (database, key ring, checkpoints); returns the database."""
    folder = tmp_path / "instance"
    shutil.copytree(demo_record, folder, ignore=shutil.ignore_patterns("report"))
    return folder / "demo.sqlite3"


def _lock(
    db: Path,
    verb: str,
    reason: str,
    user: str = INVESTIGATOR[0],
    pw: str = INVESTIGATOR[1],
    *extra: str,
) -> Result:
    return _run(
        "db",
        verb,
        "--db",
        str(db),
        "--user",
        user,
        "--reason",
        reason,
        "--password-stdin",
        *extra,
        stdin=pw + "\n",
    )


def test_the_demo_locks_its_record_before_the_final_report(demo_record: Path) -> None:
    html = (demo_record / "report" / "index.html").read_text(encoding="utf-8")
    assert "Data: database locked" in html and "audit head #" in html


def test_lock_and_unlock_from_the_command_line_each_one_line(record: Path, tmp_path: Path) -> None:
    # the demo left its trial patients locked one by one and the database reopened for the
    # clinic: the final report runs on the protocol's patient locks
    kept = _run("report", "--db", str(record), "--out", str(tmp_path / "kept"))
    assert kept.exit_code == 0, kept.output
    html = (tmp_path / "kept" / "index.html").read_text(encoding="utf-8")
    assert "every patient&#39;s record locked" in html and "patients of protocol rct" in html
    # one trial patient's lock lifted: the trial's data are no longer all locked
    lifted = _lock(
        record,
        "unlock",
        "a correction after a monitor's query",
        *INVESTIGATOR,
        "--patient",
        "DEMO-0001",
    )
    assert lifted.exit_code == 0, lifted.output
    # the final report now refuses the record, in one line
    report = _run("report", "--db", str(record), "--out", str(tmp_path / "final"))
    assert report.exit_code == 2
    assert (
        "is not locked: the final (unblinded) analysis runs only on a locked record"
        in report.output
    )
    assert len(report.output.strip().splitlines()) == 1 and "Traceback" not in report.output
    # the DSMB interim does not need the lock
    interim = _run(
        "report", "--db", str(record), "--out", str(tmp_path / "dsmb"), "--interim", "--confirm"
    )
    assert interim.exit_code == 0, interim.output
    locked = _lock(
        record, "lock", "the correction is made; final analysis", *INVESTIGATOR, "--json"
    )
    assert locked.exit_code == 0, locked.output
    view = json.loads(locked.output)
    assert view["locked"] is True and view["locked_by"] == "investigator"
    assert view["reason"] == "the correction is made; final analysis"
    assert view["digest"].startswith("#")
    # a second lock is refused in one line
    again = _lock(record, "lock", "locking a locked record")
    assert again.exit_code == 2 and "lock refused: database: is locked already" in again.output
    assert len(again.output.strip().splitlines()) == 1
    final = _run("report", "--db", str(record), "--out", str(tmp_path / "final"))
    assert final.exit_code == 0, final.output
    html = (tmp_path / "final" / "index.html").read_text(encoding="utf-8")
    assert f"audit head {view['digest']}" in html and "Data: database locked" in html
    unlocked = _lock(record, "unlock", "a correction after a monitor's query")
    assert unlocked.exit_code == 0, unlocked.output
    assert unlocked.output.startswith("database unlocked by investigator")


def test_a_wrong_password_or_another_role_is_refused(record: Path) -> None:
    wrong = _lock(record, "unlock", "a correction is needed now", INVESTIGATOR[0], "not-it")
    assert wrong.exit_code == 2 and "login failed for 'investigator'" in wrong.output
    nurse = _lock(record, "unlock", "a correction is needed now", "nurse", "amber-lantern-demo")
    assert nurse.exit_code == 2
    assert "'nurse' may not unlock the database" in nurse.output
    short = _lock(record, "unlock", "short")
    assert short.exit_code == 2 and "reason" in short.output and "10 characters" in short.output


def test_a_dsmb_interim_is_frozen_and_made_again_byte_for_byte(
    record: Path, tmp_path: Path
) -> None:
    import re
    import sqlite3

    first = _run(
        "report", "--db", str(record), "--out", str(tmp_path / "a"), "--interim", "--confirm"
    )
    assert first.exit_code == 0, first.output
    found = re.search(r"frozen as #(\d+) \(digest ([0-9a-f]{64})\)", first.output)
    assert found is not None, first.output
    number = found.group(1)
    again = _run(
        "report",
        "--db",
        str(record),
        "--out",
        str(tmp_path / "b"),
        "--interim",
        "--confirm",
        "--from-freeze",
        number,
    )
    assert again.exit_code == 0, again.output
    for name in ("index.html", "report.pdf", "figures/consort.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    alone = _run(
        "report", "--db", str(record), "--out", str(tmp_path / "c"), "--from-freeze", number
    )
    assert alone.exit_code == 2 and "give --interim with it" in alone.output
    # a frozen frame altered in the database is refused, not analysed
    connection = sqlite3.connect(record)
    connection.execute(
        "UPDATE data_freeze_frames SET content = x'00' WHERE id = (SELECT min(id) FROM data_freeze_frames)"
    )
    connection.commit()
    connection.close()
    tampered = _run(
        "report",
        "--db",
        str(record),
        "--out",
        str(tmp_path / "d"),
        "--interim",
        "--confirm",
        "--from-freeze",
        number,
    )
    assert tampered.exit_code == 2 and "do not match the digest" in tampered.output


def _unqueried_patient(db: Path) -> str:
    """A study id of the demo with no query that is not closed (a patient lock waits for them)
    and no patient lock (the demo keeps its trial patients locked one by one: a clinic one)."""
    import sqlite3

    connection = sqlite3.connect(db)
    try:
        row = connection.execute(
            "SELECT study_id FROM patients WHERE voided_at IS NULL AND id NOT IN "
            "(SELECT patient_id FROM data_queries WHERE state != 'closed') AND id NOT IN "
            "(SELECT patient_id FROM database_locks WHERE unlocked_at IS NULL "
            "AND patient_id IS NOT NULL) ORDER BY id LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    assert row is not None
    return str(row[0])


def test_one_patients_record_is_locked_and_unlocked_with_patient(record: Path) -> None:
    study = _unqueried_patient(record)
    locked = _lock(
        record, "lock", "last visit done, queries closed", *INVESTIGATOR, "--patient", study
    )
    assert locked.exit_code == 0, locked.output
    assert locked.output.startswith(f"patient {study} locked ") and "audit head #" in locked.output
    assert len(locked.output.strip().splitlines()) == 1
    again = _lock(
        record, "lock", "last visit done, queries closed", *INVESTIGATOR, "--patient", study
    )
    assert again.exit_code == 2 and "is locked already" in again.output
    unlocked = _lock(
        record, "unlock", "a late lab value to enter", *INVESTIGATOR, "--patient", study, "--json"
    )
    assert unlocked.exit_code == 0, unlocked.output
    view = json.loads(unlocked.output)
    assert view["patient"] == study and view["locked"] is False
    assert view["unlock_reason"] == "a late lab value to enter"
    # a patient's lock is not the database's: the database locks apart, its JSON has no
    # "patient" key
    db_again = _lock(record, "lock", "every query closed; lock it", *INVESTIGATOR, "--json")
    assert db_again.exit_code == 0 and "patient" not in json.loads(db_again.output)
    unknown = _lock(
        record, "lock", "last visit done, queries closed", *INVESTIGATOR, "--patient", "ZZZ-0001"
    )
    assert unknown.exit_code == 2 and "lock refused: no patient 'ZZZ-0001'" in unknown.output
    nurse = _lock(
        record,
        "lock",
        "last visit done, queries closed",
        "nurse",
        "amber-lantern-demo",
        "--patient",
        study,
    )
    assert nurse.exit_code == 2 and f"may not lock patient {study}'s record" in nurse.output


def test_the_demo_report_states_the_lock_as_its_data_cut_off(demo_record: Path) -> None:
    import re

    html = (demo_record / "report" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"Data cut-off: \d{4}-\d\d-\d\d \d\d:\d\d UTC \(database lock\)", html)


def test_the_dsmb_packet_waits_for_the_statisticians_confirmation(
    record: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: at a terminal the coded results are revealed only once the DSMB statistician
    confirms (a "no" makes no packet); a script keeps SYSTEM.md's contract (``report
    --interim`` makes the packet) and is told no one confirmed interactively."""
    from ketamine_ptsd.adapters.cli import main_cmds

    monkeypatch.setattr(main_cmds, "stdin_is_terminal", lambda: True)
    refused = CliRunner().invoke(
        build_app(),
        ["report", "--db", str(record), "--out", str(tmp_path / "no"), "--interim"],
        input="n\n",
    )
    assert refused.exit_code == 2 and "not confirmed" in refused.output
    assert not (tmp_path / "no" / "report.pdf").exists()
    monkeypatch.setattr(main_cmds, "stdin_is_terminal", lambda: False)
    scripted = _run("report", "--db", str(record), "--out", str(tmp_path / "s"), "--interim")
    assert scripted.exit_code == 0, scripted.output
    assert "without an interactive confirmation" in scripted.output
    assert (tmp_path / "s" / "report.pdf").exists()
    made = _run(
        "report", "--db", str(record), "--out", str(tmp_path / "yes"), "--interim", "--confirm"
    )
    assert made.exit_code == 0, made.output
    html = (tmp_path / "yes" / "index.html").read_text(encoding="utf-8")
    assert "(DSMB data freeze #" in html  # the packet's cut-off is its freeze
