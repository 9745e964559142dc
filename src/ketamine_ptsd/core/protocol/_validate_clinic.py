"""The clinic pathway's protocol data checked (PROTOCOL.md §8, §11; issue 13): durability and maintenance, self-report, retreatment and esketamine under the REMS."""

from __future__ import annotations

from ._esketamine import REMS_CONCOMITANT_CLASSES, EsketaminePhase
from ._protocol import Protocol

__all__ = [
    "ESKETAMINE_STATES",
    "REMS_FORM_DUE_DAYS",
    "REMS_MIN_MONITORING_MINUTES",
    "check_esketamine",
    "check_esketamine_schedule",
    "check_retreatment",
    "check_self_report",
    "measured_at",
]


def measured_at(p: Protocol, time_point: str, instrument: str) -> bool:
    return any(a.name == time_point and instrument in a.instruments for a in p.assessments)


_SELF_REPORT_INSTRUMENTS = ("pcl5", "cssrs")


_MAX_LINK_HOURS = 14 * 24


def check_self_report(p: Protocol) -> list[str]:
    """Issue 13: the patient page, its schedule, its alerts and its crisis text (§5, §7, §8)."""
    s = p.self_report
    if s is None:
        return []
    out = []
    where = "self_report"
    if sorted(s.instruments) != sorted(_SELF_REPORT_INSTRUMENTS) or len(set(s.instruments)) != 2:
        out.append(f"{where}.instruments: the patient page gives exactly pcl5 and cssrs (§5, §7)")
    if s.interval_days < 1:
        out.append(f"{where}.interval_days: must be positive")
    if not 1 <= s.link_valid_hours <= _MAX_LINK_HOURS:
        out.append(
            f"{where}.link_valid_hours: 1 to {_MAX_LINK_HOURS} (a link must expire, and soon)"
        )
    if not 1 <= s.meaningful_change_points <= 80:
        out.append(f"{where}.meaningful_change_points: 1 to 80 PCL-5 points (§7: 10)")
    if len(s.crisis_text.strip()) < 20:
        out.append(f"{where}.crisis_text: the crisis line text shown to the patient is required")
    if p.blinded and p.mode == "trial" and s.blinded_raters_may_read:
        out.append(
            f"{where}.blinded_raters_may_read: a blinded trial keeps the patient's own reports "
            "from its blinded raters unless its protocol documents why not (§3); remove it"
        )
    if not measured_at(p, p.response.baseline_assessment, "pcl5"):
        out.append(
            f"{where}: the relapse watch needs a PCL-5 at {p.response.baseline_assessment!r} "
            "(the response's baseline, §8)"
        )
    return out


def check_retreatment(p: Protocol) -> list[str]:
    """Issue 13: a new acute series after a lost response, the clinic's (§8)."""
    r = p.retreatment
    if r is None:
        return []
    out = []
    where = "retreatment"
    if p.mode != "clinic":
        out.append(f"{where}: the trial ends with its primary outcome; retreatment is the clinic's")
    if not r.allowed_from:
        out.append(f"{where}.allowed_from: name lost_response (and non_responder if allowed)")
    if r.max_courses < 1:
        out.append(f"{where}.max_courses: must be positive")
    known = {o.id for o in p.maintenance.options} if p.maintenance is not None else set()
    known.add("retreatment")
    for option in r.proposed_options:
        if option not in known:
            out.append(f"{where}.proposed_options: {option!r} is not a maintenance option")
    return out


#: The states an esketamine session may start in: after the series (the clinic's maintenance
#: states, §8). Strings here: the protocol package does not import the workflow.
ESKETAMINE_STATES = frozenset(
    {"in_treatment", "responder", "non_responder", "lost_response", "in_maintenance"}
)


#: REMS minimums (§11).
REMS_MIN_MONITORING_MINUTES = 120


REMS_FORM_DUE_DAYS = 7


