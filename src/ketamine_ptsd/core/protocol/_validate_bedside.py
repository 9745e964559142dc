"""The protocol's bedside data checked (issue 12, 17): the edit checks' required and plausible vitals, the concomitant-medication classes, the rescue formulary."""

from __future__ import annotations

from ._limits import VITAL_RANGES
from ._protocol import Protocol

__all__ = ["MEDICATION_CLASS_IDS", "RESCUE_ROUTES", "check_bedside", "check_data_checks"]


def check_data_checks(p: Protocol) -> list[str]:
    """The edit checks name known readings, and a plausible range lies inside the possible
    one with room on both sides (issue 17)."""
    checks = p.monitoring.data_checks
    where = "monitoring.data_checks"
    out = []
    for measure in checks.required_vitals:
        if measure not in VITAL_RANGES:
            out.append(f"{where}.required_vitals: unknown reading {measure!r}")
    seen: set[str] = set()
    for r in checks.plausible_vitals:
        if r.measure not in VITAL_RANGES:
            out.append(f"{where}.plausible_vitals: unknown reading {r.measure!r}")
            continue
        if r.measure in seen:
            out.append(f"{where}.plausible_vitals: {r.measure} is given twice")
        seen.add(r.measure)
        low, high = VITAL_RANGES[r.measure]
        if not low <= r.low < r.high <= high:
            out.append(
                f"{where}.plausible_vitals.{r.measure}: {r.low}-{r.high} must be a range "
                f"inside the possible {low}-{high}"
            )
    return out


#: The classes a concomitant medication is recorded under (core.rules.MEDICATION_CLASSES; the
#: protocol package may not import the rules, so the ids are repeated here and a test keeps the
#: two equal).
MEDICATION_CLASS_IDS = (
    "benzodiazepine",
    "opioid",
    "sedative_hypnotic",
    "psychostimulant",
    "maoi",
    "lamotrigine",
    "antidepressant",
    "antipsychotic",
    "mood_stabilizer",
    "antihypertensive",
    "other",
)


#: The routes a rescue drug may be given by (services' intervention routes use the same list).
RESCUE_ROUTES = ("IV", "IM", "PO", "SL", "SC", "IN", "inhaled")


def check_bedside(p: Protocol, known: frozenset[str]) -> list[str]:
    """Respiration and sedation alerts, the vitals window, the worsening limits (§6, §12)."""
    m = p.monitoring
    out = []
    where = "monitoring"
    a = m.alerts
    if not 0 < a.respiratory_rate_low_per_min < a.respiratory_rate_high_per_min:
        out.append(
            f"{where}.alerts: respiratory_rate_low_per_min must be above 0 and below "
            "respiratory_rate_high_per_min"
        )
    if not 0 <= a.moaas_alert_at_or_below <= 4:
        out.append(
            f"{where}.alerts.moaas_alert_at_or_below: must be 0-4 (MOAA/S 5 is awake; PROTOCOL.md "
            "§11, §12)"
        )
    w = m.vitals_window
    if w.early_minutes < 0 or w.late_minutes < 0:
        out.append(f"{where}.vitals_window: early_minutes and late_minutes must not be negative")
    if w.early_minutes + w.late_minutes >= m.vitals_interval_after_minutes * 2:
        out.append(
            f"{where}.vitals_window: {w.early_minutes}+{w.late_minutes} min is wider than two "
            "readings apart: a reading could be entered for the wrong minute"
        )
    for cls in p.pre_infusion.flag_medication_classes:
        if cls not in MEDICATION_CLASS_IDS:
            out.append(
                f"pre_infusion.flag_medication_classes: unknown class {cls!r} (one of "
                f"{', '.join(MEDICATION_CLASS_IDS)})"
            )
    if not m.rescue_formulary:
        out.append(f"{where}.rescue_formulary: list the rescue drugs the bedside may give (§6)")
    drugs: set[str] = set()
    for i, r in enumerate(m.rescue_formulary):
        at = f"{where}.rescue_formulary[{i}]"
        if not r.drug.strip() or r.drug in drugs:
            out.append(f"{at}.drug: blank or listed twice ({r.drug!r})")
        drugs.add(r.drug)
        if not r.indication.strip():
            out.append(f"{at}.indication: say what it is given for")
        if not r.routes or any(route not in RESCUE_ROUTES for route in r.routes):
            out.append(f"{at}.routes: one or more of {', '.join(RESCUE_ROUTES)}")
        if not 0 < r.usual_dose_mg <= r.max_single_dose_mg <= r.max_daily_dose_mg:
            out.append(
                f"{at}: doses must satisfy 0 < usual_dose_mg <= max_single_dose_mg <= "
                "max_daily_dose_mg"
            )
    dis = m.discharge
    seen: set[str] = set()
    for i, lim in enumerate(dis.worsening_limits):
        if lim.instrument not in known:
            out.append(
                f"{where}.discharge.worsening_limits[{i}].instrument: unknown instrument "
                f"{lim.instrument!r}"
            )
        if lim.instrument in seen:
            out.append(f"{where}.discharge.worsening_limits: {lim.instrument!r} is listed twice")
        seen.add(lim.instrument)
        if lim.max_points_above_baseline < 0:
            out.append(
                f"{where}.discharge.worsening_limits[{i}].max_points_above_baseline: must not "
                "be negative"
            )
        rated = [r.minute for r in m.ratings if lim.instrument in r.instruments]
        if 0 not in rated or not any(x > 0 for x in rated):
            out.append(
                f"{where}.discharge.worsening_limits[{i}]: {lim.instrument!r} must be rated at "
                "minute 0 and after the start so discharge can compare with the baseline"
            )
    return out
