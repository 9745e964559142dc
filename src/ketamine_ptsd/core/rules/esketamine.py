"""Esketamine sessions under the REMS: the rules of one session (PROTOCOL.md §8, §11; issue 13).

A clinic patient switched to intranasal esketamine self-administers the devices under direct
observation in a certified setting, enrolled in the programme before the first session. Before
dosing, the blood pressure must not be above the protocol's hold (a prescriber's recorded decision
may release it); after dosing, the blood pressure at about 40 minutes and again before the end,
pulse oximetry, and sedation (MOAA/S), dissociation and respiratory depression are watched for at
least 2 hours from the first device, and every event has resolved before the prescriber
discharges. The monitoring form is submitted within the protocol's days (REMS: 7).

Pure functions of the protocol's :class:`~ketamine_ptsd.core.protocol.EsketaminePlan` and the
session's facts; times come in as arguments. Each refusal names its rule and cites its §, and
says whether a prescriber's recorded decision may release it (the blood-pressure hold and the
schedule's interval may; the REMS's own requirements — enrolment, a certified setting, 2 hours of
monitoring — may not).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInput
from ..protocol import EsketaminePhase, EsketaminePlan, Protocol

__all__ = [
    "EVENT_KINDS",
    "FORM_DOSES_MG",
    "MOAAS_RANGE",
    "DoseChoice",
    "EsketamineEvent",
    "EsketamineReading",
    "EsketamineRefusal",
    "SessionEnd",
    "availability_refusal",
    "bp_hold_refusal",
    "check_concomitant",
    "check_dose",
    "discharge_refusals",
    "enrolment_refusals",
    "esketamine_plan",
    "form_due_on",
    "form_overdue",
    "monitoring_minutes",
    "phase_of",
    "schedule_refusal",
]

SECTION = "PROTOCOL.md §11"
#: The adverse events the REMS form asks about (§11).
EVENT_KINDS: tuple[str, ...] = ("sedation", "dissociation", "respiratory_depression")
#: MOAA/S: 5 responds readily to name spoken in a normal tone … 0 no response to a painful stimulus.
MOAAS_RANGE = (0, 5)
#: The doses the REMS form names; any other is "other" (§11).
FORM_DOSES_MG = (56, 84)


@dataclass(frozen=True, slots=True)
class EsketamineRefusal:
    """A step refused by ``rule`` (its message cites the §); ``releasable``: a prescriber's
    recorded decision with a reason may release it."""

    rule: str
    message: str
    releasable: bool = False


@dataclass(frozen=True, slots=True)
class DoseChoice:
    """The dose as the REMS form records it: ``56``, ``84`` or ``other`` (with its mg)."""

    choice: str
    dose_mg: int


@dataclass(frozen=True, slots=True)
class EsketamineReading:
    """One set of vital signs after dosing (any value may be absent)."""

    taken_at: dt.datetime
    systolic: int | None
    diastolic: int | None
    spo2_percent: int | None


@dataclass(frozen=True, slots=True)
class EsketamineEvent:
    kind: str
    onset_at: dt.datetime
    resolved_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """What discharge looks at: the first device, the end of monitoring, the readings and
    events, and the clinician's answer to "when would the patient have been ready to leave"."""

    first_device_at: dt.datetime
    ended_at: dt.datetime
    readings: tuple[EsketamineReading, ...]
    events: tuple[EsketamineEvent, ...]
    ready_to_leave_at: dt.datetime | None


def esketamine_plan(protocol: Protocol) -> EsketaminePlan:
    """The protocol's esketamine plan; InvalidInput when it has none (every trial protocol)."""
    if protocol.esketamine is None:
        raise InvalidInput(
            "protocol",
            f"protocol {protocol.name!r} has no intranasal sessions; they belong to the clinic "
            f"pathway ({SECTION})",
            protocol.name,
        )
    return protocol.esketamine


def availability_refusal(protocol: Protocol, state: str) -> EsketamineRefusal | None:
    """A session may start only in a clinic protocol with esketamine, and only in one of the
    plan's patient states (after the series: responder, in maintenance, … §8)."""
    plan = protocol.esketamine
    if plan is None or protocol.mode != "clinic" or protocol.blinded:
        return EsketamineRefusal(
            "clinic_pathway_only",
            f"protocol {protocol.name!r} gives no intranasal sessions: the clinic pathway only "
            f"(PROTOCOL.md §8, §11)",
        )
    if state not in plan.patient_states:
        allowed = ", ".join(s.replace("_", " ") for s in plan.patient_states)
        return EsketamineRefusal(
            "patient_state",
            f"a session starts after the series, when the patient is {allowed}; the patient is "
            f"{state.replace('_', ' ')} (PROTOCOL.md §8, §11)",
        )
    return None


