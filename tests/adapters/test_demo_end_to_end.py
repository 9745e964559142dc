"""The demo end to end on a fresh database (issue 6): every patient goes through the real
services, the frames extracted from the record equal the generator's, the report holds every
figure and table, and its numbers are the statistics engine's on the extracted dataset.

A small trial (4 per arm, scaled screen failures) keeps this under a minute; the loader and the
extraction are the same code the full 51-patient demo runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.demo_loader import make_demo_trial
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.analysis import AnalysisDataset, analyse
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, ServiceContext, Services
from ketamine_ptsd.simulation.synthetic_dataset import analysis_frames

N_PER_ARM = 4
SEED = 3
FIGURES = ("consort", "figure2", "figure3", "figure4", "safety_infusion")
TABLE_TITLES = (
    "Table 1.",
    "Type 3",
    "responders",
    "Adverse events",
)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        build_app(),
        [
            "demo",
            "--no-serve",
            "--out",
            str(out),
            "--seed",
            str(SEED),
            "--n-per-arm",
            str(N_PER_ARM),
        ],
    )
    assert result.exit_code == 0, result.output
    (out / "stdout.txt").write_text(result.output, encoding="utf-8")
    return out


def _services(out: Path) -> tuple[Services, object]:
    database = open_database(f"sqlite:///{out / 'demo.sqlite3'}")
    return Services(ServiceContext(database.session_factory, protocols=load_protocol)), database


def _statistician(services: Services, username: str) -> Actor:
    users = services.users.list(Actor.system("test"))
    user = next(u for u in users if u.username == username)
    return Actor(user_id=user.id, username=user.username, role=Role.STATISTICIAN)


def test_demo_prints_where_things_are_logins_and_the_worked_example(demo_run: Path) -> None:
    out = (demo_run / "stdout.txt").read_text(encoding="utf-8")
    assert "36 mg" in out and "54 mL/h" in out  # 0.5 mg/kg × 72 kg over 40 min
    assert "FAILS" in out  # third reading above 140/90 holds the infusion (§6)
    assert "total: 48" in out
    for role in Role:
        assert role.value in out
    assert "report.pdf" in out and "demo.sqlite3" in out


def test_report_has_every_figure_and_table(demo_run: Path) -> None:
    report = demo_run / "report"
    html = (report / "index.html").read_text(encoding="utf-8")
    for key in FIGURES:
        assert (report / "figures" / f"{key}.png").stat().st_size > 10_000
        assert f'src="figures/{key}.png"' in html
    for title in TABLE_TITLES:
        assert title.lower() in html.lower()
    assert (report / "report.pdf").read_bytes().startswith(b"%PDF")
    comparison = pd.read_csv(report / "published_vs_this_run.csv")
    assert "CAPS-5 time × treatment F" in set(comparison["figure"])


def test_database_frames_equal_the_generators_frames(demo_run: Path) -> None:
    services, database = _services(demo_run)
    extract = services.datasets.extract(
        _statistician(services, "statistician"), protocol_name="rct"
    )
    database.dispose()  # type: ignore[attr-defined]
    assert extract.unblinding == "full"
    trial, _ = make_demo_trial(SEED, load_protocol("rct"), n_per_arm=N_PER_ARM)
    expected = analysis_frames(trial)
    # Study ids replace the generator's ids in screening order (DEMO-0001 = P001, …).
    ids = {p.patient_id: f"DEMO-{i:04d}" for i, p in enumerate(trial.patients, start=1)}
    for name, frame in expected.items():
        got = extract.frames[name].copy()
        want = frame.copy()
        want["subject"] = want["subject"].map(ids)
        if name == "screening":
            # The record keeps the rules' sentences (and the refusal's reason); the generator
            # the failing criterion ids: every screen failure has a reason in both.
            failed = got["disposition"] == "ineligible"
            assert got.loc[failed, "reason"].notna().all()
            assert failed.sum() == (want["disposition"] == "ineligible").sum()
            got, want = got.drop(columns="reason"), want.drop(columns="reason")
        if name == "adverse_events":  # relatedness: a yes/no in the extract
            want["related"] = want["related"].isin(["possibly", "probably"])
            got, want = got.drop(columns="outcome"), want.drop(columns="outcome")
        keys = [
            c
            for c in want.columns
            if c
            in (
                "subject",
                "time",
                "measure",
                "infusion",
                "minute",
                "day",
                "timing",
                "symptom",
                "term",
            )
        ]
        got = got.sort_values(keys).reset_index(drop=True)
        want = want.sort_values(keys).reset_index(drop=True)[list(got.columns)]
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=name)


def test_report_numbers_are_the_engines_on_the_extracted_dataset(demo_run: Path) -> None:
    services, database = _services(demo_run)
    extract = services.datasets.extract(
        _statistician(services, "statistician"), protocol_name="rct"
    )
    database.dispose()  # type: ignore[attr-defined]
    results = analyse(AnalysisDataset(dict(extract.frames), extract.arms))
    html = (demo_run / "report" / "index.html").read_text(encoding="utf-8")
    caps = results.mmrm["caps5_total"][1]
    interaction = next(t for t in caps.type3 if t.effect == "group:time")
    assert f"{interaction.F:.2f}" in html
    for d in caps.differences:
        assert f"{d.estimate:.2f}" in html
        assert f"{d.d:.2f} ({d.d_ci_low:.2f} to {d.d_ci_high:.2f})" in html
    resp = results.responders.result
    assert resp is not None and f"{resp.chi2_yates:.2f}" in html


def test_report_from_the_database_and_interim_packet_without_arm_names(
    demo_run: Path, tmp_path: Path
) -> None:
    db = str(demo_run / "demo.sqlite3")
    runner = CliRunner()
    final = runner.invoke(build_app(), ["report", "--db", db, "--out", str(tmp_path / "final")])
    assert final.exit_code == 0, final.output
    assert (tmp_path / "final" / "report.pdf").exists()
    interim = runner.invoke(
        build_app(),
        ["report", "--db", db, "--out", str(tmp_path / "dsmb"), "--interim", "--confirm"],
    )
    assert interim.exit_code == 0, interim.output
    html = (tmp_path / "dsmb" / "index.html").read_text(encoding="utf-8").lower()
    assert not re.search(
        r"ketamine|midazolam", html.replace("repeated iv ketamine for chronic ptsd", "")
    )
    pdf = (tmp_path / "dsmb" / "report.pdf").read_bytes().lower()
    assert b"midazolam" not in pdf


def test_a_report_folder_that_cannot_be_written_is_one_line_naming_it(
    demo_run: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = CliRunner().invoke(
        build_app(),
        ["report", "--db", str(demo_run / "demo.sqlite3"), "--out", str(blocker / "report")],
    )
    assert result.exit_code == 2
    assert "error: the report could not be written to" in result.output
    assert str(blocker / "report") in result.output and "Traceback" not in result.output


def test_the_demos_blinding_guesses_give_the_cores_indices_in_the_report(demo_run: Path) -> None:
    """Issue 15: the demo records three guesses per randomized patient at the end of treatment;
    the report's blinding table is the core's Bang and James indices on the recorded counts."""
    from ketamine_ptsd.core.stats.blinding import blinding_indices

    services, database = _services(demo_run)
    extract = services.datasets.extract(
        _statistician(services, "statistician"), protocol_name="rct"
    )
    database.dispose()  # type: ignore[attr-defined]
    guesses = extract.frames["blinding_guesses"]
    assert len(guesses) == 3 * 2 * N_PER_ARM  # every randomized patient
    html = (demo_run / "report" / "index.html").read_text(encoding="utf-8")
    assert 'id="blinding"' in html
    for respondent in ("patient", "outcome_rater", "infusion_nurse"):
        rows = guesses[guesses["respondent"] == respondent]
        counts = tuple(
            tuple(
                int(((rows["arm"] == arm) & (rows["guess"] == g)).sum())
                for g in (*extract.arms, "dont_know")
            )
            for arm in extract.arms
        )
        indices = blinding_indices(extract.arms, counts)
        for bang in indices.bang:
            assert f"Bang {bang.index:.2f}" in html
            assert f"{bang.ci_low:.2f} to {bang.ci_high:.2f}" in html
        assert f"James {indices.james.index:.2f}" in html


def test_the_demo_records_an_early_stop_and_its_witnessed_waste(demo_run: Path) -> None:
    """Issue 12: the demo's record holds one infusion stopped early, with the volume actually
    given, the mg recomputed from it, the reason, and the rest of the bag discarded before a
    witness (controlled-drug accountability)."""
    import sqlite3

    from ketamine_ptsd.adapters.demo_infusion_day import EARLY_STOP_REASON

    with sqlite3.connect(demo_run / "demo.sqlite3") as con:
        rows = con.execute(
            "SELECT stopped_early, early_stop_reason, volume_given_ml, bag_volume_ml, "
            "dose_given_mg, bag_concentration_mg_per_ml, volume_wasted_ml, waste_witnessed_by, "
            "prepared_by FROM drug_administrations WHERE volume_wasted_ml IS NOT NULL"
        ).fetchall()
        stopped = con.execute(
            "SELECT count(*) FROM drug_administrations WHERE stopped_early"
        ).fetchone()[0]
    assert stopped == 1 and len(rows) == 1
    early, reason, given, bag, mg, conc, wasted, witness, _prepared = rows[0]
    assert early and reason == EARLY_STOP_REASON
    assert given < bag and wasted == pytest.approx(bag - given, abs=0.05)
    if conc is not None:
        assert mg == pytest.approx(given * conc, abs=0.05)
    assert witness is not None


def test_the_demo_holds_the_clinic_cohort(demo_run: Path) -> None:
    """Issue 13: after the trial, the demo's clinic staff take a small open-label cohort through
    the series, maintenance (infusion 7), esketamine sessions under the REMS (one form submitted,
    one not, listed for the Today page), self-reports (a PCL-5 rise raising the physician's
    alert) and a lost response (the relapse-watch task); a third patient is screened eligible.
    The trial's own frames and report are checked unchanged by the tests above."""
    from ketamine_ptsd.services.alerts import RELAPSE_WATCH, SYMPTOM_RISE

    out = (demo_run / "stdout.txt").read_text(encoding="utf-8")
    assert "clinic cohort (protocol clinical, site CLN): 3 patients" in " ".join(out.split())
    services, database = _services(demo_run)
    try:
        users = services.users.list(Actor.system("test"))
        user = next(u for u in users if u.username == "clinician")
        clinician = Actor(user_id=user.id, username=user.username, role=Role.CLINICIAN)
        clinic = {
            p.study_id: p
            for p in services.patients.list(clinician)
            if p.protocol_name == "clinical"
        }
        assert {k: p.status for k, p in clinic.items()} == {
            "CLN-0001": "in_maintenance",
            "CLN-0002": "lost_response",
            "CLN-0003": "eligible",
        }
        one, two = clinic["CLN-0001"].id, clinic["CLN-0002"].id
        # the series as full infusion days, each discharged; infusion 7 in maintenance
        days = services.infusions.days(clinician, one)
        assert [d.infusion_number for d in days] == [1, 2, 3, 4, 5, 6, 7]
        assert all(d.discharged_at is not None for d in days)
        plan = services.maintenance.schedule(clinician, one)
        assert [n for n, _ in plan.given] == [7] and plan.next_number == 8
        assert len(services.infusions.days(clinician, two)) == 6
        # esketamine: both sessions discharged, the first form submitted, the second listed
        sessions = services.esketamine.sessions(clinician, two)
        assert [(s.session_number, s.discharged) for s in sessions] == [(1, True), (2, True)]
        assert sessions[0].form_submitted_at is not None
        assert sessions[1].form_submitted_at is None
        assert [
            (f.study_id, f.session_number) for f in services.esketamine.unsubmitted_forms(clinician)
        ] == [("CLN-0002", 2)]
        # self-reports: the second of patient one rose by 10 points or more: an open alert
        reports = services.self_reports.list(clinician, one)
        assert len(reports) == 2 and len(services.self_reports.list(clinician, two)) == 1
        rise = [a for a in services.infusions.alerts(clinician, one, open_only=True)]
        assert [a.kind for a in rise] == [SYMPTOM_RISE]
        relapse = services.infusions.alerts(clinician, two, open_only=True)
        assert [a.kind for a in relapse] == [RELAPSE_WATCH]
    finally:
        database.dispose()  # type: ignore[attr-defined]


def test_the_demo_keeps_the_trial_locked_and_the_clinic_open(
    demo_run: Path, tmp_path: Path
) -> None:
    """After its final report the demo lifts the database lock so the served app's clinic can
    work, having first locked each trial patient's record (issue 17): a trial patient's write
    is refused naming the lock, a clinic patient's goes through (on a copy of the record)."""
    import shutil

    from ketamine_ptsd.services.errors import DatabaseLocked

    shutil.copy(demo_run / "demo.sqlite3", tmp_path / "demo.sqlite3")
    services, database = _services(tmp_path)
    try:
        users = services.users.list(Actor.system("test"))
        user = next(u for u in users if u.username == "investigator")
        md = Actor(user_id=user.id, username=user.username, role=Role.INVESTIGATOR)
        assert services.locks.status(md) is None  # the database is open
        patients = {p.study_id: p for p in services.patients.list(md)}
        with pytest.raises(DatabaseLocked):
            services.patients.void(
                md,
                patients["DEMO-0001"].id,
                reason="trying to change a locked trial patient",
                expected_version=patients["DEMO-0001"].version,
            )
        clinic = services.patients.register(md, protocol_name="clinical", site="CLN")
        assert clinic.study_id.startswith("CLN-")
    finally:
        database.dispose()
