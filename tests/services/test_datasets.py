"""Analysis datasets, exports and the blind over every new read (PROTOCOL.md §3, §9, §10).

Canary arms and drugs replace the RCT's (the real rct.yaml otherwise): nothing an outcome rater
or a blinded statistician can read may contain them; the pharmacist's reads do, so the check can
fail.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from service_support import make_context  # type: ignore[import-not-found]
from workflow_support import (  # type: ignore[import-not-found]
    items,
    prise,
    ready_for_infusion,
    screen_rct,
)

from bedside_support import vitals_input  # type: ignore[import-not-found]
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.protocol import Arm
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import PermissionDenied, ServiceError, Services
from ketamine_ptsd.services.assessments import AssessmentInput
from ketamine_ptsd.services.datasets import FRAME_COLUMNS
from ketamine_ptsd.services.infusions import AdverseEventInput, InterventionInput
from ketamine_ptsd.services.screening import DemographicsInput

CANARIES = ("CANARYARMK7Q", "CANARYDRUGK7Q", "CANARYARMM9Z", "CANARYDRUGM9Z")
MONDAY = dt.date(2026, 3, 2)


def canary_protocol(name: str) -> Any:
    rct = load_protocol(name)
    if name != "rct":
        return rct
    return rct.model_copy(
        update={
            "arms": (
                Arm(id=CANARIES[0], drug=CANARIES[1], label="arm 1"),
                Arm(id=CANARIES[2], drug=CANARIES[3], label="arm 2"),
            ),
            "dosing": {CANARIES[1]: rct.dosing["ketamine"], CANARIES[3]: rct.dosing["midazolam"]},
        }
    )


@pytest.fixture
def trial(db, clock, actors):  # type: ignore[no-untyped-def]
    """Two RCT patients on infusion 1, with ratings, vitals, an AE, baseline and week 2."""
    wf = Services(make_context(db, clock, protocols=canary_protocol))
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    rater, safety = actors[Role.OUTCOME_RATER], actors[Role.SAFETY_RATER]
    patients = []
    for k in range(2):
        clock.set(dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC))
        pid = screen_rct(wf, md)
        wf.screening.record_demographics(
            md, pid, DemographicsInput(age_years=30 + k, sex="female", race="White")
        )
        wf.assessments.record(
            rater, pid, AssessmentInput("baseline", "caps5_past_week", MONDAY, items(20, 50))
        )
        wf.assessments.record(
            rater, pid, AssessmentInput("baseline", "madrs", MONDAY, items(10, 30, 6))
        )
        ready_for_infusion(wf, actors, pid, 1)
        wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 70.1 + k))
        clock.set(dt.datetime(2026, 3, 2, 8, 40, tzinfo=dt.UTC))
        wf.infusions.record_vitals(nurse, pid, 1, vitals_input(40, 150, 90, 88, 97))
        wf.infusions.record_rating(
            safety, pid, 1, minute=40, instrument="cadss", items=items(23, 31)
        )
        wf.infusions.record_intervention(
            nurse, pid, 1, InterventionInput("labetalol", 5, "IV", "high BP")
        )
        clock.set(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
        wf.infusions.record_rating(
            safety, pid, 1, minute=120, instrument="prise", items=prise(blurred_vision="tolerable")
        )
        wf.infusions.record_adverse_event(
            nurse,
            pid,
            AdverseEventInput("nausea", MONDAY, False, "mild", "possible", "none", "recovered", 1),
        )
        clock.set(dt.datetime(2026, 3, 16, 9, tzinfo=dt.UTC))
        wf.assessments.record(
            rater,
            pid,
            AssessmentInput(
                "week2", "caps5_past_week", dt.date(2026, 3, 16), items(20, 30 + 8 * k)
            ),
        )
        patients.append(pid)
    return wf, patients


def _everything_readable(wf: Services, actor: Any, patients: list[int]) -> list[Any]:
    calls: list[Callable[[], Any]] = [
        lambda: wf.datasets.extract(actor, protocol_name="rct"),
        lambda: wf.exports.analysis_dataset(actor, protocol_name="rct", fmt="csv"),
        lambda: wf.exports.analysis_dataset(actor, protocol_name="rct", fmt="parquet"),
        lambda: wf.audit.entries(actor, limit=100_000),
        lambda: wf.analysis.dataset(actor, protocol_name="rct"),
    ]
    for p in patients:
        calls += [
            lambda p=p: wf.patients.get(actor, p),
            lambda p=p: wf.screening.decisions(actor, p),
            lambda p=p: wf.screening.visits(actor, p),
            lambda p=p: wf.screening.demographics(actor, p),
            lambda p=p: wf.infusions.days(actor, p),
            lambda p=p: wf.infusions.day(actor, p, 1),
            lambda p=p: wf.infusions.checklists(actor, p),
            lambda p=p: wf.infusions.vitals(actor, p, 1),
            lambda p=p: wf.infusions.interventions(actor, p, 1),
            lambda p=p: wf.infusions.ratings(actor, p, 1),
            lambda p=p: wf.infusions.adverse_events(actor, p),
            lambda p=p: wf.infusions.readiness(actor, p, 1),
            lambda p=p: wf.assessments.list(actor, p),
            lambda p=p: wf.assessments.schedule(actor, p),
            lambda p=p: wf.followup.response(actor, p),
            lambda p=p: wf.followup.durability(actor, p),
            lambda p=p: wf.randomization.allocation(actor, p),
        ]
    seen: list[Any] = []
    for call in calls:
        try:
            result = call()
        except ServiceError as exc:
            seen.append(str(exc))
            continue
        if isinstance(result, list) and result and hasattr(result[0], "content"):
            seen += [f.content for f in result]  # exported bytes, CSV and Parquet alike
        seen.append(result)
    return seen


def _leaks(seen: list[Any]) -> list[str]:
    text = repr(seen)
    return [c for c in CANARIES if c in text]


def test_blinded_roles_read_no_arm_drug_or_rating_in_any_new_read(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, patients = trial
    for role in (Role.OUTCOME_RATER, Role.STATISTICIAN, Role.NURSE, Role.MONITOR):
        assert _leaks(_everything_readable(wf, actors[role], patients)) == [], role
    rater = actors[Role.OUTCOME_RATER]
    seen = repr(_everything_readable(wf, rater, patients))
    assert "RatingView" not in seen and "cadss" not in seen  # §3: no infusion-day ratings
    with pytest.raises(PermissionDenied):
        wf.infusions.ratings(rater, patients[0], 1)
    # the pharmacist does see the drug, so the canary check can fail
    assert _leaks([wf.infusions.day(actors[Role.PHARMACIST], p, 1) for p in patients])


def test_blinded_extract_is_long_format_with_every_measure_and_no_arms(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, _patients = trial
    extract = wf.datasets.extract(actors[Role.STATISTICIAN], protocol_name="rct")
    assert extract.blinded and extract.arms == ()
    for name, columns in FRAME_COLUMNS.items():
        assert tuple(extract.frame(name).columns) == columns
    outcomes = extract.frame("outcomes")
    assert outcomes["arm"].isna().all()
    assert set(outcomes["measure"]) == {
        "caps5_total",
        "caps5_intrusion",
        "caps5_avoidance",
        "caps5_negative_cognitions_mood",
        "caps5_arousal_reactivity",
        "madrs_total",
    }
    assert set(outcomes["time"]) == {"baseline", "week2"}
    subjects = extract.frame("subjects")
    assert list(subjects["age_years"]) == [30, 31]
    assert list(subjects["responder_flag"]) == [True, False]  # 40 % and 24 % below 50
    assert len(extract.frame("durability")) == 1 and set(extract.frame("durability")["event"]) == {
        0
    }
    assert set(extract.frame("side_effects")["symptom"]) == {"blurred_vision"}
    assert set(extract.frame("infusion_ratings")["minute"]) == {0, 40}
    with pytest.raises(ServiceError):
        extract.to_analysis_dataset()


def test_a_partial_sanction_codes_arms_a_b_everywhere_and_exports_are_audited(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, patients = trial
    statistician, admin = actors[Role.STATISTICIAN], actors[Role.ADMINISTRATOR]
    wf.analysis.sanction(
        admin,
        statistician_user_id=statistician.user_id,
        level="partial",
        purpose="interim",
        reason="DSMB interim decision",
        expires_at=clock.now() + dt.timedelta(days=1),
    )
    extract = wf.datasets.extract(statistician, protocol_name="rct")
    assert extract.arms == ("A", "B")
    for name in ("subjects", "outcomes", "vitals", "infusion_ratings", "adverse_events"):
        assert set(extract.frame(name)["arm"]) <= {"A", "B"}, name
    assert extract.to_analysis_dataset().arms == ("A", "B")
    assert _leaks(_everything_readable(wf, statistician, patients)) == []
    files = wf.exports.analysis_dataset(
        statistician, protocol_name="rct", fmt="parquet", frames=("outcomes",)
    )
    back = pd.read_parquet(io.BytesIO(files[0].content))
    assert set(back["arm"]) == {"A", "B"} and files[0].name == "rct_outcomes.parquet"
    csv = wf.exports.analysis_dataset(statistician, protocol_name="rct", frames=("subjects",))
    assert pd.read_csv(io.BytesIO(csv[0].content))["subject"].tolist() == sorted(
        wf.patients.get(statistician, p).study_id for p in patients
    )
    exports = [e for e in wf.audit.entries(admin, limit=100_000) if e.event == "export"]
    assert len(exports) >= 2
    for refused in (Role.OUTCOME_RATER, Role.ADMINISTRATOR, Role.PHARMACIST):
        with pytest.raises(PermissionDenied):
            wf.exports.analysis_dataset(actors[refused], protocol_name="rct")


def test_the_analysis_service_delegates_the_long_format_extract(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, _patients = trial
    frames = wf.analysis.frames(actors[Role.STATISTICIAN], protocol_name="rct")
    assert frames.blinded and set(frames.frames) == set(FRAME_COLUMNS)