def enrolment_refusals(
    *, first_session: bool, patient_enrolled: bool, setting_certified: bool
) -> list[EsketamineRefusal]:
    """The REMS's own conditions: the patient enrolled (recorded at the first session) and the
    setting certified (at every session). No decision releases them (§11)."""
    out = []
    if first_session and not patient_enrolled:
        out.append(
            EsketamineRefusal(
                "rems_patient_enrolment",
                f"the patient must be enrolled in the REMS before the first session ({SECTION})",
            )
        )
    if not setting_certified:
        out.append(
            EsketamineRefusal(
                "rems_setting_certified",
                f"sessions are given only in a REMS-certified setting ({SECTION})",
            )
        )
    return out


def check_dose(plan: EsketaminePlan, dose_mg: int, other_reason: str | None) -> DoseChoice:
    """The dose as the form records it. The label's doses (56, 84 mg) need nothing more; any
    other dose up to the plan's maximum needs the prescriber's reason (§11)."""
    if isinstance(dose_mg, bool) or not isinstance(dose_mg, int) or dose_mg <= 0:
        raise InvalidInput("dose_mg", "a whole number of mg, above 0", dose_mg)
    if dose_mg > plan.max_dose_mg:
        raise InvalidInput(
            "dose_mg", f"at most {plan.max_dose_mg} mg in one session ({SECTION})", dose_mg
        )
    choice = str(dose_mg) if dose_mg in FORM_DOSES_MG else "other"
    if dose_mg in plan.doses_mg:
        return DoseChoice(choice, dose_mg)
    if not (other_reason or "").strip():
        doses = " or ".join(str(d) for d in plan.doses_mg)
        raise InvalidInput(
            "other_dose_reason",
            f"{dose_mg} mg is not {doses} mg: the form records it as 'other' with the reason "
            f"({SECTION})",
            other_reason,
        )
    return DoseChoice(choice, dose_mg)


def check_concomitant(plan: EsketaminePlan, classes: Sequence[str]) -> tuple[str, ...]:
    """The concomitant medicines by the REMS form's classes, in the plan's order."""
    unknown = [c for c in classes if c not in plan.concomitant_classes]
    if unknown:
        raise InvalidInput(
            "concomitant_classes",
            f"the form's classes are {', '.join(plan.concomitant_classes)}",
            ", ".join(unknown),
        )
    return tuple(c for c in plan.concomitant_classes if c in set(classes))


def bp_hold_refusal(
    plan: EsketaminePlan, systolic: int, diastolic: int
) -> EsketamineRefusal | None:
    """Dosing is held while the blood pressure before dosing is above the hold: systolic above
    its bound or diastolic above its bound (at the bound is not above; §11, as §6 counts)."""
    hold = plan.bp_hold
    if systolic > hold.systolic_above_mmhg or diastolic > hold.diastolic_above_mmhg:
        return EsketamineRefusal(
            "bp_before_dosing",
            f"blood pressure before dosing {systolic}/{diastolic} mmHg is above "
            f"{hold.systolic_above_mmhg}/{hold.diastolic_above_mmhg}: dosing is held unless the "
            f"prescriber records a decision to dose ({SECTION})",
            releasable=True,
        )
    return None


