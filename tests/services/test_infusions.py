"""Infusion days (PROTOCOL.md §3, §4, §6; SYSTEM.md capability 5)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from service_support import PASSWORD  # type: ignore[import-not-found]
from workflow_support import (  # type: ignore[import-not-found]
    items,
    prise,
    ready_for_infusion,
    screen_rct,
    workflow_services,
)

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    ConflictError,
    InfusionHeld,
    PermissionDenied,
    ValidationFailed,
)
from ketamine_ptsd.services.infusions import (
    AdverseEventInput,
    InterventionInput,
    VitalsInput,
)


@pytest.fixture
def wf(db, clock):  # type: ignore[no-untyped-def]
    return workflow_services(db, clock)


@pytest.fixture
def trial(wf, actors):  # type: ignore[no-untyped-def]
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="rct-1", slots_per_stratum=4
    )
    return wf, screen_rct(wf, actors[Role.INVESTIGATOR])


def test_a_bp_above_the_cutoff_holds_the_infusion_and_start_is_refused_with_the_reason(
    trial, actors
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    check = ready_for_infusion(
        wf,
        actors,
        pid,
        1,
        bp_readings=("145/85", "150/88", "142/80"),  # third above 140/90
    )
    assert not check.passed
    assert any("140/90" in r for r in check.hold_reasons)
    with pytest.raises(InfusionHeld) as held:
        wf.infusions.start(actors[Role.INVESTIGATOR], pid, 1, weight_kg=70.0)
    assert any("140/90" in r for r in held.value.reasons)
    assert wf.infusions.days(actors[Role.NURSE], pid) == []
    [recorded] = wf.infusions.checklists(actors[Role.NURSE], pid)
    assert recorded.passed is False  # the hold itself is on record
    with pytest.raises(Exception, match="allocation"):  # nothing allocated by a refused start
        wf.randomization.allocation(actors[Role.PHARMACIST], pid)


def test_infusion_1_allocates_doses_by_weight_and_blinds_the_drug_but_not_the_pump(
    trial, actors
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    assert ready_for_infusion(wf, actors, pid, 1).passed
    with pytest.raises(ConflictError, match="allocation happens on the morning of infusion 1"):
        wf.infusions.start(actors[Role.NURSE], pid, 1, weight_kg=70.1)
    seen = wf.infusions.start(actors[Role.INVESTIGATOR], pid, 1, weight_kg=70.1)
    assert seen.drug == "study drug" and seen.dose_mg is None and seen.dose_arithmetic is None
    # 70.1 kg: the rule gives ketamine 35.1 mL but midazolam 35.0 mL; the blind-safe volume is
    # 0.5 mL/kg in both arms (PROTOCOL.md §3, §4).
    assert (seen.volume_ml, seen.rate_ml_per_h) == (35.1, 52.7)
    pharmacy = wf.infusions.day(actors[Role.PHARMACIST], pid, 1)
    assert pharmacy.drug in {"ketamine", "midazolam"}
    assert pharmacy.dose_mg == {"ketamine": 35.1, "midazolam": 3.159}[pharmacy.drug]
    assert seen.vitals_due_minutes[:3] == (0, 5, 10) and seen.vitals_due_minutes[-1] == 120
    assert wf.randomization.allocation(actors[Role.INVESTIGATOR], pid).treatment == "study drug"
    assert wf.patients.get(actors[Role.NURSE], pid).status == "in_treatment"


def test_the_whole_day_vitals_alerts_intervention_ratings_ae_and_signed_discharge(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse, rater, md = actors[Role.NURSE], actors[Role.SAFETY_RATER], actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1)
    day = wf.infusions.start(md, pid, 1, weight_kg=80)
    clock.advance(dt.timedelta(minutes=20))
    high = wf.infusions.record_vitals(nurse, pid, 1, VitalsInput(20, 186, 104, 96, 97))
    assert any("systolic mmHg 186" in a for a in high.alerts)
    given = wf.infusions.record_intervention(
        nurse, pid, 1, InterventionInput("labetalol", 5, "IV", "systolic 186 during infusion")
    )
    assert (given.drug, given.dose_mg, given.route, given.minute) == ("labetalol", 5.0, "IV", 20)
    with pytest.raises(ValidationFailed) as bad_route:
        wf.infusions.record_intervention(
            nurse, pid, 1, InterventionInput("labetalol", 5, "IVV", "x")
        )
    assert bad_route.value.field == "route"
    clock.advance(dt.timedelta(minutes=20))
    wf.infusions.record_rating(rater, pid, 1, minute=40, instrument="cadss", items=items(23, 20))
    with pytest.raises(ValidationFailed) as wrong_time:
        wf.infusions.record_rating(rater, pid, 1, minute=40, instrument="prise", items=prise())
    assert wrong_time.value.field == "instrument"
    with pytest.raises(PermissionDenied):
        wf.infusions.record_rating(
            nurse, pid, 1, minute=40, instrument="ymrs_item1", items={"1": 0}
        )
    day = wf.infusions.end(nurse, pid, 1, expected_version=day.version)
    clock.advance(dt.timedelta(minutes=50))
    not_yet = wf.infusions.readiness(nurse, pid, 1)
    assert not not_yet.ready
    assert any("observation runs 120 min" in r for r in not_yet.reasons)
    assert any("dissociation not resolved" in r for r in not_yet.reasons)
    clock.advance(dt.timedelta(minutes=30))  # 120 min after start
    wf.infusions.record_rating(rater, pid, 1, minute=120, instrument="cadss", items=items(23, 2))
    wf.infusions.record_rating(
        rater, pid, 1, minute=120, instrument="prise", items=prise(blurred_vision="tolerable")
    )
    wf.infusions.record_vitals(nurse, pid, 1, VitalsInput(120, 130, 84, 74, 98))
    ae = wf.infusions.record_adverse_event(
        nurse,
        pid,
        AdverseEventInput(
            "hypertension",
            dt.date(2026, 3, 2),
            False,
            "mild",
            "probable",
            "labetalol",
            "recovered",
            1,
        ),
    )
    assert ae.relatedness == "probable"
    with pytest.raises(ValidationFailed) as bad_ae:
        wf.infusions.record_adverse_event(
            nurse,
            pid,
            AdverseEventInput(
                "x", dt.date(2026, 3, 2), False, "huge", "probable", "none", "recovered"
            ),
        )
    assert bad_ae.value.field == "severity"
    day = wf.infusions.day(nurse, pid, 1)
    with pytest.raises(PermissionDenied):
        wf.infusions.sign_off_discharge(
            nurse, pid, 1, password=PASSWORD, expected_version=day.version
        )
    with pytest.raises(ConflictError, match="walking unaided"):
        wf.infusions.sign_off_discharge(md, pid, 1, password=PASSWORD, expected_version=day.version)
    findings = wf.infusions.record_discharge_findings(
        nurse,
        pid,
        1,
        expected_version=day.version,
        ambulatory_unaided=True,
        delayed_effects_checked=True,
    )
    assert findings.reasons == ("physician assessment and sign-off outstanding (PROTOCOL.md §6)",)
    done = wf.infusions.sign_off_discharge(
        md, pid, 1, password=PASSWORD, expected_version=findings.version
    )
    assert done.ready and done.discharged_at == clock.now()
    [signature] = wf.signatures.signatures(md, table_name="infusion_days", record_id=day.id)
    assert signature.valid and "discharge" in signature.meaning
    assert wf.audit.verify(actors[Role.ADMINISTRATOR]).ok


def test_infusion_day_ratings_are_hidden_from_outcome_raters(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    ready_for_infusion(wf, actors, pid, 1)
    assert len(wf.infusions.ratings(actors[Role.SAFETY_RATER], pid, 1)) == 4
    for read in (
        lambda: wf.infusions.ratings(actors[Role.OUTCOME_RATER], pid, 1),
        lambda: wf.infusions.checklists(actors[Role.OUTCOME_RATER], pid),
        lambda: wf.infusions.adverse_events(actors[Role.OUTCOME_RATER], pid),
    ):
        with pytest.raises(PermissionDenied):
            read()
    redacted = [
        e
        for e in wf.audit.entries(actors[Role.MONITOR], table_name="infusion_ratings")
        if e.field == "items"
    ]
    assert redacted and all(not e.redacted for e in redacted)  # the monitor may read them


def test_an_infusion_out_of_order_or_twice_is_refused(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    with pytest.raises(ConflictError, match="infusion 1 has not been given"):
        ready_for_infusion(wf, actors, pid, 2)
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(actors[Role.INVESTIGATOR], pid, 1, weight_kg=70)
    with pytest.raises(ConflictError, match="already started"):
        wf.infusions.start(actors[Role.NURSE], pid, 1, weight_kg=70)
    with pytest.raises(ValidationFailed) as bad:
        ready_for_infusion(wf, actors, pid, 7)
    assert bad.value.field in {"infusion_number", "vitals"}


def test_a_vitals_series_stores_each_reading_with_its_own_time_alerts_and_audit_rows(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse = actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    day = wf.infusions.start(actors[Role.INVESTIGATOR], pid, 1, weight_kg=80)
    clock.advance(dt.timedelta(minutes=15))
    before = wf.audit.count(actors[Role.ADMINISTRATOR])
    taken = [day.started_at + dt.timedelta(minutes=m) for m in (5, 10, 15)]
    views = wf.infusions.record_vitals_series(
        nurse,
        pid,
        1,
        [
            VitalsInput(5, 128, 80, 70, 98, measured_at=taken[0]),
            VitalsInput(10, 186, 104, 96, 97, measured_at=taken[1]),  # above §6 thresholds
            VitalsInput(15, 132, 82, 72, 98, measured_at=taken[2]),
        ],
    )
    assert [v.minute for v in views] == [5, 10, 15]
    assert [v.measured_at for v in views] == taken
    assert views[0].alerts == () and views[2].alerts == ()
    assert any("systolic mmHg 186" in a for a in views[1].alerts)
    stored = wf.infusions.vitals(nurse, pid, 1)
    assert [(v.minute, v.systolic_mmhg) for v in stored][1:] == [(5, 128), (10, 186), (15, 132)]
    rows = wf.audit.entries(
        actors[Role.ADMINISTRATOR], table_name="vital_signs", since_seq=before, limit=10_000
    )
    audited_ids = {r.record_id for r in rows if r.event == "insert"}
    assert audited_ids == {str(v.id) for v in views}  # every reading audited on its own
    assert wf.audit.verify(actors[Role.ADMINISTRATOR]).ok


def test_a_vitals_series_with_one_bad_reading_names_it_and_stores_none(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse = actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    day = wf.infusions.start(actors[Role.INVESTIGATOR], pid, 1, weight_kg=80)
    clock.advance(dt.timedelta(minutes=10))
    with pytest.raises(ValidationFailed) as bad:
        wf.infusions.record_vitals_series(
            nurse, pid, 1, [VitalsInput(5, 128, 80, 70, 98), VitalsInput(-5, 128, 80, 70, 98)]
        )
    assert bad.value.field == "readings.2.minute"
    with pytest.raises(ValidationFailed) as future:
        wf.infusions.record_vitals_series(
            nurse,
            pid,
            1,
            [
                VitalsInput(5, 128, 80, 70, 98),
                VitalsInput(
                    30, 128, 80, 70, 98, measured_at=day.started_at + dt.timedelta(minutes=30)
                ),
            ],
        )
    assert future.value.field == "readings.2.measured_at"
    with pytest.raises(ValidationFailed) as empty:
        wf.infusions.record_vitals_series(nurse, pid, 1, [])
    assert empty.value.field == "readings"
    assert [v.minute for v in wf.infusions.vitals(nurse, pid, 1)] == [0]  # only the baseline


def test_the_ratings_form_records_a_time_point_in_one_go_and_refuses_a_repeat(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    rater = actors[Role.SAFETY_RATER]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(actors[Role.INVESTIGATOR], pid, 1, weight_kg=80)
    clock.advance(dt.timedelta(minutes=41))
    form = {
        "cadss": items(23, 20),
        "bprs_positive": {"4": 2, "11": 1, "12": 1, "15": 1},
        "ymrs_item1": {"1": 0},
    }
    views = wf.infusions.record_ratings(rater, pid, 1, minute=40, ratings=form)
    assert [v.instrument for v in views] == list(form)
    assert {v.minute for v in views} == {40}
    assert views[0].total == 20.0  # each instrument scored by its own module
    with pytest.raises(ConflictError, match="already recorded"):
        wf.infusions.record_ratings(rater, pid, 1, minute=40, ratings={"cadss": items(23, 1)})
    with pytest.raises(ValidationFailed) as wrong:
        wf.infusions.record_ratings(
            rater, pid, 1, minute=40, ratings={"cadss": items(23, 1), "prise": prise()}
        )
    assert wrong.value.field == "instrument"
    with pytest.raises(PermissionDenied):
        wf.infusions.record_ratings(
            actors[Role.OUTCOME_RATER], pid, 1, minute=120, ratings={"cadss": items(23, 1)}
        )
    minutes = [r.minute for r in wf.infusions.ratings(rater, pid, 1)]
    assert minutes.count(40) == 3


def test_a_checklist_run_carries_the_findings_as_recorded(trial, actors) -> None:  # type: ignore[no-untyped-def]
    """So the bedside form can be refilled from the record after a reload (PROTOCOL.md §6)."""
    wf, pid = trial
    check = ready_for_infusion(wf, actors, pid, 1, bp_readings=("145/85", "138/80"))
    [stored] = wf.infusions.checklists(actors[Role.MONITOR], pid)
    for view in (check, stored):
        assert view.findings["nil_by_mouth"] is True
        assert view.findings["pregnancy_test"] == "not_applicable"
        assert list(view.findings["urine_toxicology_positive_for"]) == ["marijuana"]
        assert view.findings["bp_readings"] == ["145/85", "138/80"]
        assert view.findings["short_acting_benzodiazepine_taken_this_morning"] is False
        assert view.findings["baseline_vitals_recorded"] is True


def test_discharge_reasons_come_with_one_code_each_in_order(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    """Machine-readable codes beside the text (PROTOCOL.md §6), so no page matches words."""
    wf, pid = trial
    nurse, rater, md = actors[Role.NURSE], actors[Role.SAFETY_RATER], actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(md, pid, 1, weight_kg=80)
    clock.advance(dt.timedelta(minutes=40))
    wf.infusions.record_rating(rater, pid, 1, minute=40, instrument="cadss", items=items(23, 20))
    wf.infusions.record_vitals(nurse, pid, 1, VitalsInput(40, 186, 104, 130, 97))
    early = wf.infusions.readiness(nurse, pid, 1)
    assert len(early.reason_codes) == len(early.reasons)
    coded = dict(zip(early.reasons, early.reason_codes, strict=True))
    assert [coded[r] for r in early.reasons if "observation runs" in r] == ["observation"]
    assert [coded[r] for r in early.reasons if "dissociation not resolved" in r] == ["dissociation"]
    assert [coded[r] for r in early.reasons if "walking unaided" in r] == ["ambulatory"]
    assert [coded[r] for r in early.reasons if "delayed effects" in r] == ["delayed_effects"]
    assert early.reason_codes.count("vital_signs") == 2  # systolic and heart rate alerts
    assert early.reason_codes[-1] == "physician_signoff"
    assert "other" not in early.reason_codes
    clock.advance(dt.timedelta(minutes=80))  # 120 min after start
    wf.infusions.record_rating(rater, pid, 1, minute=120, instrument="cadss", items=items(23, 2))
    wf.infusions.record_vitals(nurse, pid, 1, VitalsInput(120, 130, 84, 74, 98))
    day = wf.infusions.day(nurse, pid, 1)
    findings = wf.infusions.record_discharge_findings(
        nurse,
        pid,
        1,
        expected_version=day.version,
        ambulatory_unaided=True,
        delayed_effects_checked=True,
    )
    assert findings.reason_codes == ("physician_signoff",)
    done = wf.infusions.sign_off_discharge(
        md, pid, 1, password=PASSWORD, expected_version=findings.version
    )
    assert done.ready and done.reason_codes == ()


@settings(max_examples=60, deadline=None)
@given(
    protocol_name=st.sampled_from(["rct", "clinical"]),
    minutes_since_start=st.integers(0, 300),
    ended_after=st.one_of(st.none(), st.integers(0, 60)),
    baseline=st.one_of(st.none(), st.floats(0, 40)),
    latest=st.one_of(st.none(), st.floats(0, 40)),
    walking=st.one_of(st.none(), st.booleans()),
    checked=st.one_of(st.none(), st.booleans()),
    signed=st.booleans(),
    vitals=st.one_of(
        st.none(),
        st.tuples(st.integers(70, 200), st.integers(40, 120), st.integers(40, 140)),
    ),
)
def test_every_discharge_reason_has_a_named_criterion(
    protocol_name: str,
    minutes_since_start: int,
    ended_after: int | None,
    baseline: float | None,
    latest: float | None,
    walking: bool | None,
    checked: bool | None,
    signed: bool,
    vitals: tuple[int, int, int] | None,
) -> None:
    """The core rule names the criterion of each reason it gives (PROTOCOL.md §6): one code
    per reason, and each criterion's code present exactly when its own finding fails."""
    from ketamine_ptsd.adapters.protocol_store import load_protocol
    from ketamine_ptsd.core.rules import (
        DischargeCriterion,
        DischargeFindings,
        VitalSigns,
        discharge_readiness,
        vital_sign_alerts,
    )

    protocol = load_protocol(protocol_name)
    rules = protocol.monitoring.discharge
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    now = start + dt.timedelta(minutes=minutes_since_start)
    end = None
    if ended_after is not None and ended_after <= minutes_since_start:
        end = start + dt.timedelta(minutes=ended_after)
    reading = None if vitals is None else VitalSigns(vitals[0], vitals[1], vitals[2], 97)
    findings = DischargeFindings(
        start, end, now, baseline, latest, walking, checked, signed, reading
    )
    result = discharge_readiness(protocol, findings)
    codes = list(result.codes)
    assert len(codes) == len(result.reasons)
    assert result.ready == (codes == [])
    dissociation_fails = (
        baseline is None
        or latest is None
        or latest - baseline > rules.dissociation_max_points_above_baseline
    )
    assert (DischargeCriterion.DISSOCIATION in codes) == dissociation_fails
    assert (DischargeCriterion.AMBULATORY in codes) == (rules.require_ambulatory and not walking)
    assert (DischargeCriterion.DELAYED_EFFECTS in codes) == (
        rules.require_delayed_effects_check and not checked
    )
    assert (DischargeCriterion.PHYSICIAN_SIGNOFF in codes) == (
        rules.require_physician_signoff and not signed
    )
    alerts = [] if reading is None else vital_sign_alerts(reading, protocol.monitoring.alerts)
    assert codes.count(DischargeCriterion.VITAL_SIGNS) == len(alerts)
    anchor = start if rules.observation_from == "infusion_start" else end
    waiting = anchor is None or now < anchor + dt.timedelta(minutes=rules.observation_minutes)
    assert (DischargeCriterion.OBSERVATION in codes) == waiting


