"""Page models built from the services and the core rules: role home pages and the timeline.

Everything here reads through the services as the signed-in actor, so a role sees exactly what
the services let it see (a blinded role gets "study drug" from the service, never an arm). The
calendar comes from the core's schedule rule (PROTOCOL.md §5) anchored on the allocation date,
which is the date of infusion 1 (§3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.roles import Action, Role, is_allowed
from ketamine_ptsd.core.rules import PlannedAssessment, SchedulePlan, plan_schedule
from ketamine_ptsd.core.workflow import PatientState
from ketamine_ptsd.services import Actor, NotFound, PermissionDenied
from ketamine_ptsd.services.infusions import AlertView
from ketamine_ptsd.services.patients import PatientView

from .deps import WebState

__all__ = ["HomePage", "TimelineEvent", "home_page", "patient_schedule", "timeline"]


@dataclass(frozen=True)
class TodayInfusion:
    patient: PatientView
    number: int | None  # None: infusion 1 not yet allocated (trial) or series start (clinic)
    note: str


@dataclass(frozen=True)
class DueAssessment:
    patient: PatientView
    assessment: PlannedAssessment
    state: str  # "due today", "window open", "upcoming"


@dataclass
class HomePage:
    role: Role
    infusions_today: list[TodayInfusion] = field(default_factory=list)
    assessments_due: list[DueAssessment] = field(default_factory=list)
    screening_queue: list[PatientView] = field(default_factory=list)
    to_allocate: list[PatientView] = field(default_factory=list)
    locked_users: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: open alerts of the patients this user may see, oldest first: the physician's task list
    #: (issue 12 item 10; PROTOCOL.md §7, §12)
    open_alerts: list[AlertView] = field(default_factory=list)


def patient_schedule(state: WebState, actor: Actor, patient: PatientView) -> SchedulePlan | None:
    """The patient's calendar from infusion 1, when infusion 1's date is known."""
    if patient.treatment is None:
        return None
    first = state.infusion_one.get(patient.id)
    if first is None:
        try:
            allocation = state.services.randomization.allocation(actor, patient.id)
        except (NotFound, PermissionDenied):
            return None
        first = allocation.infusion_date
        # An allocation is made once and never changes (PROTOCOL.md §3; the record refuses a
        # second one), and its date is not blind-breaking: safe to remember in this process.
        state.infusion_one[patient.id] = first
    return _plan(state, patient.protocol_name, first)


def _plan(state: WebState, protocol_name: str, first: dt.date) -> SchedulePlan | None:
    key = (protocol_name, first)
    if key not in state.plans:
        try:
            state.plans[key] = plan_schedule(state.protocol(protocol_name), first)
        except InvalidInput:  # infusion 1 on a day the protocol does not allow: no calendar
            state.plans[key] = None
    return state.plans[key]


def home_page(state: WebState, actor: Actor) -> HomePage:
    """What this role has to do today."""
    page = HomePage(actor.role)
    today = state.now().date()
    if actor.role is Role.ADMINISTRATOR:
        users = state.services.users.list(actor)
        page.locked_users = [
            u.username for u in users if u.locked_until is not None and u.locked_until > state.now()
        ]
        page.counts = {"users": len(users), "active users": sum(u.active for u in users)}
    if not is_allowed(actor.role, Action.PATIENT_READ):
        return page
    patients = state.services.patients.list(actor)
    if is_allowed(actor.role, Action.ALERT_ACKNOWLEDGE):
        page.open_alerts = state.services.infusions.open_alerts(actor)
    S = PatientState
    for status in (
        S.REGISTERED,
        S.SCREENING,
        S.ELIGIBLE,
        S.RANDOMIZED,
        S.SCREEN_FAILED,
        S.DECLINED,
    ):
        page.counts[status.value.replace("_", " ")] = sum(p.status == status for p in patients)
    infusion_roles = {Role.NURSE, Role.INVESTIGATOR, Role.CLINICIAN, Role.SAFETY_RATER}
    for patient in patients:
        if patient.status in (S.REGISTERED, S.SCREENING):
            page.screening_queue.append(patient)
        if patient.status == S.ELIGIBLE:
            if patient.mode == "trial":  # allocation on the morning of infusion 1 (§3)
                page.to_allocate.append(patient)
            if actor.role in infusion_roles:
                note = (
                    "infusion 1: allocate on the morning of the infusion"
                    if patient.mode == "trial"
                    else "ready to start the series"
                )
                page.infusions_today.append(TodayInfusion(patient, None, note))
        plan = patient_schedule(state, actor, patient) if patient.treatment else None
        if plan is None:
            continue
        if actor.role in infusion_roles and today in plan.infusions:
            number = plan.infusions.index(today) + 1
            page.infusions_today.append(TodayInfusion(patient, number, f"infusion {number}"))
        if is_allowed(actor.role, Action.ASSESSMENT_RECORD):
            for planned in plan.assessments:
                if planned.window_start <= today <= planned.window_end:
                    label = "due today" if planned.target == today else "window open"
                    page.assessments_due.append(DueAssessment(patient, planned, label))
                elif today < planned.window_start <= today + dt.timedelta(days=7):
                    page.assessments_due.append(DueAssessment(patient, planned, "upcoming"))
    return page


@dataclass(frozen=True)
class TimelineEvent:
    day: dt.date
    kind: str  # registered, consent, screening, allocation, infusion, assessment, follow_up
    title: str
    detail: str = ""
    window: tuple[dt.date, dt.date] | None = None
    link: str | None = None
    instruments: tuple[str, ...] = ()
    key: str = ""  # the protocol's time-point or visit name (stored scores attach by it)


def timeline(state: WebState, actor: Actor, patient: PatientView) -> list[TimelineEvent]:
    """The course of one patient, recorded events and the planned calendar, by date."""
    events = [TimelineEvent(patient.registered_at.date(), "registered", "Registered")]
    services = state.services
    if is_allowed(actor.role, Action.CONSENT_READ):
        for consent in services.patients.consents(actor, patient.id):
            events.append(
                TimelineEvent(
                    consent.consent_date,
                    "consent",
                    f"Consent {consent.consent_version}" + (" (voided)" if consent.voided else ""),
                    "capacity assessed"
                    + (f" by {consent.capacity_assessor}" if consent.capacity_assessor else ""),
                )
            )
    if is_allowed(actor.role, Action.SCREENING_READ):
        for outcome in services.patients.screening_outcomes(actor, patient.id):
            events.append(
                TimelineEvent(
                    outcome.decided_on,
                    "screening",
                    f"Screening: {outcome.outcome.replace('_', ' ')}"
                    + (
                        f" by investigator override of {', '.join(outcome.override_criteria)}"
                        if outcome.override_criteria
                        else ""
                    ),
                    "; ".join(outcome.reasons),
                )
            )
    plan = patient_schedule(state, actor, patient)
    if plan is not None:
        events.append(
            TimelineEvent(
                plan.infusions[0], "allocation", "Allocated", f"treatment: {patient.treatment}"
            )
        )
        infusion_reader = is_allowed(actor.role, Action.INFUSION_READ)
        for number, day in enumerate(plan.infusions, start=1):
            events.append(
                TimelineEvent(
                    day,
                    "infusion",
                    f"Infusion {number}",
                    link=f"/patients/{patient.id}/infusion/{number}" if infusion_reader else None,
                )
            )
        for planned in plan.assessments:
            events.append(
                TimelineEvent(
                    planned.target,
                    "assessment",
                    planned.label,
                    window=(planned.window_start, planned.window_end),
                    instruments=planned.instruments,
                    key=planned.name,
                )
            )
        for visit in plan.follow_up:
            events.append(
                TimelineEvent(
                    visit.target,
                    "follow_up",
                    f"{visit.name.capitalize()} (responders only)",
                    window=(visit.window_start, visit.window_end),
                    key=visit.name,
                )
            )
    order = {"registered": 0, "consent": 1, "screening": 2, "allocation": 3, "infusion": 4}
    events.sort(key=lambda e: (e.day, order.get(e.kind, 5)))
    return events
