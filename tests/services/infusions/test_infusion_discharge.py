"""Discharge readiness and the physician's sign-off (PROTOCOL.md §6; services/infusions/discharge.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from service_support import PASSWORD  # type: ignore[import-not-found]
from workflow_support import (  # type: ignore[import-not-found]
    items,
    ready_for_infusion,
)

from bedside_support import (  # type: ignore[import-not-found]
    acknowledge_open_alerts,
    after_infusion_ratings,
    day_ready_for_signoff,
    vitals_input,
    vitals_until,
)
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed


def test_discharge_reasons_come_with_one_code_each_in_order(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    """Machine-readable codes beside the text (PROTOCOL.md §6), so no page matches words."""
    wf, pid = trial
    nurse, rater, md = actors[Role.NURSE], actors[Role.SAFETY_RATER], actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    vitals_until(wf, nurse, clock, pid, 1, 35)
    clock.advance(dt.timedelta(minutes=5))
    wf.infusions.record_rating(rater, pid, 1, minute=40, instrument="cadss", items=items(23, 20))
    wf.infusions.record_vitals(nurse, pid, 1, vitals_input(40, 186, 104, 130, 97))
    early = wf.infusions.readiness(nurse, pid, 1)
    assert len(early.reason_codes) == len(early.reasons)
    coded = dict(zip(early.reasons, early.reason_codes, strict=True))
    assert early.reason_codes[0] == "infusion_end"
    assert [coded[r] for r in early.reasons if "observation runs" in r] == ["observation"]
    assert [coded[r] for r in early.reasons if "dissociation not resolved" in r] == ["dissociation"]
    assert [coded[r] for r in early.reasons if "walking unaided" in r] == ["ambulatory"]
    assert [coded[r] for r in early.reasons if "delayed effects" in r] == ["delayed_effects"]
    assert early.reason_codes.count("psychiatric") == 2  # BPRS+ and YMRS 1 not rated after
    assert early.reason_codes.count("vital_signs") == 2  # systolic and heart rate alerts
    assert early.reason_codes.count("alerts_unacknowledged") == 2  # both, not yet owned (§12)
    assert "vitals_missing" not in early.reason_codes  # every reading so far is on time
    assert early.reason_codes[-1] == "physician_signoff"
    assert "other" not in early.reason_codes
    day = wf.infusions.end(nurse, pid, 1, expected_version=wf.infusions.day(nurse, pid, 1).version)
    vitals_until(wf, nurse, clock, pid, 1, 120)
    wf.infusions.record_ratings(
        rater,
        pid,
        1,
        minute=120,
        ratings={"cadss": items(23, 2), **after_infusion_ratings()},
    )
    assert acknowledge_open_alerts(wf, nurse, clock, pid) == 1
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


def test_discharge_needs_the_recorded_end_not_the_start(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 4: the RCT counted observation from the start, so an infusion never ended
    could be discharged. The end is a guard of the discharge event (PROTOCOL.md §6, §12)."""
    wf, pid = trial
    md, nurse = actors[Role.INVESTIGATOR], actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    view = day_ready_for_signoff(wf, actors, clock, pid, 1, end=False)
    assert view.reason_codes == ("infusion_end", "physician_signoff")
    with pytest.raises(ConflictError, match="end of the infusion is not recorded") as refused:
        wf.infusions.sign_off_discharge(
            md, pid, 1, password=PASSWORD, expected_version=view.version
        )
    assert "§12" in str(refused.value)
    assert wf.infusions.day(nurse, pid, 1).discharged_at is None
    day = wf.infusions.end(nurse, pid, 1, expected_version=view.version)
    done = wf.infusions.sign_off_discharge(
        md, pid, 1, password=PASSWORD, expected_version=day.version
    )
    assert done.discharged_at == clock.now()