def check_esketamine(p: Protocol) -> list[str]:
    """Esketamine is the clinic pathway's (§8, §11): a trial never gives it, and the REMS
    minimums cannot be lowered by a site."""
    e = p.esketamine
    if e is None:
        return []
    w = "esketamine"
    out = []
    if p.mode != "clinic" or p.blinded:
        out.append(f"{w}: sessions belong to an open-label clinic protocol only (§8, §11)")
    if p.maintenance is None or not any(o.route == "intranasal" for o in p.maintenance.options):
        out.append(f"{w}: the maintenance plan offers no intranasal option to switch to (§8)")
    bad = sorted(set(e.patient_states) - ESKETAMINE_STATES)
    if not e.patient_states or bad:
        out.append(
            f"{w}.patient_states: one or more of {', '.join(sorted(ESKETAMINE_STATES))}"
            + (f" (not {', '.join(bad)})" if bad else "")
        )
    if not e.doses_mg or any(d <= 0 for d in e.doses_mg):
        out.append(f"{w}.doses_mg: one or more positive doses (the label's 56 and 84)")
    if e.max_dose_mg <= 0 or any(d > e.max_dose_mg for d in e.doses_mg):
        out.append(f"{w}.max_dose_mg: positive, and no listed dose above it")
    if e.bp_hold.systolic_above_mmhg <= e.bp_hold.diastolic_above_mmhg or not (
        80 <= e.bp_hold.systolic_above_mmhg <= 200 and 40 <= e.bp_hold.diastolic_above_mmhg <= 130
    ):
        out.append(
            f"{w}.bp_hold: systolic 80–200 and diastolic 40–130 mmHg, systolic above diastolic"
        )
    if e.min_monitoring_minutes < REMS_MIN_MONITORING_MINUTES:
        out.append(
            f"{w}.min_monitoring_minutes: the REMS asks for at least "
            f"{REMS_MIN_MONITORING_MINUTES} (2 hours, §11)"
        )
    if not 0 <= e.bp_after_dose_window_minutes < e.bp_after_dose_minute:
        out.append(f"{w}.bp_after_dose_window_minutes: 0 up to less than bp_after_dose_minute")
    if e.bp_after_dose_minute + e.bp_after_dose_window_minutes >= e.min_monitoring_minutes:
        out.append(f"{w}.bp_after_dose_minute: its window must close before monitoring can end")
    if not 0 < e.bp_before_end_minutes <= 60:
        out.append(f"{w}.bp_before_end_minutes: 1–60 minutes before the end")
    if not 1 <= e.form_due_days <= REMS_FORM_DUE_DAYS:
        out.append(f"{w}.form_due_days: 1–{REMS_FORM_DUE_DAYS} (the REMS: within 7 days, §11)")
    missing = [c for c in REMS_CONCOMITANT_CLASSES if c not in e.concomitant_classes]
    if missing:
        out.append(
            f"{w}.concomitant_classes: the REMS form's classes are missing: {', '.join(missing)}"
        )
    out += check_esketamine_schedule(e.schedule)
    return out


def check_esketamine_schedule(phases: tuple[EsketaminePhase, ...]) -> list[str]:
    w = "esketamine.schedule"
    if not phases:
        return [f"{w}: name at least one phase (§11)"]
    out = []
    names = [ph.name for ph in phases]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        out.append(f"{w}: phase {dup!r} appears more than once")
    for i, ph in enumerate(phases):
        at = f"{w} ({ph.name})"
        last = i == len(phases) - 1
        if last and ph.weeks is not None:
            out.append(f"{at}.weeks: the last phase is open-ended (no weeks)")
        if not last and (ph.weeks is None or ph.weeks < 1):
            out.append(f"{at}.weeks: a phase before the last lasts 1 or more weeks")
        if (ph.sessions_per_week is None) == (not ph.interval_days):
            out.append(f"{at}: give either sessions_per_week or interval_days")
        if ph.sessions_per_week is not None and not 1 <= ph.sessions_per_week <= 3:
            out.append(f"{at}.sessions_per_week: 1–3")
        if any(d <= 0 for d in ph.interval_days):
            out.append(f"{at}.interval_days: must be positive")
        if ph.min_days_between < 1:
            out.append(f"{at}.min_days_between: at least 1 (one session a day at most)")
        elif ph.interval_days and ph.min_days_between > min(ph.interval_days):
            out.append(f"{at}.min_days_between: not above the shortest interval")
        elif ph.sessions_per_week is not None and ph.min_days_between * ph.sessions_per_week > 7:
            out.append(
                f"{at}.min_days_between: {ph.sessions_per_week} sessions a week cannot be "
                f"{ph.min_days_between} days apart"
            )
    return out
