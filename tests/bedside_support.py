"""What the bedside rules ask of every test that walks an infusion day, in one place.

Imported as ``from bedside_support import ...`` by the service, web and demo tests. The inputs
the infusion day requires beyond the bare reading (respiratory rate and sedation with each set
of vitals, PROTOCOL.md §12; every scheduled reading taken on time, §6) are supplied here, so a
new start or discharge condition is one change in this file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, Services
from ketamine_ptsd.services.infusions import ChecklistInput, VitalsInput
from screening_support import items  # type: ignore[import-not-found]

#: An unremarkable respiratory rate and an awake patient (MOAA/S 5), for readings whose test is
#: about something else.
USUAL_RR, AWAKE = 14, 5


def vitals_input(
    minute: int,
    systolic: int | None = None,
    diastolic: int | None = None,
    heart_rate: int | None = None,
    spo2: int | None = None,
    *,
    measured_at: dt.datetime | None = None,
    rr: int | None = USUAL_RR,
    moaas: int | None = AWAKE,
) -> VitalsInput:
    """A set of vitals with the respiratory rate and sedation score the protocol requires."""
    return VitalsInput(
        minute,
        systolic,
        diastolic,
        heart_rate,
        spo2,
        measured_at=measured_at,
        respiratory_rate_per_min=rr,
        moaas=moaas,
    )


def vitals_until(
    services: Any, nurse: Any, clock: Any, patient_id: int, number: int, minute: int
) -> None:
    """Walk the clock through the day's vitals timetable up to ``minute`` after the start,
    recording a normal reading at each scheduled minute not yet recorded (each at its own
    minute, inside its window, PROTOCOL.md §6). Readings whose window has passed are left for
    the test to see missing."""
    day = services.infusions.day(nurse, patient_id, number)
    protocol = services.context.protocol(services.patients.get(nurse, patient_id).protocol_name)
    late = dt.timedelta(minutes=protocol.monitoring.vitals_window.late_minutes)
    taken = {v.minute for v in services.infusions.vitals(nurse, patient_id, number)}
    for m in day.vitals_due_minutes:
        if m == 0 or m > minute or m in taken:
            continue
        at = day.started_at + dt.timedelta(minutes=m)
        if clock.now() > at + late:
            continue
        if clock.now() < at:
            clock.set(at)
        services.infusions.record_vitals(
            nurse, patient_id, number, vitals_input(m, 126, 80, 72, 98)
        )
    end = day.started_at + dt.timedelta(minutes=minute)
    if clock.now() < end:
        clock.set(end)


def after_infusion_ratings() -> dict[str, dict[str, int]]:
    """BPRS positive and YMRS item 1 as before the infusion (the psychosis and mania check of
    discharge, PROTOCOL.md §6), for a day whose test is about something else."""
    return {"bprs_positive": {"4": 1, "11": 1, "12": 1, "15": 1}, "ymrs_item1": {"1": 0}}


def day_ready_for_signoff(
    services: Any,
    actors: Any,
    clock: Any,
    patient_id: int,
    number: int,
    *,
    end: bool = True,
    latest: dict[str, dict[str, Any]] | None = None,
    skip_minutes: tuple[int, ...] = (),
) -> Any:
    """Walk a started infusion to 120 minutes as the protocol asks (PROTOCOL.md §6): every
    scheduled reading at its minute (but ``skip_minutes``), the ratings at 40 and 120 (``latest``
    replaces instruments of the 120-minute form), the end at 40 unless ``end`` is False, and the
    nurse's findings. Returns the day's discharge view (only the sign-off outstanding when
    nothing was left out)."""
    nurse, rater = actors[Role.NURSE], actors[Role.SAFETY_RATER]
    day = services.infusions.day(nurse, patient_id, number)
    skip = set(skip_minutes)

    def walk(until: int) -> None:
        for m in day.vitals_due_minutes:
            if 0 < m <= until:
                at = day.started_at + dt.timedelta(minutes=m)
                if clock.now() < at:
                    clock.set(at)
                if m not in skip and m not in {
                    v.minute for v in services.infusions.vitals(nurse, patient_id, number)
                }:
                    services.infusions.record_vitals(
                        nurse, patient_id, number, vitals_input(m, 126, 80, 72, 98)
                    )

    walk(40)
    services.infusions.record_ratings(
        rater,
        patient_id,
        number,
        minute=40,
        ratings={"cadss": _cadss(3), **after_infusion_ratings()},
    )
    if end:
        day = services.infusions.end(nurse, patient_id, number, expected_version=day.version)
    walk(120)
    services.infusions.record_ratings(
        rater,
        patient_id,
        number,
        minute=120,
        ratings={
            "cadss": _cadss(1),
            "prise": prise(),
            **after_infusion_ratings(),
            **(latest or {}),
        },
    )
    day = services.infusions.day(nurse, patient_id, number)
    return services.infusions.record_discharge_findings(
        nurse,
        patient_id,
        number,
        expected_version=day.version,
        ambulatory_unaided=True,
        delayed_effects_checked=True,
    )


def _cadss(total: int) -> dict[str, int]:
    return {str(i): (1 if i <= total else 0) for i in range(1, 24)}


def ready_for_infusion(
    services: Services,
    actors: dict[Role, Actor],
    patient_id: int,
    number: int,
    *,
    bp_readings: tuple[str, ...] = ("128/82", "131/84"),
    rater: Role = Role.SAFETY_RATER,
    nurse: Role = Role.NURSE,
) -> Any:
    """Baseline vitals, the minute-0 ratings, the two-identifier check and the checklist
    (returned) for one infusion: every start condition in one place."""
    confirm_two_identifiers(services, actors, patient_id, number, nurse=nurse)
    if number == 1:
        record_baseline(services, actors, patient_id)
    record_pre_infusion(services, actors, patient_id, number, rater=rater, nurse=nurse)
    return services.infusions.record_checklist(
        actors[nurse],
        patient_id,
        ChecklistInput(
            infusion_number=number,
            nil_by_mouth=True,
            pregnancy_test="not_applicable",
            urine_toxicology_positive_for=["marijuana"],
            bp_readings=bp_readings,
            short_acting_benzodiazepine_taken_this_morning=False,
        ),
    )


def record_pre_infusion(
    services: Any,
    actors: Any,
    patient_id: int,
    number: int,
    *,
    rater: Role = Role.SAFETY_RATER,
    nurse: Role = Role.NURSE,
) -> None:
    """Today's minute-0 vitals (nurse) and ratings before the infusion (rater): what the
    checklist reads from the record. A held day's are not the next day's (PROTOCOL.md §6)."""
    services.infusions.record_vitals(
        actors[nurse], patient_id, number, vitals_input(0, 128, 82, 72, 98)
    )
    for instrument, values in (
        ("cadss", items(23, 1)),
        ("bprs_positive", {"4": 1, "11": 1, "12": 1, "15": 1}),
        ("ymrs_item1", {"1": 0}),
        ("prise", prise()),
    ):
        services.infusions.record_rating(
            actors[rater], patient_id, number, minute=0, instrument=instrument, items=values
        )


def prise(**reported: str) -> dict[str, str]:
    from ketamine_ptsd.core.instruments import get_instrument

    return {item.key: reported.get(item.key, "no") for item in get_instrument("prise").items}


#: The identity a test patient gets when none was recorded (PROTOCOL.md §12 needs two).
TEST_IDENTITY = ("Testpatient", "Alex", dt.date(1984, 5, 17))


def confirm_two_identifiers(
    services: Any, actors: Any, patient_id: int, number: int, *, nurse: Role = Role.NURSE
) -> Any:
    """Record a name and date of birth if the patient has none (an investigator or clinician),
    then the nurse's two-identifier check for infusion ``number`` (PROTOCOL.md §12)."""
    from ketamine_ptsd.services import NotFound
    from ketamine_ptsd.services.patients import IdentityInput

    editor = actors.get(Role.INVESTIGATOR) or actors[Role.CLINICIAN]
    try:
        services.patients.identity(editor, patient_id)
    except NotFound:
        family, given, born = TEST_IDENTITY
        services.patients.set_identity(
            editor, patient_id, IdentityInput(family, given, born), expected_version=None
        )
    return services.infusions.confirm_identity(
        actors[nurse], patient_id, number, name_confirmed=True, date_of_birth_confirmed=True
    )