def test_every_scheduled_reading_is_present_or_explained(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 4: 11 of 15 readings missing did not keep anyone. Now a missing minute
    refuses the discharge, naming it; "missed" with a reason explains it (PROTOCOL.md §6)."""
    wf, pid = trial
    md, nurse = actors[Role.INVESTIGATOR], actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    with pytest.raises(ValidationFailed) as not_due:
        wf.infusions.record_missed_vitals(nurse, pid, 1, minute=55, reason="patient asleep")
    assert not_due.value.field == "minute" and "not due yet" in not_due.value.message
    view = day_ready_for_signoff(wf, actors, clock, pid, 1, skip_minutes=(25, 100))
    assert view.reason_codes == ("vitals_missing", "physician_signoff")
    assert view.vitals_missing == (25, 100)
    with pytest.raises(ConflictError, match="minute\\(s\\) 25', 100'"):
        wf.infusions.sign_off_discharge(
            md, pid, 1, password=PASSWORD, expected_version=view.version
        )
    with pytest.raises(ValidationFailed) as short:
        wf.infusions.record_missed_vitals(nurse, pid, 1, minute=25, reason="  no ")
    assert short.value.field == "reason"
    with pytest.raises(ValidationFailed) as unscheduled:
        wf.infusions.record_missed_vitals(nurse, pid, 1, minute=26, reason="cuff failed")
    assert unscheduled.value.field == "minute"
    with pytest.raises(ConflictError, match="a reading is recorded"):
        wf.infusions.record_missed_vitals(nurse, pid, 1, minute=30, reason="cuff failed")
    wf.infusions.record_missed_vitals(nurse, pid, 1, minute=25, reason="cuff failed, re-sited")
    with pytest.raises(ConflictError, match="already recorded as missed"):
        wf.infusions.record_missed_vitals(nurse, pid, 1, minute=25, reason="cuff failed again")
    assert wf.infusions.readiness(nurse, pid, 1).vitals_missing == (100,)
    wf.infusions.record_missed_vitals(nurse, pid, 1, minute=100, reason="patient in bathroom")
    assert [m.minute for m in wf.infusions.missed_vitals(nurse, pid, 1)] == [25, 100]
    rows = [
        e
        for e in wf.audit.entries(actors[Role.MONITOR], table_name="vitals_missed")
        if e.field == "reason"
    ]
    assert len(rows) == 2
    view = wf.infusions.readiness(nurse, pid, 1)
    assert view.reason_codes == ("physician_signoff",)
    done = wf.infusions.sign_off_discharge(
        md, pid, 1, password=PASSWORD, expected_version=view.version
    )
    assert done.discharged_at is not None
    with pytest.raises(ConflictError, match="already discharged"):
        wf.infusions.record_missed_vitals(nurse, pid, 1, minute=115, reason="after the fact")


@pytest.mark.parametrize(
    ("bprs_after", "ymrs_after", "held"),
    [
        ({"4": 2, "11": 2, "12": 1, "15": 2}, {"1": 1}, False),  # BPRS+ 7 = baseline 4 + 3, YMRS +1
        ({"4": 2, "11": 2, "12": 2, "15": 2}, {"1": 0}, True),  # BPRS+ 8 = baseline + 4
        ({"4": 1, "11": 1, "12": 1, "15": 1}, {"1": 2}, True),  # YMRS item 1 + 2
    ],
)
def test_emergent_psychosis_or_mania_holds_until_a_physician_decides(
    trial, actors, clock, bprs_after, ymrs_after, held
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 4: BPRS+ or YMRS item 1 worse than baseline by more than the protocol's
    margin (3 and 1 points here) blocks discharge; a physician's decision with a reason, audited,
    is the only way round (PROTOCOL.md §6)."""
    wf, pid = trial
    md, nurse = actors[Role.INVESTIGATOR], actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    view = day_ready_for_signoff(
        wf, actors, clock, pid, 1, latest={"bprs_positive": bprs_after, "ymrs_item1": ymrs_after}
    )
    if not held:
        assert view.reason_codes == ("physician_signoff",)
        with pytest.raises(ConflictError, match="nothing to decide"):
            wf.infusions.record_worsening_decision(
                md, pid, 1, reason="reviewed, settled", expected_version=view.version
            )
        return
    assert view.reason_codes == ("psychiatric", "physician_signoff")
    with pytest.raises(ConflictError, match="emergent psychosis or mania"):
        wf.infusions.sign_off_discharge(
            md, pid, 1, password=PASSWORD, expected_version=view.version
        )
    with pytest.raises(PermissionDenied):
        wf.infusions.record_worsening_decision(
            nurse, pid, 1, reason="looks fine to me now", expected_version=view.version
        )
    with pytest.raises(ValidationFailed) as short:
        wf.infusions.record_worsening_decision(
            md, pid, 1, reason="ok", expected_version=view.version
        )
    assert short.value.field == "reason"
    decided = wf.infusions.record_worsening_decision(
        md,
        pid,
        1,
        reason="examined: oriented, no psychotic features, escort home",
        expected_version=view.version,
    )
    assert decided.reason_codes == ("physician_signoff",)
    reasons = [
        e.reason
        for e in wf.audit.entries(actors[Role.MONITOR], table_name="infusion_days")
        if e.field == "worsening_decision_reason"
    ]
    assert reasons and "escort home" in (reasons[-1] or "")
    done = wf.infusions.sign_off_discharge(
        md, pid, 1, password=PASSWORD, expected_version=decided.version
    )
    assert done.discharged_at is not None


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
