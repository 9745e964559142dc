"""``export`` and ``import long`` end to end on a small record built by the demo loader: the
login is real (wrong password, wrong role refused), the blind is the user's own sanction, every
export is an audit event, and an imported long CSV comes back as a report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.cli.main_cmds import _demo_services, _grant_sanctions
from ketamine_ptsd.adapters.db.migrate import upgrade
from ketamine_ptsd.adapters.demo_loader import DemoLoader, list_version_for, make_demo_trial
from ketamine_ptsd.services import Actor
from ketamine_ptsd.services.datasets import FRAME_COLUMNS

BLIND_PASSWORD = "blinded-statistician-pass"


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-per-arm demo record with a full (statistician), a partial (dsmb.statistician) and
    no sanction (blind.statistician), and the demo's open-label clinic cohort beside the trial
    (issue 13: its patients' drug is named openly; the blinded exports must still name none)."""
    from ketamine_ptsd.adapters.demo_clinic import clinic_anchor

    path = tmp_path_factory.mktemp("record") / "record.sqlite3"
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
        loader.load_clinic(clinic_anchor(dt.date.today()))
        _grant_sanctions(loader, clock)
        services.users.add(
            Actor.system("test"),
            username="blind.statistician",
            role="statistician",
            password=BLIND_PASSWORD,
            full_name="Blake Blinded",
        )
    finally:
        database.dispose()
    return path


def _export(record: Path, out: Path, fmt: str, user: str, password: str) -> object:
    return CliRunner().invoke(
        build_app(),
        [
            "export",
            "--db",
            str(record),
            "--format",
            fmt,
            "--out",
            str(out),
            "--user",
            user,
            "--password-stdin",
            "--json",
        ],
        input=f"{password}\n",
    )


def _audit_exports(record: Path) -> int:
    import sqlite3

    with sqlite3.connect(record) as db:
        return int(
            db.execute("select count(*) from audit_log where event = 'export'").fetchone()[0]
        )


def test_full_sanction_sdtm_export_names_the_arms_and_is_audited(
    record: Path, tmp_path: Path
) -> None:
    before = _audit_exports(record)
    result = _export(record, tmp_path, "sdtm", "statistician", "granite-river-demo")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [f["name"] for f in summary["files"]] == [
        *(
            f"{domain}.{ext}"
            for domain in ("dm", "ex", "vs", "qs", "ae", "ds", "sv")
            for ext in ("csv", "xpt")
        ),
        "define.xml",
    ]
    ex = pd.read_csv(tmp_path / "ex.csv")
    assert set(ex["EXTRT"]) == {"KETAMINE", "MIDAZOLAM"}
    qs = pd.read_csv(tmp_path / "qs.csv", keep_default_na=False)
    assert (qs["QSDTC"] != "").all()  # dates come from the record
    assert _audit_exports(record) == before + 1


def test_full_sanction_adam_export_is_audited_and_reads_back(record: Path, tmp_path: Path) -> None:
    """ADaM from the record (issue 14): ADSL one row per randomized patient, ADQS with the
    record's dates, define.xml naming every dataset written."""
    import xml.etree.ElementTree as ET

    before = _audit_exports(record)
    result = _export(record, tmp_path, "adam", "statistician", "granite-river-demo")
    assert result.exit_code == 0, result.output
    names = [f["name"] for f in json.loads(result.stdout)["files"]]
    assert names == [
        *(f"{d}.{ext}" for d in ("adsl", "adqs", "adtte", "adae") for ext in ("csv", "xpt")),
        "define.xml",
    ]
    adsl = pd.read_sas(tmp_path / "adsl.xpt", format="xport", encoding="latin-1")
    assert len(adsl) == 4 and (adsl["ITTFL"] == "Y").all()
    assert adsl["TRT01P"].str.contains("Ketamine|Midazolam").all()
    adqs = pd.read_csv(tmp_path / "adqs.csv", keep_default_na=False)
    assert (adqs.loc[adqs["ANL01FL"] == "Y", "ADT"] != "").all()
    define = ET.parse(tmp_path / "define.xml").getroot()
    groups = {g.get("Name") for g in define.iter("{http://www.cdisc.org/ns/odm/v1.3}ItemGroupDef")}
    assert groups == {"ADSL", "ADQS", "ADTTE", "ADAE"}
    assert _audit_exports(record) == before + 1


