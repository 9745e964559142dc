"""Clinic mode: documents, open-label infusion, maintenance options, relapse watch
(PROTOCOL.md §2, §8)."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import (  # type: ignore[import-not-found]
    CLINIC_FACTS,
    consent,
    items,
    ready_for_infusion,
    workflow_services,
)

from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import PermissionDenied, ValidationFailed
from ketamine_ptsd.services.assessments import AssessmentInput
from ketamine_ptsd.services.clinic import MedicationTrial, PsychotherapyTrial
from ketamine_ptsd.services.screening import ScreeningVisitInput

MONDAY = dt.date(2026, 3, 2)


def test_a_clinic_series_from_documents_to_relapse_watch(db, clock, actors) -> None:  # type: ignore[no-untyped-def]
    wf = workflow_services(db, clock)
    clinician = actors[Role.CLINICIAN]
    patient = wf.patients.register(clinician, protocol_name="clinical", site="CLN")
    consent(wf, clinician, patient.id)
    resistance = wf.clinic.record_treatment_resistance(
        clinician,
        patient.id,
        psychotherapy_trials=[PsychotherapyTrial("emdr", 10, True)],
        medication_trials=[MedicationTrial("sertraline", 150, 12, True)],
        documented_on=dt.date(2026, 3, 1),
    )
    assert not resistance.documented  # one SSRI/SNRI trial is not enough (§2)
    options = {
        o.id: o
        for o in wf.clinic.maintenance_options(
            clinician, patient.id, {"setting_continuous_monitoring": True}
        )
    }
    assert options["iv_ketamine_periodic"].available
    assert not options["esketamine_intranasal"].available
    with pytest.raises(ValidationFailed, match="REMS"):
        wf.clinic.record_maintenance_plan(
            clinician,
            patient.id,
            option_ids=["esketamine_intranasal"],
            site_facts={"setting_continuous_monitoring": True},
            planned_on=dt.date(2026, 3, 1),
        )
    wf.clinic.record_maintenance_plan(
        clinician,
        patient.id,
        option_ids=["iv_ketamine_periodic", "trauma_focused_psychotherapy"],
        site_facts={"setting_continuous_monitoring": True},
        planned_on=dt.date(2026, 3, 1),
    )
    visit = wf.screening.record_visit(
        clinician, patient.id, ScreeningVisitInput(dt.date(2026, 3, 1), facts=CLINIC_FACTS)
    )
    assert visit.decision.status == "ineligible"
    assert any("SSRI/SNRI" in r and "§2" in r for r in visit.decision.reasons)

    second = wf.patients.register(clinician, protocol_name="clinical", site="CLN")
    consent(wf, clinician, second.id)
    wf.clinic.record_treatment_resistance(
        clinician,
        second.id,
        psychotherapy_trials=[PsychotherapyTrial("cognitive_processing_therapy", 12, True)],
        medication_trials=[
            MedicationTrial("sertraline", 200, 12, True),
            MedicationTrial("duloxetine", 120, 10, True),
        ],
        documented_on=dt.date(2026, 3, 1),
    )
    wf.clinic.record_maintenance_plan(
        clinician,
        second.id,
        option_ids=["iv_ketamine_periodic"],
        site_facts={"setting_continuous_monitoring": True},
        planned_on=dt.date(2026, 3, 1),
        interval_days=7,
    )
    decided = wf.screening.record_visit(
        clinician,
        second.id,
        ScreeningVisitInput(dt.date(2026, 3, 1), facts=CLINIC_FACTS, weight_kg=80, height_cm=170),
    )
    assert decided.decision.status == "eligible"
    wf.assessments.record(
        clinician, second.id, AssessmentInput("baseline", "pcl5", MONDAY, items(20, 60))
    )
    wf.assessments.record(
        clinician,
        second.id,
        AssessmentInput("baseline", "caps5_past_week", MONDAY, items(20, 44)),
    )
    check = ready_for_infusion(wf, actors, second.id, 1, rater=Role.CLINICIAN)
    assert check.passed
    day = wf.infusions.start(
        clinician, second.id, 1, **start_inputs(actors, clinician, 82, protocol_name="clinical")
    )
    assert (day.drug, day.dose_mg, day.volume_ml) == ("ketamine", 41.0, 41.0)  # open label
    assert day.vitals_due_minutes[-1] == 160  # 120 min after the 40-min infusion ends (§6)
    clock.set(dt.datetime(2026, 3, 16, 9, tzinfo=dt.UTC))
    wf.assessments.record(
        clinician,
        second.id,
        AssessmentInput("week2", "caps5_past_week", dt.date(2026, 3, 16), items(20, 22)),
    )
    assert wf.followup.response(clinician, second.id).responder
    watch = wf.clinic.relapse_watch(clinician, second.id)
    assert [w.day for w in watch] == [
        dt.date(2026, 4, 8),  # day 23
        dt.date(2026, 4, 12),  # day 27.5, rounded down
        dt.date(2026, 4, 17),  # day 32
    ]
    assert wf.clinic.maintenance_plan(clinician, second.id).interval_days == 7
    with pytest.raises(PermissionDenied):
        wf.clinic.relapse_watch(actors[Role.OUTCOME_RATER], second.id)
