"""Guards of starting an infusion (PROTOCOL.md §4, §5, §6, §7, §8, §12; issue 12)."""

from __future__ import annotations

from ..facts import Refusal, WorkflowFacts
from ..states import (
    PatientState,
)

__all__ = [
    "MOVE_HINT",
    "WEEKDAYS",
    "allocated_before_infusion",
    "allowed_weekday",
    "baseline_before_infusion_one",
    "maintenance_interval",
    "minimum_interval",
    "no_unreleased_hold",
    "previous_infusion_closed",
    "pump_double_checked",
    "series_or_maintenance",
    "suicide_risk_reviewed",
    "supervised",
    "two_identifiers_confirmed",
    "weekly_maximum",
    "weight_confirmed",
]

S = PatientState


def allocated_before_infusion(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if not facts.randomized_protocol or facts.allocated:
        return None
    return Refusal(
        "allocation_before_infusion",
        "PROTOCOL.md §3",
        "not allocated: allocation happens on the morning of infusion 1",
    )


def previous_infusion_closed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    n = facts.infusion_number
    if n <= 1:
        return None
    if facts.previous_day is None:
        return Refusal(
            "previous_infusion_given",
            "PROTOCOL.md §5",
            f"infusion {n - 1} has not been given; the series is given in order",
        )
    if not facts.previous_discharged:
        return Refusal(
            "previous_infusion_discharged",
            "PROTOCOL.md §6",
            f"infusion {n - 1} of {facts.previous_day.isoformat()} is not ended and discharged "
            "(physician's sign-off)",
        )
    return None


MOVE_HINT = "; a physician may move the day (a recorded decision, with the reason)"


def minimum_interval(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number <= 1 or facts.previous_day is None or facts.today is None:
        return None
    gap = (facts.today - facts.previous_day).days
    if gap < 1:
        # never two infusions on one day, whoever moved it (issue 12 item 1): not movable
        return Refusal(
            "minimum_interval",
            "PROTOCOL.md §5",
            f"infusion {facts.infusion_number} comes on a later day than infusion "
            f"{facts.infusion_number - 1} ({facts.previous_day.isoformat()}); never two "
            "infusions on one day",
        )
    if facts.day_moved_by_physician:
        return None
    if gap >= max(facts.min_days_between, 1):
        return None
    return Refusal(
        "minimum_interval",
        "PROTOCOL.md §5",
        f"infusion {facts.infusion_number} comes at least "
        f"{max(facts.min_days_between, 1)} days after infusion {facts.infusion_number - 1} "
        f"({facts.previous_day.isoformat()}); today is {gap} day(s) after it" + MOVE_HINT,
    )


def weekly_maximum(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.per_week_max <= 0 or facts.started_this_week < facts.per_week_max:
        return None
    if facts.day_moved_by_physician:
        return None
    return Refusal(
        "weekly_maximum",
        "PROTOCOL.md §5",
        f"{facts.started_this_week} infusions already started this week; the schedule gives at "
        f"most {facts.per_week_max} a week" + MOVE_HINT,
    )


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def allowed_weekday(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or not facts.allowed_weekdays or facts.today is None:
        return None
    if facts.today.weekday() in facts.allowed_weekdays or facts.day_moved_by_physician:
        return None
    days = ", ".join(WEEKDAYS[d] for d in sorted(facts.allowed_weekdays))
    return Refusal(
        "allowed_weekday",
        "PROTOCOL.md §5",
        f"{facts.today.isoformat()} is a {WEEKDAYS[facts.today.weekday()]}; the schedule gives "
        f"infusions on {days}" + MOVE_HINT,
    )


def no_unreleased_hold(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    released = set(facts.released_holds)
    held = [r for r in facts.hold_reasons if r not in released]
    if not held:
        return None
    return Refusal(
        "pre_infusion_hold",
        "PROTOCOL.md §6",
        "held: "
        + "; ".join(held)
        + ". Every reading of the morning counts; a re-check adds readings, it does not replace "
        "them. Only a physician's recorded release (reason, password) lets a held day start",
    )


def suicide_risk_reviewed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or not facts.suicide_risk_unreviewed:
        return None
    return Refusal(
        "suicide_risk_review",
        "PROTOCOL.md §7",
        "; ".join(facts.suicide_risk_unreviewed)
        + ": a physician reviews the suicide risk (acknowledges the alert with the action "
        "taken) before the next infusion",
    )


def two_identifiers_confirmed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.identity_confirmed:
        return None
    return Refusal(
        "two_identifiers",
        "PROTOCOL.md §12",
        "the nurse confirms the patient's name and date of birth (two identifiers) on the day, "
        "before the drug is given",
    )


def baseline_before_infusion_one(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number != 1 or not facts.baseline_missing:
        return None
    return Refusal(
        "baseline_before_infusion_1",
        "PROTOCOL.md §5, §8, §9",
        f"the primary outcome's baseline ({facts.baseline_time_point}) is not recorded: "
        f"{', '.join(facts.baseline_missing)}; without it the patient leaves the "
        "intent-to-treat analysis and no response can be judged",
    )


def weight_confirmed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or not facts.weight_change_reasons:
        return None
    if facts.weight_confirmed_by_other:
        return None
    return Refusal(
        "weight_confirmed",
        "PROTOCOL.md §4",
        "; ".join(facts.weight_change_reasons)
        + ": weigh again, or a second staff member confirms this weight",
        field="weight_kg",
    )


def pump_double_checked(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or facts.pump_checked_by_other:
        return None
    return Refusal(
        "pump_double_check",
        "PROTOCOL.md §4, §6",
        "a second staff member, not the one starting, must check the pump setting against the "
        "dose (independent double-check of a high-alert drug)",
        field="witness_username",
    )


def supervised(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or facts.supervising_physician_named:
        return None
    return Refusal(
        "supervising_physician",
        "PROTOCOL.md §6",
        "name the physician supervising this infusion",
        field="supervising_physician_id",
    )


def series_or_maintenance(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """An infusion after the acute series is a maintenance infusion: only in maintenance, and
    maintenance infusions are numbered after the series (§5, §8)."""
    count = facts.acute_infusion_count
    if count <= 0 or facts.infusion_number <= 0:
        return None
    if state is S.IN_MAINTENANCE and facts.infusion_number <= count:
        return Refusal(
            "maintenance_numbering",
            "PROTOCOL.md §8",
            f"maintenance infusions are numbered after the series of {count} "
            f"(infusion {count + 1} onwards)",
            "infusion_number",
        )
    first = max(facts.series_first_infusion, 1)
    if state is not S.IN_MAINTENANCE and first > 1:
        # a retreatment series: numbered on from the last infusion given (issue 13)
        last = first + count - 1
        if first <= facts.infusion_number <= last:
            return None
        return Refusal(
            "retreatment_numbering",
            "PROTOCOL.md §5, §8",
            f"the retreatment series is infusions {first} to {last} ({count} infusions, "
            "numbered after the last one given)",
            "infusion_number",
        )
    if state is not S.IN_MAINTENANCE and facts.infusion_number > count:
        return Refusal(
            "series_length",
            "PROTOCOL.md §5, §8",
            f"the series has {count} infusions; infusion {facts.infusion_number} is a "
            "maintenance infusion: a physician starts maintenance first",
            "infusion_number",
        )
    return None


def maintenance_interval(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """A maintenance infusion comes at the schedule's interval, within its window (§8)."""
    if state is not S.IN_MAINTENANCE or facts.previous_day is None or facts.today is None:
        return None
    interval = facts.maintenance_interval_days
    if interval is None or facts.day_moved_by_physician:
        return None
    earliest = interval - max(facts.maintenance_window_days, 0)
    gap = (facts.today - facts.previous_day).days
    if gap >= earliest:
        return None
    return Refusal(
        "maintenance_interval",
        "PROTOCOL.md §8",
        f"the maintenance schedule gives an infusion every {interval} days (at the earliest "
        f"{earliest} days after the last, {facts.previous_day.isoformat()}); today is {gap} "
        "day(s) after it" + MOVE_HINT,
    )