@pytest.mark.parametrize("fmt", ["sdtm", "adam", "redcap", "fhir", "csv"])
def test_unsanctioned_statistician_exports_carry_no_arm_or_drug(
    record: Path, tmp_path: Path, fmt: str
) -> None:
    result = _export(record, tmp_path, fmt, "blind.statistician", BLIND_PASSWORD)
    assert result.exit_code == 0, result.output
    for path in tmp_path.iterdir():
        encoding = "latin-1" if path.suffix == ".xpt" else "utf-8"  # XPT: binary, ASCII text
        text = path.read_text(encoding=encoding).lower().replace("ketamine-ptsd", "")
        assert "ketamine" not in text and "midazolam" not in text, path.name
    if fmt == "sdtm":
        assert set(pd.read_csv(tmp_path / "ex.csv")["EXTRT"]) == {"STUDY DRUG"}
        assert pd.read_csv(tmp_path / "dm.csv")["ARM"].isna().all()


def test_partial_sanction_fhir_export_is_valid_and_coded(record: Path, tmp_path: Path) -> None:
    from ketamine_ptsd.adapters.interop import fhir

    result = _export(record, tmp_path, "fhir", "dsmb.statistician", "maple-beacon-demo")
    assert result.exit_code == 0, result.output
    bundle = json.loads((tmp_path / "bundle.json").read_text(encoding="utf-8"))
    assert fhir.validate_bundle(bundle) == []
    assert "midazolam" not in json.dumps(bundle).lower()


def test_wrong_password_and_wrong_role_are_refused_in_one_line(
    record: Path, tmp_path: Path
) -> None:
    before = _audit_exports(record)
    bad = _export(record, tmp_path, "sdtm", "statistician", "not-the-password")
    assert bad.exit_code == 2
    assert bad.stderr.strip() == "error: login failed for 'statistician'"
    rater = _export(record, tmp_path, "redcap", "rater", "copper-kettle-demo")
    assert rater.exit_code == 2
    assert "may not export" in rater.stderr and "Traceback" not in rater.output
    unknown = _export(record, tmp_path, "xml", "statistician", "granite-river-demo")
    assert unknown.exit_code == 2 and "--format must be one of" in unknown.stderr
    assert _audit_exports(record) == before
    assert not list(tmp_path.iterdir())


