"""Starting an infusion: allocation, dose, order, the whole day (PROTOCOL.md §3, §4, §6; services/infusions/day.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]
from workflow_support import (  # type: ignore[import-not-found]
    items,
    prise,
    ready_for_infusion,
)

from bedside_support import (  # type: ignore[import-not-found]
    after_infusion_ratings,
    vitals_input,
    vitals_until,
)
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    ConflictError,
    PermissionDenied,
    ValidationFailed,
)
from ketamine_ptsd.services.infusions import (
    AdverseEventInput,
    InterventionInput,
)


def test_infusion_1_allocates_doses_by_weight_and_blinds_the_drug_but_not_the_pump(
    trial, actors
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    assert ready_for_infusion(wf, actors, pid, 1).passed
    with pytest.raises(ConflictError, match="allocation happens on the morning of infusion 1"):
        wf.infusions.start(
            actors[Role.NURSE], pid, 1, **start_inputs(actors, actors[Role.NURSE], 70.1)
        )
    seen = wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 70.1)
    )
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
    day = wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    vitals_until(wf, nurse, clock, pid, 1, 15)  # 5', 10', 15' normal, then 20' is high
    clock.advance(dt.timedelta(minutes=5))
    high = wf.infusions.record_vitals(nurse, pid, 1, vitals_input(20, 186, 104, 96, 97))
    assert any("systolic mmHg 186" in a for a in high.alerts)
    [alert] = wf.infusions.alerts(nurse, pid, open_only=True)  # owned until acknowledged (§12)
    assert alert.kind == "vital_signs" and alert.infusion_number == 1
    assert any("systolic mmHg 186" in m for m in alert.messages)
    with pytest.raises(ValidationFailed) as no_name:
        wf.infusions.acknowledge_alert(
            nurse, pid, alert.id, physician_called=" ", called_at=clock.now(),
            action_taken="labetalol 5 mg IV", expected_version=alert.version,
        )  # fmt: skip
    assert no_name.value.field == "physician_called"
    with pytest.raises(ValidationFailed) as future:
        wf.infusions.acknowledge_alert(
            nurse, pid, alert.id, physician_called="Dr Lee",
            called_at=clock.now() + dt.timedelta(minutes=5),
            action_taken="labetalol 5 mg IV", expected_version=alert.version,
        )  # fmt: skip
    assert future.value.field == "called_at"
    owned = wf.infusions.acknowledge_alert(
        nurse, pid, alert.id, physician_called="Dr Lee", called_at=clock.now(),
        action_taken="labetalol 5 mg IV as ordered", expected_version=alert.version,
    )  # fmt: skip
    assert not owned.open and owned.physician_called == "Dr Lee"
    assert owned.acknowledged_by and owned.physician_called_at == clock.now()
    with pytest.raises(ConflictError, match="already acknowledged"):
        wf.infusions.acknowledge_alert(
            nurse, pid, alert.id, physician_called="Dr Lee", called_at=clock.now(),
            action_taken="again", expected_version=owned.version,
        )  # fmt: skip
    given = wf.infusions.record_intervention(
        nurse, pid, 1, InterventionInput("labetalol", 5, "IV", "systolic 186 during infusion")
    )
    assert (given.drug, given.dose_mg, given.route, given.minute) == ("labetalol", 5.0, "IV", 20)
    with pytest.raises(ValidationFailed) as bad_route:
        wf.infusions.record_intervention(
            nurse, pid, 1, InterventionInput("labetalol", 5, "IVV", "x")
        )
    assert bad_route.value.field == "route"
    vitals_until(wf, nurse, clock, pid, 1, 40)
    wf.infusions.record_rating(rater, pid, 1, minute=40, instrument="cadss", items=items(23, 20))
    with pytest.raises(ValidationFailed) as wrong_time:
        wf.infusions.record_rating(rater, pid, 1, minute=40, instrument="prise", items=prise())
    assert wrong_time.value.field == "instrument"
    with pytest.raises(PermissionDenied):
        wf.infusions.record_rating(
            nurse, pid, 1, minute=40, instrument="ymrs_item1", items={"1": 0}
        )
    day = wf.infusions.end(nurse, pid, 1, expected_version=day.version)
    vitals_until(wf, nurse, clock, pid, 1, 90)
    not_yet = wf.infusions.readiness(nurse, pid, 1)
    assert not not_yet.ready
    assert any("observation runs 120 min" in r for r in not_yet.reasons)
    assert any("dissociation not resolved" in r for r in not_yet.reasons)
    vitals_until(wf, nurse, clock, pid, 1, 115)
    clock.advance(dt.timedelta(minutes=5))  # 120 min after start
    wf.infusions.record_rating(rater, pid, 1, minute=120, instrument="cadss", items=items(23, 2))
    wf.infusions.record_rating(
        rater, pid, 1, minute=120, instrument="prise", items=prise(blurred_vision="tolerable")
    )
    for instrument, values in after_infusion_ratings().items():
        wf.infusions.record_rating(rater, pid, 1, minute=120, instrument=instrument, items=values)
    wf.infusions.record_vitals(nurse, pid, 1, vitals_input(120, 130, 84, 74, 98))
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


def test_an_infusion_out_of_order_or_twice_is_refused(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    with pytest.raises(ConflictError, match="infusion 1 has not been given"):
        ready_for_infusion(wf, actors, pid, 2)
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 70)
    )
    with pytest.raises(ConflictError, match="already started"):
        wf.infusions.start(
            actors[Role.NURSE], pid, 1, **start_inputs(actors, actors[Role.NURSE], 70)
        )
    with pytest.raises(ValidationFailed) as bad:
        ready_for_infusion(wf, actors, pid, 7)
    assert bad.value.field in {"infusion_number", "vitals"}


def test_a_second_infusion_the_same_morning_is_refused_until_the_schedule_allows_it(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 1: infusion 2 started minutes after infusion 1, which was never ended or
    discharged. Now: refused naming the rule; the next allowed day is refused while infusion 1
    is not discharged."""
    import datetime as dt

    from workflow_support import ready_for_infusion  # type: ignore[import-not-found]

    wf, pid = trial
    investigator = actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(investigator, pid, 1, **start_inputs(actors, investigator, 70))
    ready_for_infusion(wf, actors, pid, 2)
    with pytest.raises(ConflictError, match="not ended and discharged") as same_morning:
        wf.infusions.start(investigator, pid, 2, **start_inputs(actors, investigator, 70))
    assert "§6" in str(same_morning.value) and "never two infusions on one day" in str(
        same_morning.value
    )
    assert [d.infusion_number for d in wf.infusions.days(investigator, pid)] == [1]
    clock.set(dt.datetime(2026, 3, 4, 8, tzinfo=dt.UTC))  # Wednesday: the interval is met
    from bedside_support import record_pre_infusion  # type: ignore[import-not-found]
    from ketamine_ptsd.services.infusions import ChecklistInput

    record_pre_infusion(wf, actors, pid, 2)  # Monday's baseline is not Wednesday's (§6)

    wf.infusions.record_checklist(  # today's checklist for infusion 2 (it passes)
        actors[Role.NURSE],
        pid,
        ChecklistInput(
            infusion_number=2,
            nil_by_mouth=True,
            pregnancy_test="not_applicable",
            urine_toxicology_positive_for=[],
            bp_readings=("128/82",),
            short_acting_benzodiazepine_taken_this_morning=False,
        ),
    )
    with pytest.raises(ConflictError, match="not ended and discharged"):
        wf.infusions.start(investigator, pid, 2, **start_inputs(actors, investigator, 70))


def test_a_clinic_nurse_sees_the_mg_of_the_open_label_drug_she_gives(wf, actors) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 9: the blind's one policy hides nothing in an open-label protocol."""
    from workflow_support import consent, ready_for_infusion, screen_clinic  # type: ignore[import-not-found]

    clinician = actors[Role.CLINICIAN]
    pid = wf.patients.register(clinician, protocol_name="clinical", site="CLN").id
    consent(wf, clinician, pid)
    screen_clinic(wf, clinician, pid)
    ready_for_infusion(wf, actors, pid, 1, rater=Role.CLINICIAN)
    wf.infusions.start(
        clinician, pid, 1, **start_inputs(actors, clinician, 80, protocol_name="clinical")
    )
    seen = wf.infusions.day(actors[Role.NURSE], pid, 1)
    assert (seen.drug, seen.dose_mg, seen.volume_ml) == ("ketamine", 40.0, 40.0)
