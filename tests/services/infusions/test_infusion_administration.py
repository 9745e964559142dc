"""Giving the drug: the day's weight, the bag, the pump double-check, the supervising physician,
the end and early stop, the waste and the pharmacy's reconciliation (issue 12 items 3, 4, 5, 7;
PROTOCOL.md §3, §4, §6; services/infusions/day.py, accountability.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from workflow_support import (  # type: ignore[import-not-found]
    ready_for_infusion,
    screen_rct,
)

from infusion_support import PASSWORD, start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.infusions import Countersign, EarlyStop
from ketamine_ptsd.services.screening import ScreeningVisitInput


@pytest.fixture
def ready(trial, actors):  # type: ignore[no-untyped-def]
    """An RCT patient (screened at 75 kg) with infusion 1's checklist passed; the investigator
    starts (allocating), the nurse checks the pump."""
    wf, pid = trial
    assert ready_for_infusion(wf, actors, pid, 1).passed
    return wf, pid


def _start(wf, actors, pid, weight, **kw):  # type: ignore[no-untyped-def]
    md = actors[Role.INVESTIGATOR]
    return wf.infusions.start(md, pid, 1, **start_inputs(actors, md, weight, **kw))


def _refused(field: str, wf, actors, pid, weight, **kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as info:
        _start(wf, actors, pid, weight, **kw)
    assert info.value.field == field, info.value
    return info.value.message


# --- weight (§4) -------------------------------------------------------------------------------


def test_a_weight_exactly_at_the_tolerance_starts_unconfirmed(ready, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    day = _start(wf, actors, pid, 82.5)  # 75 kg at screening + 10 % exactly
    assert day.administration is not None
    assert day.administration.weight_previous_kg == 75.0
    assert day.administration.weight_confirmed_by is None


def test_a_weight_just_beyond_the_tolerance_needs_a_second_staff_member(ready, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    message = _refused("weight_kg", wf, actors, pid, 82.6)
    assert "10 %" in message and "75 kg" in message and "second staff member" in message
    assert "10 %" in _refused("weight_kg", wf, actors, pid, 67.4)  # −10.13 %
    day = _start(wf, actors, pid, 82.6, confirm_weight=True)
    assert day.administration is not None
    assert day.administration.weight_confirmed_by == "Test nurse"
    assert "beyond the protocol's 10 %" in day.administration.weight_confirmation_reasons[0]


def test_a_weight_in_pounds_is_recognised(ready, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    message = _refused("weight_kg", wf, actors, pid, 165.3)  # 75 kg = 165.35 lb
    assert "pounds" in message and "165.347 lb" in message


def test_the_next_infusion_compares_with_the_previous_days_weight(ready, actors, clock) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    _start(wf, actors, pid, 82.5)
    from ketamine_ptsd.services.infusions.administration import last_recorded_weight

    with wf.context.uow(actors[Role.INVESTIGATOR], write=False) as uow:
        from ketamine_ptsd.services.patients import load_patient

        patient = load_patient(uow, pid)
        assert last_recorded_weight(uow, patient, 2) == 82.5
        assert last_recorded_weight(uow, patient, 1) == 75.0


def test_no_weight_on_record_needs_confirmation(wf, actors) -> None:  # type: ignore[no-untyped-def]
    md = actors[Role.INVESTIGATOR]
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="w-1", slots_per_stratum=4
    )
    patient = wf.patients.register(md, protocol_name="rct", site="YAL")
    from workflow_support import (  # type: ignore[import-not-found]
        RCT_FACTS,
        caps5_past_month,
        consent,
    )

    consent(wf, md, patient.id)
    wf.screening.record_visit(
        md,
        patient.id,
        ScreeningVisitInput(
            dt.date(2026, 3, 1), facts=RCT_FACTS, caps5_past_month=caps5_past_month(42), cgi_s=5
        ),
    )
    ready_for_infusion(wf, actors, patient.id, 1)
    message = _refused("weight_kg", wf, actors, patient.id, 70)
    assert "no earlier weight" in message
    assert _start(wf, actors, patient.id, 70, confirm_weight=True).administration is not None


def test_a_dose_above_the_maximum_is_refused_without_naming_the_drug(wf, actors) -> None:  # type: ignore[no-untyped-def]
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="w-2", slots_per_stratum=4
    )
    pid = screen_rct(wf, actors[Role.INVESTIGATOR], weight_kg=145.0)
    ready_for_infusion(wf, actors, pid, 1)
    message = _refused("weight_kg", wf, actors, pid, 150.1)  # 75.05 mL: above 75 mg / 6.75 mg
    assert "maximum dose" in message
    assert "ketamine" not in message and "midazolam" not in message  # the blind (§3)
    assert _start(wf, actors, pid, 150).volume_ml == 75.0  # 75 mg of ketamine: the maximum


def test_screening_records_weight_height_and_bmi_within_the_one_bound(wf, actors) -> None:  # type: ignore[no-untyped-def]
    md = actors[Role.INVESTIGATOR]
    pid = screen_rct(wf, md)
    with wf.context.uow(md, write=False) as uow:
        from sqlalchemy import select

        from ketamine_ptsd.services.records import ScreeningVisit

        measures = uow.session.scalars(
            select(ScreeningVisit.measures).where(ScreeningVisit.patient_id == pid)
        ).one()
    assert measures["body"] == {"weight_kg": 75.0, "height_cm": 175.0, "bmi_kg_m2": 24.5}
    other = wf.patients.register(md, protocol_name="rct", site="YAL")
    for field, kwargs in (
        ("weight_kg", {"weight_kg": 900}),
        ("weight_kg", {"weight_kg": 29.9}),
        ("height_cm", {"weight_kg": 70, "height_cm": 119.9}),
        ("height_cm", {"weight_kg": 70, "height_cm": 230.1}),
    ):
        with pytest.raises(ValidationFailed) as info:
            wf.screening.record_visit(
                md, other.id, ScreeningVisitInput(dt.date(2026, 3, 1), **kwargs)
            )
        assert info.value.field == field


# --- the bag and the pump double-check (§4, §6) -------------------------------------------------


def test_a_bag_expiring_today_is_used_and_one_expired_yesterday_refused(
    ready, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    today = clock.now().date()
    message = _refused("bag_expiry", wf, actors, pid, 75, expiry=today - dt.timedelta(days=1))
    assert "expired" in message
    day = _start(wf, actors, pid, 75, expiry=today)
    assert day.administration is not None and day.administration.bag_expiry == today


def test_a_blinded_nurse_confirms_the_volume_never_the_concentration(ready, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    message = _refused(
        "bag_concentration_mg_per_ml", wf, actors, pid, 75, concentration_mg_per_ml=1.0
    )
    assert "blinded" in message
    assert "37.5 mL" in _refused("bag_volume_ml", wf, actors, pid, 75, volume_ml=75.0)
    day = _start(wf, actors, pid, 75)
    assert day.administration is not None
    assert day.administration.bag_concentration_mg_per_ml is None  # the investigator is blind
    pharmacist = wf.infusions.day(actors[Role.PHARMACIST], pid, 1).administration
    assert pharmacist is not None and pharmacist.bag_concentration_mg_per_ml in {1.0, 0.09}


def test_the_pump_rate_and_the_second_staff_member_are_checked(ready, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    assert "56.3 mL/h" in _refused(
        "pump_rate_ml_per_h", wf, actors, pid, 75, pump_rate_ml_per_h=112.5
    )
    assert _refused("witness_password", wf, actors, pid, 75, password="wrong") != ""
    assert "not you" in _refused("witness_username", wf, actors, pid, 75, witness=Role.INVESTIGATOR)
    assert "may record infusions" in _refused(
        "witness_username", wf, actors, pid, 75, witness=Role.SAFETY_RATER
    )
    assert "physician" in _refused(
        "supervising_physician_id",
        wf,
        actors,
        pid,
        75,
        supervising_physician_id=actors[Role.NURSE].user_id,
    )
    day = _start(wf, actors, pid, 75)
    a = day.administration
    assert a is not None
    assert (a.started_by, a.checked_by, a.supervising_physician, a.prepared_by) == (
        "Test investigator",
        "Test nurse",
        "Test investigator",
        "Test pharmacist",
    )
    assert a.pump_rate_ml_per_h == day.rate_ml_per_h == 56.3
    # the second staff member's check is audited: who started, whom they named, for what
    signed = [
        e
        for e in wf.audit.entries(actors[Role.ADMINISTRATOR], table_name="users")
        if e.event == "countersign"
    ]
    assert [(e.actor_username, e.record_id) for e in signed] == [
        ("investigator", str(actors[Role.NURSE].user_id))
    ]
    assert "pump setting double-check" in (signed[0].reason or "")


def test_a_wrong_witness_password_is_counted_against_the_witness(ready, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    _refused("witness_password", wf, actors, pid, 75, password="wrong")
    with wf.context.uow(actors[Role.INVESTIGATOR], write=False) as uow:
        from ketamine_ptsd.services.records import User

        assert uow.session.get(User, actors[Role.NURSE].user_id).failed_logins == 1


def test_an_open_label_bag_at_another_concentration_is_refused(wf, actors) -> None:  # type: ignore[no-untyped-def]
    from workflow_support import consent  # type: ignore[import-not-found]

    clinician = actors[Role.CLINICIAN]
    from screening_support import screen_clinic  # type: ignore[import-not-found]

    patient = wf.patients.register(clinician, protocol_name="clinical", site="YAL")
    consent(wf, clinician, patient.id)
    screen_clinic(wf, clinician, patient.id)
    ready_for_infusion(wf, actors, patient.id, 1, rater=Role.CLINICIAN)

    def start(**kw):  # type: ignore[no-untyped-def]
        return wf.infusions.start(
            clinician,
            patient.id,
            1,
            **start_inputs(actors, clinician, 75, protocol_name="clinical", **kw),
        )

    with pytest.raises(ValidationFailed) as info:
        start(concentration_mg_per_ml=2.0)  # made up at 2 mg/mL against a 1 mg/mL protocol
    assert info.value.field == "bag_concentration_mg_per_ml"
    assert "2 mg/mL" in info.value.message and "1 mg/mL" in info.value.message
    with pytest.raises(ValidationFailed) as info:
        start(concentration_mg_per_ml=None)
    assert info.value.field == "bag_concentration_mg_per_ml"
    day = start()
    assert day.administration is not None
    assert day.administration.bag_concentration_mg_per_ml == 1.0
    assert day.administration.supervising_physician == "Test clinician"
    # the early stop at 20 mL of a 37.5 mL bag at 1 mg/mL: 20 mg given, not 37.5
    ended = wf.infusions.end(
        clinician,
        patient.id,
        1,
        expected_version=day.version,
        early_stop=EarlyStop(20.0, "agitation at 25 min"),
    )
    assert ended.administration is not None
    assert (ended.administration.volume_given_ml, ended.administration.dose_given_mg) == (
        20.0,
        20.0,
    )
    assert ended.administration.stopped_early is True
    assert ended.dose_mg == 37.5  # the prescribed dose stays as prescribed


# --- the end, the early stop, the waste and the reconciliation (§6) -----------------------------


def test_the_end_time_is_between_the_start_and_now(ready, actors, clock) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    day = _start(wf, actors, pid, 75)
    nurse = actors[Role.NURSE]
    clock.advance(dt.timedelta(minutes=45))
    for when in (day.started_at - dt.timedelta(minutes=1), clock.now() + dt.timedelta(minutes=1)):
        with pytest.raises(ValidationFailed) as info:
            wf.infusions.end(nurse, pid, 1, expected_version=day.version, ended_at=when)
        assert info.value.field == "ended_at"
    at = day.started_at + dt.timedelta(minutes=40)
    ended = wf.infusions.end(nurse, pid, 1, expected_version=day.version, ended_at=at)
    assert ended.ended_at == at
    assert ended.administration is not None
    assert (
        ended.administration.volume_given_ml == 37.5 and ended.administration.stopped_early is False
    )


def test_an_early_stop_recomputes_the_dose_from_the_volume_and_the_bag(
    ready, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    day = _start(wf, actors, pid, 75)
    nurse = actors[Role.NURSE]
    clock.advance(dt.timedelta(minutes=25))
    with pytest.raises(ValidationFailed) as loophole:  # ended at 25 of 40 min, "all given"
        wf.infusions.end(nurse, pid, 1, expected_version=day.version)
    assert loophole.value.field == "ended_at" and "early stop" in loophole.value.message
    for stop, field in (
        (EarlyStop(20.0, "  "), "early_stop_reason"),
        (EarlyStop(37.6, "hypertension"), "volume_given_ml"),
        (EarlyStop(-0.1, "hypertension"), "volume_given_ml"),
        (EarlyStop(37.5, "hypertension"), "volume_given_ml"),  # all of it: not early
    ):
        with pytest.raises(ValidationFailed) as info:
            wf.infusions.end(nurse, pid, 1, expected_version=day.version, early_stop=stop)
        assert info.value.field == field
    ended = wf.infusions.end(
        nurse, pid, 1, expected_version=day.version, early_stop=EarlyStop(23.3, "BP 190/110")
    )
    assert ended.administration is not None
    assert ended.administration.dose_given_mg is None  # blinded: no mg
    seen = wf.infusions.day(actors[Role.PHARMACIST], pid, 1)
    assert seen.administration is not None
    expected = {"ketamine": 23.3, "midazolam": 2.097}[seen.drug]  # 23.3 mL × 1 or × 0.09 mg/mL
    assert seen.administration.dose_given_mg == expected
    assert seen.administration.early_stop_reason == "BP 190/110"


def test_waste_is_witnessed_and_the_reconciliation_balances(ready, actors, clock) -> None:  # type: ignore[no-untyped-def]
    wf, pid = ready
    nurse, md, pharmacist = actors[Role.NURSE], actors[Role.INVESTIGATOR], actors[Role.PHARMACIST]
    day = _start(wf, actors, pid, 75, lot="=HYPERLINK(1)")
    witness = Countersign("investigator", PASSWORD)
    with pytest.raises(ConflictError, match="end"):
        wf.infusions.record_waste(nurse, pid, 1, volume_wasted_ml=0, witness=witness)
    clock.advance(dt.timedelta(minutes=30))
    wf.infusions.end(
        nurse, pid, 1, expected_version=day.version, early_stop=EarlyStop(30.0, "nausea")
    )
    with pytest.raises(ValidationFailed) as info:
        wf.infusions.record_waste(nurse, pid, 1, volume_wasted_ml=7.6, witness=witness)
    assert info.value.field == "volume_wasted_ml" and "7.5 mL" in info.value.message
    with pytest.raises(ValidationFailed) as info:
        wf.infusions.record_waste(
            nurse, pid, 1, volume_wasted_ml=7.5, witness=Countersign("nurse", PASSWORD)
        )
    assert info.value.field == "witness_username"
    wasted = wf.infusions.record_waste(nurse, pid, 1, volume_wasted_ml=7.5, witness=witness)
    assert wasted.administration is not None
    assert wasted.administration.waste_witnessed_by == "Test investigator"
    with pytest.raises(ConflictError, match="already"):
        wf.infusions.record_waste(nurse, pid, 1, volume_wasted_ml=0, witness=witness)

    blinded = wf.infusions.accountability(md)
    assert len(blinded) == 1
    row = blinded[0]
    assert row.drug == "study drug" and row.bag_concentration_mg_per_ml is None
    assert row.dose_given_mg is None and row.unaccounted_ml == 0.0
    assert (row.bag_volume_ml, row.volume_given_ml, row.volume_wasted_ml) == (37.5, 30.0, 7.5)
    assert (row.prepared_by, row.checked_by, row.waste_witnessed_by) == (
        "Test pharmacist",
        "Test nurse",
        "Test investigator",
    )
    unblinded = wf.infusions.accountability(pharmacist)[0]
    assert unblinded.drug in {"ketamine", "midazolam"}
    assert unblinded.dose_given_mg == {"ketamine": 30.0, "midazolam": 2.7}[unblinded.drug]
    with pytest.raises(PermissionDenied):
        wf.infusions.accountability(nurse)
    # a clinician works in clinic mode only: a blinded trial's infusions are not listed
    assert wf.infusions.accountability(actors[Role.CLINICIAN]) == []
    table = list(csv.DictReader(io.StringIO(wf.infusions.accountability_csv(md).decode())))
    assert table[0]["bag_lot"] == "'=HYPERLINK(1)"  # spreadsheet-safe
    assert table[0]["drug"] == "study drug" and table[0]["dose_given_mg"] == ""
