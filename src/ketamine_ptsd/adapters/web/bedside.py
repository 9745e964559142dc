"""The infusion-day bedside screen's page model, read from the infusion services (PROTOCOL.md §6).

Everything on the screen is what the record holds, read as the signed-in actor through
:class:`~ketamine_ptsd.services.InfusionService`: today's checklist runs (a failed run is a
recorded hold with its reasons), the started infusion with its dose and pump rate (the service
gives blinded readers "study drug" and the arm-independent volume, §3–§4), the vitals with the
alerts stored with them, the next reading due, interventions, the infusion-day ratings (only for
roles that may read them — never an outcome rater, §3), adverse events and discharge readiness.

Before the start there is no stored dose, so the weight typed on the checklist form is shown
through :func:`..dosing.dose_display` for the double check; it is the same arithmetic the service
applies when it starts the infusion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.core.rules import VitalSigns, vital_sign_alerts, vitals_due_minutes
from ketamine_ptsd.services import Actor, NotFound
from ketamine_ptsd.services.infusions import (
    AdverseEventView,
    ChecklistView,
    DischargeCriterion,
    DischargeView,
    IdentityCheckView,
    InfusionDayView,
    InterventionView,
    RatingView,
    VitalsView,
)
from ketamine_ptsd.services.patients import PatientView

from .deps import WebState

__all__ = ["BedsideView", "RatingSlot", "VitalsRow", "bedside_view", "checklist_form_values"]

#: A reading is flagged overdue this long after it fell due.
LATE_GRACE = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class VitalsRow:
    minute: int
    due_at: dt.datetime | None
    readings: tuple[VitalsView, ...]

    @property
    def latest(self) -> VitalsView | None:
        return self.readings[-1] if self.readings else None

    @property
    def alerts(self) -> tuple[str, ...]:
        return tuple(a for r in self.readings for a in r.alerts)


@dataclass(frozen=True)
class RatingSlot:
    """One instrument due at one minute, and its stored rating when the viewer may read it."""

    minute: int
    instrument: str
    rating: RatingView | None


@dataclass
class BedsideView:
    patient: PatientView
    protocol: Protocol
    number: int
    day: InfusionDayView | None
    checks_today: list[ChecklistView]
    rows: list[VitalsRow]
    alerts: list[tuple[int, str]]
    next_due: VitalsRow | None
    next_due_late: bool
    interventions: list[InterventionView]
    ratings_visible: bool
    slots: list[RatingSlot]
    adverse_events: list[AdverseEventView]
    readiness: DischargeView | None
    extra_vitals: list[VitalsView] = field(default_factory=list)
    #: name and date of birth for the two-identifier check (PROTOCOL.md §12); None for a role
    #: without ``identity.confirm`` (blinded raters, the pharmacy)
    identity: IdentityCheckView | None = None
    #: reading id → the parameters beyond the protocol's alert thresholds (highlighted)
    flagged: dict[int, frozenset[str]] = field(default_factory=dict)

    @property
    def latest_check(self) -> ChecklistView | None:
        return self.checks_today[-1] if self.checks_today else None

    @property
    def awaiting_signoff_only(self) -> bool:
        """Everything but the physician's sign-off is met (the service reports that as a reason
        until it is signed, core/rules/discharge.py) — read from the reason codes, not the text."""
        r = self.readiness
        return (
            r is not None
            and not r.ready
            and r.reason_codes == (DischargeCriterion.PHYSICIAN_SIGNOFF.value,)
        )

    @property
    def checklist_values(self) -> dict[str, str]:
        """The checklist form as today's latest run recorded it, until the infusion starts."""
        if self.day is not None:
            return {}
        return checklist_form_values(self.latest_check)

    @property
    def held(self) -> bool:
        check = self.latest_check
        return self.day is None and check is not None and not check.passed


def _yes_no(value: object) -> str:
    return {True: "yes", False: "no"}.get(value, "") if isinstance(value, bool) else ""


def checklist_form_values(check: ChecklistView | None) -> dict[str, str]:
    """The checklist form's fields (routes/infusion.py) from a stored run's findings, so a reload
    shows what the record holds rather than an empty form (PROTOCOL.md §6). The weight is not
    part of the checklist (it is stored with the start), so it is not refilled."""
    if check is None:
        return {}
    findings = check.findings
    values = {
        "nil_by_mouth": _yes_no(findings.get("nil_by_mouth")),
        "benzo_taken": _yes_no(findings.get("short_acting_benzodiazepine_taken_this_morning")),
        "pregnancy_test": str(findings.get("pregnancy_test") or ""),
    }
    tox = findings.get("urine_toxicology_positive_for")
    if tox is not None:
        values["tox_recorded"] = "positive" if tox else "negative"
        values["tox_positive_for"] = ", ".join(str(t) for t in tox)
    # The blood-pressure boxes are never refilled: the readings are in the record (shown above
    # the boxes as the morning's series) and a box is for a new reading (issue 12 item 2).
    return {k: v for k, v in values.items() if v}