def test_an_adverse_event_followed_up_with_a_reason_and_an_upgrade_to_serious_flagged(
    trial, actors
) -> None:  # type: ignore[no-untyped-def]
    """An AE's outcome and grading change over its course: each change needs the version read
    and a reason; resolution before onset is refused; becoming serious is audited as a serious
    adverse event, as a serious one is when first recorded."""
    wf, pid = trial
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    ae = wf.infusions.record_adverse_event(
        nurse,
        pid,
        AdverseEventInput(
            "chest pain", dt.date(2026, 3, 2), False, "moderate", "possible", "ECG", "not_recovered"
        ),
    )
    with pytest.raises(ValidationFailed) as no_reason:
        wf.infusions.update_adverse_event(
            md, ae.id, expected_version=ae.version, reason=" ", outcome="recovering"
        )
    assert no_reason.value.field == "reason"
    with pytest.raises(ValidationFailed) as early:
        wf.infusions.update_adverse_event(
            md,
            ae.id,
            expected_version=ae.version,
            reason="resolved",
            outcome="recovered",
            resolved_on=dt.date(2026, 3, 1),
        )
    assert early.value.field == "resolved_on"
    with pytest.raises(ValidationFailed) as bad_outcome:
        wf.infusions.update_adverse_event(
            md, ae.id, expected_version=ae.version, reason="x", outcome="better"
        )
    assert bad_outcome.value.field == "outcome"
    upgraded = wf.infusions.update_adverse_event(
        md,
        ae.id,
        expected_version=ae.version,
        reason="admitted overnight for observation",
        outcome="recovering",
        severity="severe",
        serious=True,
    )
    assert (upgraded.serious, upgraded.severity, upgraded.outcome) == (True, "severe", "recovering")
    assert upgraded.version == ae.version + 1
    with pytest.raises(ConflictError, match="changed by someone else"):
        wf.infusions.update_adverse_event(
            md, ae.id, expected_version=ae.version, reason="stale", outcome="recovered"
        )
    trail = wf.audit.entries(actors[Role.ADMINISTRATOR], table_name="adverse_events")
    flagged = [e for e in trail if e.event == "serious_adverse_event"]
    assert [(e.record_id, e.reason) for e in flagged] == [
        (str(ae.id), "admitted overnight for observation")
    ]
    changed = {e.field: (e.old_value, e.new_value) for e in trail if e.event == "update"}
    assert changed["severity"] == ("moderate", "severe") and changed["serious"] == (False, True)
    assert wf.audit.verify(actors[Role.ADMINISTRATOR]).ok