#: Baseline scores a test patient gets when none were recorded (items each instrument takes).
BASELINE_ITEMS: dict[str, dict[str, int]] = {
    "caps5_past_week": items(20, 42),
    "madrs": items(10, 27, maximum=6),
}


def record_baseline(services: Any, actors: Any, patient_id: int) -> None:
    """The primary outcome's baseline the protocol requires before infusion 1 (CAPS-5 and MADRS
    in the RCT, PROTOCOL.md §5, §8, §9), recorded by the outcome rater (clinic: the clinician)
    where the test has not recorded it itself."""
    from ketamine_ptsd.core.rules import baseline_instruments
    from ketamine_ptsd.services.assessments import AssessmentInput

    patient = services.patients.get(actors[Role.NURSE], patient_id)
    protocol = services.context.protocol(patient.protocol_name)
    time_point, required = baseline_instruments(protocol)
    rater = actors[Role.OUTCOME_RATER] if patient.mode == "trial" else actors[Role.CLINICIAN]
    done = {
        a.instrument
        for a in services.assessments.list(rater, patient_id)
        if a.time_point == time_point
    }
    for instrument in required:
        if instrument not in done:
            services.assessments.record(
                rater,
                patient_id,
                AssessmentInput(
                    time_point,
                    instrument,
                    services.context.clock.now().date(),
                    BASELINE_ITEMS[instrument],
                ),
            )


def acknowledge_open_alerts(services: Any, actor: Any, clock: Any, patient_id: int) -> int:
    """Acknowledge every open vital-sign alert of the patient as the nurse would (PROTOCOL.md
    §12: physician called, when, what was done); returns how many there were."""
    open_alerts = [
        a
        for a in services.infusions.alerts(actor, patient_id, open_only=True)
        if not a.physician_only
    ]
    for alert in open_alerts:
        services.infusions.acknowledge_alert(
            actor,
            patient_id,
            alert.id,
            physician_called="Dr Investigator",
            called_at=clock.now(),
            action_taken="physician reviewed the reading at the bedside",
            expected_version=alert.version,
        )
    return len(open_alerts)
