"""Discharge readiness and the physician's sign-off (PROTOCOL.md §6; services/infusions/discharge.py)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from service_support import PASSWORD  # type: ignore[import-not-found]
from workflow_support import (  # type: ignore[import-not-found]
    items,
    ready_for_infusion,
)

from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.infusions import (
    VitalsInput,
)


def test_discharge_reasons_come_with_one_code_each_in_order(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    """Machine-readable codes beside the text (PROTOCOL.md §6), so no page matches words."""
    wf, pid = trial
    nurse, rater, md = actors[Role.NURSE], actors[Role.SAFETY_RATER], actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
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
