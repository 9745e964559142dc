"""Clinical consistency of a protocol: ``validate(protocol) -> list[str]``.

Pydantic checks the shape of a protocol file; this module checks that what it says makes sense
as a protocol (SYSTEM.md capability 1, STYLE.md "Our shape" §3). Every problem is reported, each
as one line starting with the field at fault, so that a site editing its file sees all of them at
once. The checks:

- arms fit the mode (a trial compares ≥ 2 arms, a clinic gives one open-label drug; §3);
- each eligibility criterion's operator has exactly the operands it needs (§1, §2);
- doses, concentrations and plausible ranges are positive and coherent, each drug states its
  maximum mg per infusion, and the weight range lies within the forms' limits (§4);
- the weight-change tolerance is stated (a site value, §4);
- frequency × weeks = number of infusions, and the allowed weekdays can hold that many infusions
  a week with the minimum gap (§5 — the clinical recommendation's "twice weekly for 2 weeks
  (total of 6 infusions)" fails here);
- assessment windows, laid out from every allowed first-infusion weekday, never overlap, and a
  "before infusion N" window never reaches back to infusion N−1 nor forward past infusion N; an
  "after infusion N" window ends before infusion N+1 (§5);
- follow-up windows do not overlap (§5, §8);
- infusion-day ratings fall inside the observation period and dissociation is rated before the
  infusion so discharge can compare with it (§6); blood-pressure limits can each bind (§6);
- the response, follow-up and analysis plan name time points that exist and instruments that are
  measured there (§8, §9);
- every instrument id is known;
- a self-report plan gives the PCL-5 and the C-SSRS screener on a positive interval, with a
  link that expires, the §7 change threshold, a crisis text, and a PCL-5 at the response's
  baseline for the relapse watch; retreatment is the clinic's, from a lost response (or a
  non-responder where allowed), proposing options the protocol has (issue 13).
- esketamine sessions belong to an open-label clinic protocol only, keep the REMS minimums
  (2 hours of monitoring, the form within 7 days, its five classes of concomitant medicines),
  and their schedule's phases are coherent (§8, §11).
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
from collections.abc import Iterable

from ..errors import InvalidInput
from ._base import weekday_index
from ._instruments import KNOWN_INSTRUMENT_IDS
from ._limits import MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT, WEIGHT_KG_LIMITS
from ._outcomes import AnalysisPlan
from ._protocol import Protocol
from ._schedule import Schedule
from ._validate_bedside import check_bedside, check_data_checks
from ._validate_clinic import (
    check_esketamine,
    check_retreatment,
    check_self_report,
    measured_at,
)

__all__ = ["max_infusions_per_calendar_week", "validate"]

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
# A Monday, used only to lay out reference schedules from each allowed weekday.
_REFERENCE_MONDAY = dt.date(2024, 1, 1)


def max_infusions_per_calendar_week(schedule: Schedule) -> int:
    """Most infusions one Monday–Sunday week can hold on the allowed weekdays with the gap.

    Greedy earliest-first is optimal for points on a line with a minimum spacing.
    """
    days = sorted({weekday_index(d) for d in schedule.allowed_weekdays})
    count, last = 0, None
    for day in days:
        if last is None or day - last >= schedule.min_days_between_infusions:
            count, last = count + 1, day
    return count


def validate(
    protocol: Protocol, known_instruments: Iterable[str] = KNOWN_INSTRUMENT_IDS
) -> list[str]:
    """Every clinical inconsistency in ``protocol``, one message each; empty when consistent."""
    known = frozenset(known_instruments)
    problems: list[str] = []
    problems += _check_identity(protocol)
    problems += _check_arms(protocol)
    problems += _check_eligibility(protocol)
    problems += _check_dosing(protocol)
    schedule_problems = _check_schedule(protocol.schedule)
    problems += schedule_problems
    problems += _check_assessments(protocol, known)
    if not schedule_problems and not any(p.startswith("assessments") for p in problems):
        problems += _check_windows_on_reference_schedules(protocol)
    problems += _check_follow_up(protocol, known)
    problems += _check_pre_infusion(protocol)
    problems += _check_monitoring(protocol, known)
    problems += _check_response(protocol, known)
    problems += _check_durability_and_maintenance(protocol)
    problems += _check_analysis(protocol, known)
    problems += check_self_report(protocol)
    problems += check_retreatment(protocol)
    problems += check_esketamine(protocol)
    return problems


def _check_identity(p: Protocol) -> list[str]:
    out = []
    if not p.version.strip():
        out.append("version: must not be empty")
    if not p.title.strip():
        out.append("title: must not be empty")
    forms = [f.strip() for f in p.consent_forms]
    if any(not f or len(f) > 32 for f in forms):
        out.append("consent_forms: each version is 1-32 characters")
    for dup in sorted({f for f in forms if forms.count(f) > 1}):
        out.append(f"consent_forms: {dup!r} appears more than once")
    return out


def _check_arms(p: Protocol) -> list[str]:
    out = []
    ids = [arm.id for arm in p.arms]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(f"arms: arm id {dup!r} appears more than once")
    if p.mode == "trial" and len(p.arms) < 2:
        out.append("arms: a trial needs at least two arms to compare (PROTOCOL.md §3)")
    if p.mode == "clinic":
        if len(p.arms) != 1:
            out.append(f"arms: a clinic protocol gives one open-label arm, found {len(p.arms)}")
        if p.blinded:
            out.append("blinded: a clinic protocol is open-label; blinded must be false")
    for i, arm in enumerate(p.arms):
        if arm.drug not in p.dosing:
            out.append(f"arms[{i}].drug: {arm.drug!r} has no entry under dosing")
        if arm.allocation_ratio < 1:
            out.append(f"arms[{i}].allocation_ratio: must be at least 1")
    used = {arm.drug for arm in p.arms}
    for drug in p.dosing:
        if drug not in used:
            out.append(f"dosing.{drug}: no arm gives {drug!r}")
    return out


def _check_eligibility(p: Protocol) -> list[str]:
    out = []
    ids = [c.id for c in p.eligibility]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(f"eligibility: criterion id {dup!r} appears more than once")
    for i, c in enumerate(p.eligibility):
        where = f"eligibility[{i}] ({c.id})"
        if not _SNAKE.match(c.fact):
            out.append(f"{where}.fact: {c.fact!r} must be a snake_case fact name")
        if "§" not in c.section:
            out.append(f"{where}.section: cite the source section, e.g. 'PROTOCOL.md §1'")
        has = {"value": c.value is not None, "low": c.low is not None, "high": c.high is not None}
        if c.op in ("is_true", "is_false"):
            extra = [k for k, v in has.items() if v]
            if extra:
                out.append(f"{where}: operator {c.op} takes no {', '.join(extra)}")
        elif c.op == "between":
            if c.low is None or c.high is None:
                out.append(f"{where}: operator between needs both low and high")
            elif c.low > c.high:
                out.append(f"{where}: low {c.low:g} is above high {c.high:g}")
            if c.value is not None:
                out.append(f"{where}: operator between takes low and high, not value")
        else:
            if c.value is None:
                out.append(f"{where}: operator {c.op} needs a value")
            if c.low is not None or c.high is not None:
                out.append(f"{where}: operator {c.op} takes value, not low/high")
        if c.kind == "safety_plan" and not c.satisfied_by:
            out.append(
                f"{where}.satisfied_by: a safety-plan criterion names the fact that "
                "records the plan"
            )
        if c.kind != "safety_plan" and c.satisfied_by:
            out.append(f"{where}.satisfied_by: only safety-plan criteria take satisfied_by")
        if c.satisfied_by is not None and not _SNAKE.match(c.satisfied_by):
            out.append(f"{where}.satisfied_by: {c.satisfied_by!r} must be a snake_case fact name")
    return out


def _check_dosing(p: Protocol) -> list[str]:
    out = []
    for drug, d in p.dosing.items():
        where = f"dosing.{drug}"
        if d.mg_per_kg <= 0:
            out.append(f"{where}.mg_per_kg: must be positive")
        if d.infusion_minutes <= 0:
            out.append(f"{where}.infusion_minutes: must be positive")
        for field in ("dose_rounding_mg", "volume_rounding_ml", "rate_rounding_ml_per_h"):
            if getattr(d, field) <= 0:
                out.append(f"{where}.{field}: rounding step must be positive")
        w_low, w_high = d.weight_kg_range
        if not 0 < w_low < w_high:
            out.append(f"{where}.weight_kg_range: need 0 < low < high, got {w_low:g}–{w_high:g}")
        c_low, c_high = d.concentration_mg_per_ml_range
        if not 0 < c_low < c_high:
            out.append(
                f"{where}.concentration_mg_per_ml_range: need 0 < low < high, "
                f"got {c_low:g}–{c_high:g}"
            )
        elif not c_low <= d.concentration_mg_per_ml <= c_high:
            out.append(
                f"{where}.concentration_mg_per_ml: {d.concentration_mg_per_ml:g} mg/mL is outside "
                f"its plausible range {c_low:g}–{c_high:g}"
            )
        if w_low < WEIGHT_KG_LIMITS[0] or w_high > WEIGHT_KG_LIMITS[1]:
            out.append(
                f"{where}.weight_kg_range: must lie within {WEIGHT_KG_LIMITS[0]:g}–"
                f"{WEIGHT_KG_LIMITS[1]:g} kg, the weights any form accepts"
            )
        if d.max_dose_mg is None:
            out.append(f"{where}.max_dose_mg: state the most mg one infusion may give (§4)")
        elif not (d.max_dose_mg > 0 and d.max_dose_mg == d.max_dose_mg):
            out.append(f"{where}.max_dose_mg: must be a positive number of mg (§4)")
    return out


def _check_schedule(s: Schedule) -> list[str]:
    out = []
    where = "schedule"
    if s.infusion_count < 1:
        out.append(f"{where}.infusion_count: must be at least 1")
    if not 1 <= s.infusions_per_week <= 7:
        out.append(f"{where}.infusions_per_week: must be between 1 and 7")
    if s.weeks < 1:
        out.append(f"{where}.weeks: must be at least 1")
    if s.infusions_per_week * s.weeks != s.infusion_count:
        said = f" (source text: {s.source_text!r})" if s.source_text else ""
        out.append(
            f"{where}: {s.infusions_per_week} infusions per week × {s.weeks} weeks = "
            f"{s.infusions_per_week * s.weeks}, but infusion_count is {s.infusion_count}"
            f"{said} (PROTOCOL.md §5)"
        )
    if s.min_days_between_infusions < 1:
        out.append(
            f"{where}.min_days_between_infusions: must be at least 1 (never two infusions on "
            "one day)"
        )
    if not s.allowed_weekdays:
        out.append(f"{where}.allowed_weekdays: name at least one weekday")
    elif len(set(s.allowed_weekdays)) != len(s.allowed_weekdays):
        out.append(f"{where}.allowed_weekdays: a weekday is listed twice")
    if s.allowed_weekdays and s.min_days_between_infusions >= 1 and s.infusions_per_week >= 1:
        fits = max_infusions_per_calendar_week(s)
        if fits < s.infusions_per_week:
            out.append(
                f"{where}: allowed weekdays {', '.join(s.allowed_weekdays)} with at least "
                f"{s.min_days_between_infusions} days between infusions hold only {fits} "
                f"infusions a week, fewer than infusions_per_week {s.infusions_per_week}"
            )
    return out


def _check_assessments(p: Protocol, known: frozenset[str]) -> list[str]:
    out = []
    names = [a.name for a in p.assessments]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        out.append(f"assessments: time point {dup!r} appears more than once")
    if not p.assessments:
        out.append("assessments: the plan names no time points")
    for i, a in enumerate(p.assessments):
        where = f"assessments[{i}] ({a.name})"
        anchor = a.anchor
        if not 1 <= anchor.infusion <= max(p.schedule.infusion_count, 0):
            out.append(
                f"{where}.anchor.infusion: infusion {anchor.infusion} does not exist "
                f"(the schedule has {p.schedule.infusion_count})"
            )
        if a.window_days_before < 0 or a.window_days_after < 0:
            out.append(f"{where}: window days must not be negative")
        if anchor.timing == "before":
            if anchor.offset_days != 0 or anchor.next_weekday is not None:
                out.append(
                    f"{where}.anchor: 'before infusion N' is on the day of infusion N; it takes "
                    "no offset_days or next_weekday"
                )
            if a.window_days_after != 0:
                out.append(
                    f"{where}.window_days_after: a time point before infusion "
                    f"{anchor.infusion} cannot be done after that infusion's day"
                )
        else:
            if anchor.offset_days < 0:
                out.append(f"{where}.anchor.offset_days: must not be negative")
            if anchor.next_weekday is not None and anchor.offset_days != 0:
                out.append(f"{where}.anchor: give offset_days or next_weekday, not both")
        if not a.instruments:
            out.append(f"{where}.instruments: name at least one instrument")
        for inst in a.instruments:
            if inst not in known:
                out.append(f"{where}.instruments: unknown instrument {inst!r}")
    return out


def _check_windows_on_reference_schedules(p: Protocol) -> list[str]:
    from ..rules.schedule import plan_schedule  # lazy: rules import this package

    out: list[str] = []
    seen: set[str] = set()
    for day in dict.fromkeys(p.schedule.allowed_weekdays):
        first = _REFERENCE_MONDAY + dt.timedelta(days=weekday_index(day))
        try:
            plan = plan_schedule(p, first)
        except InvalidInput as exc:
            out.append(
                f"schedule: cannot lay out a series from a {calendar.day_name[first.weekday()]}: {exc}"
            )
            continue
        found: list[str] = []
        ordered = sorted(plan.assessments, key=lambda a: (a.window_start, a.window_end))
        for earlier, later in itertools.pairwise(ordered):
            if later.window_start <= earlier.window_end:
                found.append(f"assessments: windows of {earlier.name!r} and {later.name!r} overlap")
        infusions = plan.infusions
        for visit in plan.assessments:
            anchor = p.assessment(visit.name).anchor
            n = anchor.infusion
            if anchor.timing == "before":
                if n >= 2 and visit.window_start <= infusions[n - 2]:
                    found.append(
                        f"assessments ({visit.name}): window reaches back to infusion {n - 1}"
                    )
            else:
                if visit.window_start < infusions[n - 1]:
                    found.append(f"assessments ({visit.name}): window starts before infusion {n}")
                elif (anchor.offset_days > 0 or anchor.next_weekday) and (
                    visit.window_start <= infusions[n - 1]
                ):
                    found.append(
                        f"assessments ({visit.name}): window starts on or before the day of "
                        f"infusion {n}"
                    )
                if n < len(infusions) and visit.window_end >= infusions[n]:
                    found.append(f"assessments ({visit.name}): window reaches infusion {n + 1}")
        for message in found:
            if message not in seen:
                seen.add(message)
                out.append(
                    f"{message} (series starting on a {calendar.day_name[weekday_index(day)]})"
                )
    return out


def _check_follow_up(p: Protocol, known: frozenset[str]) -> list[str]:
    f = p.follow_up
    where = "follow_up"
    out = []
    names = {a.name for a in p.assessments}
    if f.anchor_assessment not in names:
        out.append(f"{where}.anchor_assessment: no assessment time point {f.anchor_assessment!r}")
    if f.weekly_until_week < 0:
        out.append(f"{where}.weekly_until_week: must not be negative")
    if f.monthly_until_month < 0:
        out.append(f"{where}.monthly_until_month: must not be negative")
    if f.monthly_until_month and f.monthly_until_month * 28 <= f.weekly_until_week * 7:
        out.append(
            f"{where}: monthly visits up to month {f.monthly_until_month} end before the weekly "
            f"visits up to week {f.weekly_until_week}"
        )
    if f.window_days < 0:
        out.append(f"{where}.window_days: must not be negative")
    elif f.weekly_until_week >= 2 and 2 * f.window_days >= 7:
        out.append(
            f"{where}.window_days: ±{f.window_days} days makes weekly visits' windows overlap "
            "(at most 3)"
        )
    if f.anchor_assessment in names and f.weekly_until_week >= 1:
        anchor = p.assessment(f.anchor_assessment)
        if 7 - f.window_days <= anchor.window_days_after:
            out.append(
                f"{where}.window_days: the first weekly visit's window overlaps the window of "
                f"{anchor.name!r}"
            )
    if not f.instruments:
        out.append(f"{where}.instruments: name at least one instrument")
    for inst in f.instruments:
        if inst not in known:
            out.append(f"{where}.instruments: unknown instrument {inst!r}")
    if p.response.instrument not in f.instruments:
        out.append(
            f"{where}.instruments: loss of response needs {p.response.instrument!r} at follow-up"
        )
    return out


def _check_pre_infusion(p: Protocol) -> list[str]:
    out = []
    tolerance = p.pre_infusion.weight_change_tolerance_percent
    if tolerance is None:
        out.append(
            "pre_infusion.weight_change_tolerance_percent: state how far (percent) a day's "
            "weight may differ from the last recorded one before a second staff member must "
            "confirm it (§4)"
        )
    elif not 0 < tolerance <= MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT:
        out.append(
            f"pre_infusion.weight_change_tolerance_percent: {tolerance:g} must be above 0 and at "
            f"most {MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT:g} (a weight in pounds is 120 % more)"
        )
    limits = p.pre_infusion.bp_cutoff
    where = "pre_infusion.bp_cutoff"
    if not limits:
        out.append(f"{where}: give at least one blood-pressure limit (PROTOCOL.md §6)")
    for i, lim in enumerate(limits):
        if lim.max_readings_above < 0:
            out.append(f"{where}[{i}].max_readings_above: must not be negative")
        if not 0 < lim.diastolic_mmhg < lim.systolic_mmhg:
            out.append(f"{where}[{i}]: need 0 < diastolic < systolic")
    for i, a in enumerate(limits):
        for j, b in enumerate(limits):
            if i == j:
                continue
            # b is at least as strict a bound as a; if b allows more readings, it never binds
            if (
                b.systolic_mmhg >= a.systolic_mmhg
                and b.diastolic_mmhg >= a.diastolic_mmhg
                and b.max_readings_above >= a.max_readings_above
                and (b.systolic_mmhg, b.diastolic_mmhg) != (a.systolic_mmhg, a.diastolic_mmhg)
            ):
                out.append(
                    f"{where}[{j}]: {b.systolic_mmhg}/{b.diastolic_mmhg} allows "
                    f"{b.max_readings_above} readings, no fewer than the lower limit "
                    f"{a.systolic_mmhg}/{a.diastolic_mmhg} ({a.max_readings_above}); it can never "
                    "apply"
                )
    return out


def _check_monitoring(p: Protocol, known: frozenset[str]) -> list[str]:
    m = p.monitoring
    out = []
    where = "monitoring"
    if m.vitals_interval_during_minutes <= 0:
        out.append(f"{where}.vitals_interval_during_minutes: must be positive")
    if m.vitals_interval_after_minutes <= 0:
        out.append(f"{where}.vitals_interval_after_minutes: must be positive")
    for drug, d in p.dosing.items():
        if 0 < d.infusion_minutes < m.vitals_interval_during_minutes:
            out.append(
                f"{where}.vitals_interval_during_minutes: {m.vitals_interval_during_minutes} min "
                f"is longer than the {d.infusion_minutes}-minute {drug} infusion"
            )
    a = m.alerts
    if a.systolic_low_mmhg >= a.systolic_high_mmhg:
        out.append(f"{where}.alerts: systolic_low_mmhg must be below systolic_high_mmhg")
    if a.diastolic_high_mmhg >= a.systolic_high_mmhg:
        out.append(f"{where}.alerts: diastolic_high_mmhg must be below systolic_high_mmhg")
    if a.heart_rate_low_bpm >= a.heart_rate_high_bpm:
        out.append(f"{where}.alerts: heart_rate_low_bpm must be below heart_rate_high_bpm")
    if not 50 <= a.spo2_low_percent <= 100:
        out.append(f"{where}.alerts.spo2_low_percent: must be between 50 and 100")
    dis = m.discharge
    if dis.observation_minutes <= 0:
        out.append(f"{where}.discharge.observation_minutes: must be positive")
    minutes = [r.minute for r in m.ratings]
    for dup in sorted({x for x in minutes if minutes.count(x) > 1}):
        out.append(f"{where}.ratings: minute {dup} is listed twice")
    for drug, d in p.dosing.items():
        end = dis.observation_minutes + (
            d.infusion_minutes if dis.observation_from == "infusion_end" else 0
        )
        if (
            dis.observation_from == "infusion_start"
            and dis.observation_minutes <= d.infusion_minutes
        ):
            # observation counted from the start must outlast the infusion, or a patient could
            # be discharged the moment the end is recorded (§6; found by mutation testing)
            out.append(
                f"{where}.discharge.observation_minutes: {dis.observation_minutes} min from the "
                f"start does not outlast the {d.infusion_minutes}-minute {drug} infusion"
            )
        for r in m.ratings:
            if r.minute > end:
                out.append(
                    f"{where}.ratings: minute {r.minute} is after the end of observation "
                    f"({end} min after the start of the {drug} infusion)"
                )
    for i, r in enumerate(m.ratings):
        if r.minute < 0:
            out.append(f"{where}.ratings[{i}].minute: must not be negative")
        for inst in r.instruments:
            if inst not in known:
                out.append(f"{where}.ratings[{i}].instruments: unknown instrument {inst!r}")
    if dis.dissociation_instrument not in known:
        out.append(
            f"{where}.discharge.dissociation_instrument: unknown instrument "
            f"{dis.dissociation_instrument!r}"
        )
    rated_before = any(
        r.minute == 0 and dis.dissociation_instrument in r.instruments for r in m.ratings
    )
    if not rated_before:
        out.append(
            f"{where}.discharge: {dis.dissociation_instrument!r} must be rated at minute 0 so "
            "discharge can compare with the patient's baseline"
        )
    if dis.dissociation_max_points_above_baseline < 0:
        out.append(
            f"{where}.discharge.dissociation_max_points_above_baseline: must not be negative"
        )
    out += check_bedside(p, known)
    out += check_data_checks(p)
    return out


def _check_response(p: Protocol, known: frozenset[str]) -> list[str]:
    r = p.response
    out = []
    where = "response"
    if not 0 < r.min_reduction_fraction < 1:
        out.append(f"{where}.min_reduction_fraction: must be between 0 and 1 (e.g. 0.30)")
    if r.instrument not in known:
        out.append(f"{where}.instrument: unknown instrument {r.instrument!r}")
    names = {a.name for a in p.assessments}
    for field, point in (
        ("baseline_assessment", r.baseline_assessment),
        ("assessment", r.assessment),
    ):
        if point not in names:
            out.append(f"{where}.{field}: no assessment time point {point!r}")
        elif not measured_at(p, point, r.instrument):
            out.append(f"{where}.{field}: {r.instrument!r} is not measured at {point!r}")
    return out


def _check_durability_and_maintenance(p: Protocol) -> list[str]:
    out = []
    d = p.durability
    if d is not None and not 0 < d.q25_days <= d.median_days <= d.q75_days:
        out.append("durability: need 0 < q25_days ≤ median_days ≤ q75_days")
    if p.mode == "clinic" and p.maintenance is None:
        out.append("maintenance: a clinic protocol plans maintenance before the series (§8)")
    if p.maintenance is not None:
        ids = [o.id for o in p.maintenance.options]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            out.append(f"maintenance: option id {dup!r} appears more than once")
        if not ids:
            out.append("maintenance.options: name at least one option")
        for o in p.maintenance.options:
            if any(days <= 0 for days in o.interval_days):
                out.append(f"maintenance ({o.id}).interval_days: must be positive")
            if o.route == "iv_infusion" and not o.interval_days:
                out.append(f"maintenance ({o.id}).interval_days: an IV option gives its intervals")
            if o.window_days < 0 or (o.interval_days and o.window_days >= min(o.interval_days)):
                out.append(
                    f"maintenance ({o.id}).window_days: 0 up to less than the shortest interval"
                )
    return out


def _check_analysis(p: Protocol, known: frozenset[str]) -> list[str]:
    a = p.analysis
    if a is None:
        return (
            ["analysis: a trial protocol needs an analysis plan (§9)"] if p.mode == "trial" else []
        )
    out = []
    if not 0 < a.alpha < 0.5:
        out.append("analysis.alpha: must be between 0 and 0.5")
    names = [o.name for o in a.outcomes]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        out.append(f"analysis.outcomes: outcome {dup!r} appears more than once")
    out += _check_interim(a)
    for o in a.outcomes:
        where = f"analysis.outcomes ({o.name})"
        if o.instrument not in known:
            out.append(f"{where}.instrument: unknown instrument {o.instrument!r}")
            continue
        if len(o.time_points) < 2:
            out.append(f"{where}.time_points: a repeated-measures outcome needs two or more")
        for tp in o.time_points:
            if not any(x.name == tp for x in p.assessments):
                out.append(f"{where}.time_points: no assessment time point {tp!r}")
            elif not measured_at(p, tp, o.instrument):
                out.append(f"{where}: {o.instrument!r} is not measured at {tp!r}")
    return out


def _check_interim(a: AnalysisPlan) -> list[str]:
    """The interim plan is well formed and yields the stated nominal alpha (§9)."""
    i = a.interim
    if i is None:
        return []
    out = []
    if i.planned_patients < 2:
        out.append("analysis.interim.planned_patients: must be at least 2")
    if not 0 < i.overall_alpha < 0.5:
        out.append("analysis.interim.overall_alpha: must be between 0 and 0.5")
    t = i.information
    if not t or any(not 0 < x <= 1 for x in t) or any(b <= c for c, b in itertools.pairwise(t)):
        out.append("analysis.interim.information: increasing fractions in (0, 1] are required")
    elif t[-1] != 1:
        out.append("analysis.interim.information: the last look must be the final analysis (1)")
    if out:
        return out
    # Imported here: the boundary search needs scipy, which a protocol without an interim plan
    # (and every command that only loads a protocol) should not pay for at start-up.
    from ..stats.sequential import classical_boundary_design, spending_design

    design = (
        classical_boundary_design(i.overall_alpha, i.sides, t, i.function)
        if i.method == "boundary"
        else spending_design(i.overall_alpha, i.sides, t, i.function)
    )
    nominal = design.looks[0].nominal_alpha
    if round(nominal, 4) != round(a.alpha, 4):
        out.append(
            f"analysis.alpha: {a.alpha:g} does not follow from the interim plan "
            f"({i.method} {i.function}, {i.sides}-sided overall {i.overall_alpha:g}, looks at "
            f"{', '.join(f'{x:g}' for x in t)}), whose first-look nominal alpha is {nominal:.4f}"
        )
    return out