def test_import_long_analyses_an_exported_dataset_and_writes_the_report(
    record: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "csv"
    assert _export(record, exported, "csv", "statistician", "granite-river-demo").exit_code == 0
    outcomes = pd.read_csv(exported / "rct_outcomes.csv").rename(
        columns={"subject": "patient", "arm": "treatment", "time": "visit"}
    )
    data = tmp_path / "site.csv"
    outcomes.to_csv(data, index=False)
    out = tmp_path / "analysis"
    result = CliRunner().invoke(
        build_app(),
        [
            "import",
            "long",
            str(data),
            "--subject",
            "patient",
            "--group",
            "treatment",
            "--time",
            "visit",
            "--measure",
            "measure",
            "--value",
            "value",
            "--group-order",
            "ketamine,midazolam",
            "--time-order",
            "baseline,h24,week1,week2",
            "--measures",
            "caps5_total,caps5_intrusion,caps5_avoidance,"
            "caps5_negative_cognitions_mood,caps5_arousal_reactivity,madrs_total,cgi_s,cgi_i,"
            "ies_r_24h,madrs_24h",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_subjects"] == 4 and summary["arms"] == ["ketamine", "midazolam"]
    assert "caps5_total" in summary["analysed"]
    assert (out / "index.html").exists() and (out / "report.pdf").exists()
    assert (out / "dataset" / "outcomes.csv").exists()


def test_import_long_error_is_one_line_with_the_row(tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("id,arm,t,m,v\na,x,0,caps,10\na,x,1,caps,high\n", encoding="utf-8")
    result = CliRunner().invoke(
        build_app(),
        [
            "import",
            "long",
            str(data),
            "--subject",
            "id",
            "--group",
            "arm",
            "--time",
            "t",
            "--measure",
            "m",
            "--value",
            "v",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {data}: v: row 3: value 'high' is not a number"


def test_odm_export_of_the_record_imports_back_to_the_same_analysis_frames(
    record: Path, tmp_path: Path
) -> None:
    """Issue 14: export --format odm → import odm → every analysis frame equals the record's
    own extract (export --format csv), and the report is written from it."""
    csv_dir, odm_dir, out = tmp_path / "csv", tmp_path / "odm", tmp_path / "imported"
    assert _export(record, csv_dir, "csv", "statistician", "granite-river-demo").exit_code == 0
    exported = _export(record, odm_dir, "odm", "statistician", "granite-river-demo")
    assert exported.exit_code == 0, exported.output
    result = CliRunner().invoke(
        build_app(), ["import", "odm", str(odm_dir / "odm.xml"), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["arms"] == ["ketamine", "midazolam"] and "caps5_total" in summary["analysed"]
    assert (out / "index.html").exists()
    for path in sorted(csv_dir.glob("rct_*.csv")):
        frame = path.stem.removeprefix("rct_")
        if frame not in FRAME_COLUMNS:
            # the end-of-treatment blinding guesses (issue 15) are in a sanctioned CSV export
            # but not in the interop converters' frames, so ODM does not carry them
            continue
        expected = pd.read_csv(path, dtype=str, keep_default_na=False)
        got = pd.read_csv(out / "dataset" / f"{frame}.csv", dtype=str, keep_default_na=False)
        assert list(got.columns) == list(expected.columns), frame
        key = list(expected.columns)
        pd.testing.assert_frame_equal(
            got.sort_values(key).reset_index(drop=True),
            expected.sort_values(key).reset_index(drop=True),
            obj=frame,
        )


def test_import_odm_refuses_a_file_that_is_not_odm_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "not.xml"
    data.write_text("<html/>", encoding="utf-8")
    result = CliRunner().invoke(
        build_app(), ["import", "odm", str(data), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "ODMVersion" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("user", "password", "arms"),
    [
        ("statistician", "granite-river-demo", ["ketamine", "midazolam"]),
        ("blind.statistician", BLIND_PASSWORD, []),
    ],
)
def test_redcap_export_of_the_record_imports_back_to_the_same_analysis_frames(
    record: Path, tmp_path: Path, user: str, password: str, arms: list[str]
) -> None:
    """Issue 14: export --format redcap → import redcap (records + dictionary) → every analysis
    frame equals the record's own extract for that user (export --format csv); the report is
    written when the export names arms, and a blinded export is imported, not analysed."""
    csv_dir, redcap_dir, out = tmp_path / "csv", tmp_path / "redcap", tmp_path / "imported"
    assert _export(record, csv_dir, "csv", user, password).exit_code == 0
    exported = _export(record, redcap_dir, "redcap", user, password)
    assert exported.exit_code == 0, exported.output
    result = CliRunner().invoke(
        build_app(),
        [
            "import",
            "redcap",
            str(redcap_dir / "records.csv"),
            "--dictionary",
            str(redcap_dir / "data_dictionary.csv"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["arms"] == arms
    assert ("caps5_total" in summary["analysed"]) == bool(arms)
    assert (out / "index.html").exists() == bool(arms)
    for path in sorted(csv_dir.glob("rct_*.csv")):
        frame = path.stem.removeprefix("rct_")
        if frame not in FRAME_COLUMNS:
            continue  # the blinding guesses (issue 15): not carried by REDCap, as for ODM
        expected = pd.read_csv(path, dtype=str, keep_default_na=False)
        got = pd.read_csv(out / "dataset" / f"{frame}.csv", dtype=str, keep_default_na=False)
        assert list(got.columns) == list(expected.columns), frame
        key = list(expected.columns)
        pd.testing.assert_frame_equal(
            got.sort_values(key).reset_index(drop=True),
            expected.sort_values(key).reset_index(drop=True),
            obj=frame,
        )


def test_import_redcap_error_is_one_line_naming_file_row_and_column(tmp_path: Path) -> None:
    records = tmp_path / "records.csv"
    records.write_text("record_id,redcap_event_name,n_infusions\nP1,enrolment_arm_1,six\n")
    dictionary = tmp_path / "dict.csv"
    pd.DataFrame(
        {
            "Variable / Field Name": ["record_id", "n_infusions"],
            "Form Name": ["subject", "treatment"],
            "Field Type": ["text", "text"],
            "Choices, Calculations, OR Slider Labels": ["", ""],
        }
    ).to_csv(dictionary, index=False)
    result = CliRunner().invoke(
        build_app(),
        [
            "import",
            "redcap",
            str(records),
            "--dictionary",
            str(dictionary),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {records}: row 2, column 'n_infusions': 'six' is not an integer"
    )


@pytest.mark.parametrize("fmt", ["sdtm", "adam", "odm", "redcap", "fhir", "csv"])
def test_names_and_birth_dates_never_leave_in_an_export(
    record: Path, tmp_path: Path, fmt: str
) -> None:
    """Issue 12: the two identifiers the bedside checks (name, date of birth; PROTOCOL.md §12)
    are protected identifiers of ``patient_identities``: the pseudonymous exports carry the
    study id only, even under a full sanction."""
    import sqlite3

    with sqlite3.connect(record) as db:
        identities = db.execute(
            "select family_name, given_name, date_of_birth from patient_identities"
        ).fetchall()
    assert identities and all(born for _, _, born in identities)
    result = _export(record, tmp_path, fmt, "statistician", "granite-river-demo")
    assert result.exit_code == 0, result.output
    texts = {
        path.name: path.read_text(encoding="latin-1" if path.suffix == ".xpt" else "utf-8")
        for path in tmp_path.iterdir()
    }
    for family, given, born in identities:
        year, month, day = str(born)[:10].split("-")
        for text_ in texts.values():
            assert family not in text_ and given not in text_
            assert str(born)[:10] not in text_ and f"{year}{month}{day}" not in text_