def phase_of(plan: EsketaminePlan, session_number: int) -> EsketaminePhase:
    """The schedule phase of session ``session_number`` (1-based): induction's sessions first
    (sessions a week × weeks), then each phase's weeks at its shortest interval, then the last."""
    if session_number < 1:
        raise InvalidInput("session_number", "1 or more", session_number)
    before = 0
    for phase in plan.schedule:
        if phase.weeks is None:
            return phase
        per_week = (
            phase.sessions_per_week
            if phase.sessions_per_week is not None
            else max(1, 7 // min(phase.interval_days))
        )
        before += per_week * phase.weeks
        if session_number <= before:
            return phase
    return plan.schedule[-1]


def schedule_refusal(
    plan: EsketaminePlan, previous: Sequence[dt.date], day: dt.date
) -> EsketamineRefusal | None:
    """Session ``len(previous) + 1`` on ``day``: at least its phase's days after the last, and
    in induction no more than its sessions a week in any 7 days (§11). A prescriber's recorded
    decision may move a session (releasable)."""
    if not previous:
        return None
    phase = phase_of(plan, len(previous) + 1)
    gap = (day - max(previous)).days
    if gap < phase.min_days_between:
        return EsketamineRefusal(
            "schedule_interval",
            f"{phase.label}: at least {phase.min_days_between} days between sessions, "
            f"{gap} since the last ({SECTION})",
            releasable=True,
        )
    if phase.sessions_per_week is not None:
        week = sum(1 for d in previous if 0 <= (day - d).days < 7) + 1
        if week > phase.sessions_per_week:
            return EsketamineRefusal(
                "schedule_weekly_maximum",
                f"{phase.label}: at most {phase.sessions_per_week} sessions in 7 days ({SECTION})",
                releasable=True,
            )
    return None


def monitoring_minutes(first_device_at: dt.datetime, ended_at: dt.datetime) -> float:
    """Minutes from the first device to the end of monitoring (the form's total time)."""
    return (ended_at - first_device_at).total_seconds() / 60


def discharge_refusals(plan: EsketaminePlan, end: SessionEnd) -> list[EsketamineRefusal]:
    """Everything that still keeps the patient in the chair; none is releasable (§11)."""
    out = []
    start = end.first_device_at

    def minute(at: dt.datetime) -> float:
        return (at - start).total_seconds() / 60

    total = monitoring_minutes(start, end.ended_at)
    if total < plan.min_monitoring_minutes:
        out.append(
            EsketamineRefusal(
                "two_hour_monitoring",
                f"monitored {int(total)} min from the first device; at least "
                f"{plan.min_monitoring_minutes} min before discharge ({SECTION})",
            )
        )
    bp = [r for r in end.readings if r.systolic is not None and r.diastolic is not None]
    low = plan.bp_after_dose_minute - plan.bp_after_dose_window_minutes
    high = plan.bp_after_dose_minute + plan.bp_after_dose_window_minutes
    if not any(low <= minute(r.taken_at) <= high for r in bp):
        out.append(
            EsketamineRefusal(
                "bp_about_40_minutes",
                f"no blood pressure about {plan.bp_after_dose_minute} min after dosing "
                f"(minute {low}–{high}) ({SECTION})",
            )
        )
    window = dt.timedelta(minutes=plan.bp_before_end_minutes)
    if not any(end.ended_at - window <= r.taken_at <= end.ended_at for r in bp):
        out.append(
            EsketamineRefusal(
                "bp_before_end",
                f"no blood pressure in the {plan.bp_before_end_minutes} min before the end of "
                f"monitoring ({SECTION})",
            )
        )
    if not any(r.spo2_percent is not None and r.taken_at >= start for r in end.readings):
        out.append(
            EsketamineRefusal("pulse_oximetry", f"no pulse oximetry after dosing ({SECTION})")
        )
    for e in end.events:
        if e.resolved_at is None or e.resolved_at > end.ended_at:
            out.append(
                EsketamineRefusal(
                    "event_resolved",
                    f"{e.kind.replace('_', ' ')} from {e.onset_at:%H:%M} has not resolved "
                    f"({SECTION})",
                )
            )
    ready = end.ready_to_leave_at
    if ready is None:
        out.append(
            EsketamineRefusal(
                "ready_to_leave",
                "the form asks when the patient would have been ready to leave without the "
                f"2-hour rule ({SECTION})",
            )
        )
    elif not start <= ready <= end.ended_at:
        out.append(
            EsketamineRefusal(
                "ready_to_leave",
                f"ready to leave at {ready:%H:%M} must lie between the first device and the end "
                f"of monitoring ({SECTION})",
            )
        )
    return out


def form_due_on(plan: EsketaminePlan, session_day: dt.date) -> dt.date:
    """The last day the session's monitoring form may be submitted (REMS: within 7 days)."""
    return session_day + dt.timedelta(days=plan.form_due_days)


def form_overdue(
    plan: EsketaminePlan, session_day: dt.date, submitted: bool, today: dt.date
) -> bool:
    """An unsubmitted form past its due day (the clinic's list, §11)."""
    return not submitted and today > form_due_on(plan, session_day)