def _schedule_drug(protocol: Protocol) -> str:
    """Any arm's drug: the timetable depends only on the infusion time, which the arms share."""
    return protocol.arms[0].drug


def bedside_view(state: WebState, actor: Actor, patient: PatientView, number: int) -> BedsideView:
    """Read the whole infusion day ``number`` of ``patient`` as ``actor`` may see it."""
    infusions = state.services.infusions
    protocol = state.protocol(patient.protocol_name)
    now = state.now()
    day: InfusionDayView | None
    try:
        day = infusions.day(actor, patient.id, number)
    except NotFound:
        day = None
    checks = [
        c
        for c in infusions.checklists(actor, patient.id)
        if c.infusion_number == number and c.checked_on == now.date()
    ]
    vitals = infusions.vitals(actor, patient.id, number)
    due = day.vitals_due_minutes if day else vitals_due_minutes(protocol, _schedule_drug(protocol))
    by_minute: dict[int, list[VitalsView]] = {}
    for v in vitals:
        by_minute.setdefault(v.minute, []).append(v)
    rows = [
        VitalsRow(
            minute,
            day.started_at + dt.timedelta(minutes=minute) if day else None,
            tuple(by_minute.get(minute, ())),
        )
        for minute in due
    ]
    extra = [v for v in vitals if v.minute not in set(due)]
    alerts = [(v.minute, a) for v in vitals for a in v.alerts]
    thresholds = protocol.monitoring.alerts
    flagged = {
        v.id: frozenset(
            a.parameter
            for a in vital_sign_alerts(
                VitalSigns(v.systolic_mmhg, v.diastolic_mmhg, v.heart_rate_bpm, v.spo2_percent),
                thresholds,
            )
        )
        for v in vitals
        if v.alerts
    }
    next_due = None
    late = False
    if day is not None and day.discharged_at is None:
        next_due = next((r for r in rows if r.minute > 0 and not r.readings), None)
        if next_due is not None and next_due.due_at is not None:
            late = now > next_due.due_at + LATE_GRACE
    ratings_visible = is_allowed(actor.role, Action.INFUSION_RATING_READ)
    stored: dict[tuple[int, str], RatingView] = {}
    if ratings_visible:
        stored = {(r.minute, r.instrument): r for r in infusions.ratings(actor, patient.id, number)}
    slots = [
        RatingSlot(r.minute, instrument, stored.get((r.minute, instrument)))
        for r in protocol.monitoring.ratings
        for instrument in r.instruments
    ]
    events: list[AdverseEventView] = []
    if is_allowed(actor.role, Action.ADVERSE_EVENT_READ):
        events = [
            e for e in infusions.adverse_events(actor, patient.id) if e.infusion_number == number
        ]
    return BedsideView(
        patient=patient,
        protocol=protocol,
        number=number,
        day=day,
        checks_today=checks,
        rows=rows,
        alerts=alerts,
        next_due=next_due,
        next_due_late=late,
        interventions=infusions.interventions(actor, patient.id, number) if day else [],
        ratings_visible=ratings_visible,
        slots=slots,
        adverse_events=events,
        readiness=infusions.readiness(actor, patient.id, number) if day else None,
        extra_vitals=extra,
        flagged=flagged,
        identity=infusions.identity_to_check(actor, patient.id, number)
        if is_allowed(actor.role, Action.IDENTITY_CONFIRM)
        else None,
    )


def minutes_since_start(view: BedsideView, now: dt.datetime) -> int | None:
    """Whole minutes since the stored start (for the vitals form's default minute)."""
    if view.day is None:
        return None
    return max(0, int((now - view.day.started_at).total_seconds() // 60))


def default_vitals_minute(view: BedsideView) -> int:
    """The minute the vitals form offers: the next one due, else the baseline."""
    if view.next_due is not None:
        return view.next_due.minute
    if view.day is None:
        return 0
    return view.rows[-1].minute if view.rows else 0


def rating_minutes(protocol: Protocol) -> list[tuple[int, list[str]]]:
    return [(r.minute, list(r.instruments)) for r in protocol.monitoring.ratings]


def as_context(view: BedsideView, now: dt.datetime) -> dict[str, Any]:
    return {
        "b": view,
        "default_minute": default_vitals_minute(view),
        "minutes_since_start": minutes_since_start(view, now),
    }
