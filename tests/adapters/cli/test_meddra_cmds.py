"""MedDRA end to end on a small demo record (issue 14): an administrator loads the site's release
(a synthetic one in MedDRA's ASCII layout), the study physician codes an adverse event (roles
checked, coder and date stored, the coding audited), the uncoded list shrinks, and SDTM AE and
ADAE carry AEDECOD = the PT and AEBODSYS = the primary SOC."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.cli.main_cmds import _demo_services, _grant_sanctions
from ketamine_ptsd.adapters.db.migrate import upgrade
from ketamine_ptsd.adapters.demo_loader import DemoLoader, list_version_for, make_demo_trial

FIXTURE = Path(__file__).parents[2] / "fixtures" / "meddra_synthetic"
PASSWORDS = {
    "admin": "blue-harbour-demo",
    "investigator": "quiet-meadow-demo",
    "statistician": "granite-river-demo",
    "nurse": "amber-lantern-demo",
}


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("meddra") / "record.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    services, clock, database = _demo_services(url, fast_sqlite=True)
    try:
        protocol = services.context.protocol("rct")
        trial, list_seed = make_demo_trial(5, protocol, n_per_arm=2)
        loader = DemoLoader(services, clock)
        clock.set(dt.datetime.combine(trial.config.start_date, dt.time(8), tzinfo=dt.UTC))
        loader.create_accounts()
        loader.load(trial, list_seed=list_seed, list_version=list_version_for(5))
        _grant_sanctions(loader, clock)
    finally:
        database.dispose()
    return path


def _cli(record: Path, user: str, *args: str) -> object:
    return CliRunner().invoke(
        build_app(),
        [*args, "--db", str(record), "--user", user, "--password-stdin", "--json"],
        input=f"{PASSWORDS[user]}\n",
    )


def _uncoded(record: Path) -> list[dict[str, object]]:
    result = _cli(record, "statistician", "meddra", "uncoded")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout)["uncoded"])


def test_load_code_and_export(record: Path, tmp_path: Path) -> None:
    # Only an administrator loads a release.
    refused = _cli(record, "investigator", "meddra", "load", str(FIXTURE))
    assert refused.exit_code == 2 and "meddra.load" in refused.stderr
    loaded = _cli(record, "admin", "meddra", "load", str(FIXTURE))
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout) == {"release": "0.0 SYNTHETIC", "terms": 5}

    before = _uncoded(record)
    assert before, "the demo record has adverse events"
    target = int(before[0]["adverse_event_id"])  # type: ignore[arg-type]
    # Only the study physician codes; a non-current or unknown LLT is refused, naming it.
    nurse = _cli(record, "nurse", "meddra", "code", str(target), "90000004")
    assert nurse.exit_code == 2 and "adverse_event.code" in nurse.stderr
    old = _cli(record, "investigator", "meddra", "code", str(target), "90000005")
    assert old.exit_code == 2 and "llt_code" in old.stderr and "non-current" in old.stderr
    unknown = _cli(record, "investigator", "meddra", "code", str(target), "123")
    assert unknown.exit_code == 2 and "llt_code" in unknown.stderr
    coded = _cli(record, "investigator", "meddra", "code", str(target), "90000004")
    assert coded.exit_code == 0, coded.output
    assert json.loads(coded.stdout)["pt"] == [90001003, "Hypertension synthetic PT"]

    after = _uncoded(record)
    assert len(after) == len(before) - 1
    assert target not in {row["adverse_event_id"] for row in after}

    with sqlite3.connect(record) as db:
        coded_by, coded_at = db.execute(
            "select u.username, c.coded_at from adverse_event_codings c "
            "join users u on u.id = c.coded_by where c.adverse_event_id = ?",
            (target,),
        ).fetchone()
        audited = db.execute(
            "select count(*) from audit_log where table_name = 'adverse_event_codings' "
            "and field = 'pt_name' and new_value like '%Hypertension synthetic PT%'"
        ).fetchone()[0]
        loads = db.execute("select count(*) from audit_log where event = 'meddra_load'").fetchone()
    assert coded_by == "investigator" and coded_at
    assert audited == 1 and loads[0] == 1

    for fmt in ("sdtm", "adam"):
        out = tmp_path / fmt
        result = CliRunner().invoke(
            build_app(),
            ["export", "--db", str(record), "--format", fmt, "--out", str(out),
             "--user", "statistician", "--password-stdin"],
            input=f"{PASSWORDS['statistician']}\n",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        name = "ae" if fmt == "sdtm" else "adae"
        frame = pd.read_sas(out / f"{name}.xpt", format="xport", encoding="latin-1")
        coded_rows = frame[frame["AEBODSYS"] != ""]
        assert len(coded_rows) == 1
        row = coded_rows.iloc[0]
        assert row["AEDECOD"] == "Hypertension synthetic PT"
        assert row["AEBODSYS"] == "Vascular disorders synthetic SOC"
        assert row["AELLTCD"] == 90000004 and row["AEPTCD"] == 90001003
        uncoded = frame[frame["AEBODSYS"] == ""]
        assert (uncoded["AEDECOD"] == uncoded["AETERM"].str.upper()).all()


def test_another_sites_user_neither_sees_nor_codes_its_events(record: Path) -> None:
    """Issue 17's sites: an investigator of another site gets an empty list and "not found"."""
    from ketamine_ptsd.adapters.cli.admin_cmds import open_services
    from ketamine_ptsd.core.roles import Role
    from ketamine_ptsd.services import Actor, NotFound

    assert _cli(record, "admin", "meddra", "load", str(FIXTURE)).exit_code == 0
    services, database = open_services(f"sqlite:///{record}")
    try:
        central = services.auth.login("investigator", PASSWORDS["investigator"]).actor
        elsewhere = Actor(central.user_id, central.username, Role.INVESTIGATOR, frozenset({"ZZZ"}))
        with sqlite3.connect(record) as db:
            [event_id] = db.execute("select min(id) from adverse_events").fetchone()
        coded = services.meddra.codings(central, protocol_name="rct")
        if coded.empty:
            services.meddra.code(central, event_id, 90000003)
        else:  # coded by the test above: a recoding needs a reason
            from ketamine_ptsd.services import ValidationFailed

            with pytest.raises(ValidationFailed) as no_reason:
                services.meddra.code(central, event_id, 90000003)
            assert no_reason.value.field == "reason"
            services.meddra.code(central, event_id, 90000003, reason="verbatim re-read")
        assert not services.meddra.codings(central, protocol_name="rct").empty
        assert services.meddra.codings(elsewhere, protocol_name="rct").empty
        assert services.meddra.uncoded(elsewhere, protocol_name="rct") == []
        with pytest.raises(NotFound):
            services.meddra.code(elsewhere, event_id, 90000001)
    finally:
        database.dispose()
