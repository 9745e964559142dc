"""Infusion-day parameters: pre-infusion checks, monitoring, ratings, discharge (PROTOCOL.md §6).

The numbers the RCT report gives (vitals every 5 minutes during and every 15 after, the 140/90 and
160/90 cutoff, ratings at 0/40/120 minutes, observation to 120 minutes after the start, or at least
2 hours after the end on the clinical pathway) are data here. Alert thresholds for the bedside are
not in the report; each protocol file states its site's values.
"""

from __future__ import annotations

from typing import Literal

from ._base import FrozenModel

__all__ = [
    "AlertThresholds",
    "BpLimit",
    "DataChecks",
    "DischargeCriteria",
    "Monitoring",
    "PlausibleRange",
    "PreInfusionChecks",
    "RatingTime",
    "RescueDrug",
    "VitalsWindow",
    "WorseningLimit",
]


class BpLimit(FrozenModel):
    """At most ``max_readings_above`` readings may exceed systolic or diastolic bound (§6)."""

    systolic_mmhg: int
    diastolic_mmhg: int
    max_readings_above: int


class PreInfusionChecks(FrozenModel):
    """What must be confirmed before an infusion starts (§6, §1 for the benzodiazepine hold)."""

    require_nil_by_mouth: bool
    require_pregnancy_test: bool
    require_urine_toxicology: bool
    urine_toxicology_allowed: tuple[str, ...]
    require_baseline_vitals: bool
    hold_short_acting_benzodiazepine_morning_dose: bool
    bp_cutoff: tuple[BpLimit, ...]
    # §1, §11: concomitant medication classes the checklist flags (they change sedation or
    # blood pressure); values of core.rules.MEDICATION_CLASSES.
    flag_medication_classes: tuple[str, ...]
    #: How far (percent of the last recorded weight) the day's weight may differ before a
    #: second staff member must confirm it (§4; a site parameter, e.g. 10). Optional in the
    #: model so that the validator can name it when a protocol file leaves it out.
    weight_change_tolerance_percent: float | None = None


class AlertThresholds(FrozenModel):
    """Vital-sign values that raise an alert during or after an infusion (site parameters)."""

    systolic_high_mmhg: int
    diastolic_high_mmhg: int
    systolic_low_mmhg: int
    heart_rate_high_bpm: int
    heart_rate_low_bpm: int
    spo2_low_percent: int
    # §12: respiratory rate and a sedation score with each set of vital signs (MOAA/S 0-5, as
    # the esketamine label monitors sedation, §11): breaths/min beyond these bounds alert, and
    # a MOAA/S at or below ``moaas_alert_at_or_below`` alerts (5 = awake, 0 = no response).
    respiratory_rate_low_per_min: int
    respiratory_rate_high_per_min: int
    moaas_alert_at_or_below: int


class VitalsWindow(FrozenModel):
    """When a reading for minute ``m`` after the start may be entered (§6: the timetable is
    kept by the clock): from ``m - early_minutes`` to ``m + late_minutes`` after the start. A
    reading outside it is refused; a reading not taken is recorded as missed, with the reason."""

    early_minutes: int
    late_minutes: int


class WorseningLimit(FrozenModel):
    """An infusion-day rating (§6: BPRS positive, YMRS item 1) may be at most
    ``max_points_above_baseline`` above its pre-infusion score at discharge; beyond it only a
    physician's recorded decision lets the patient go."""

    instrument: str
    max_points_above_baseline: float


class RatingTime(FrozenModel):
    """Infusion-day ratings at ``minute`` after infusion start; minute 0 means just before."""

    minute: int
    instruments: tuple[str, ...]


class DischargeCriteria(FrozenModel):
    """When a patient may leave (§6)."""

    observation_minutes: int
    observation_from: Literal["infusion_start", "infusion_end"]
    dissociation_instrument: str
    dissociation_max_points_above_baseline: float
    require_ambulatory: bool
    require_physician_signoff: bool
    require_delayed_effects_check: bool
    worsening_limits: tuple[WorseningLimit, ...]


class RescueDrug(FrozenModel):
    """A drug of the rescue formulary (§6: "one RCT patient needed labetalol 5 mg IV"; site
    parameters): what it is for, the routes, the usual dose, the most in one dose and in one
    infusion day, in mg."""

    drug: str
    indication: str
    routes: tuple[str, ...]
    usual_dose_mg: float
    max_single_dose_mg: float
    max_daily_dose_mg: float


class PlausibleRange(FrozenModel):
    """A reading outside ``low``–``high`` is possible but unlikely enough to confirm against
    the source (issue 17: a data query, not a refusal; the bedside refuses only impossible
    values, core.rules.VITAL_RANGES)."""

    measure: str
    low: int
    high: int


class DataChecks(FrozenModel):
    """The protocol's edit checks (issue 17, site parameters): each vitals reading should
    carry ``required_vitals`` (§6, §12: blood pressure, heart rate, SpO2, respiratory rate and
    sedation at each reading), and a value outside its ``plausible_vitals`` range is confirmed
    against source. A finding is stored and raises an automatic query; it blocks nothing."""

    required_vitals: tuple[str, ...] = ()
    plausible_vitals: tuple[PlausibleRange, ...] = ()


class Monitoring(FrozenModel):
    """During and after the infusion (§6)."""

    continuous_ecg: bool
    vitals_interval_during_minutes: int
    vitals_interval_after_minutes: int
    vitals_window: VitalsWindow
    alerts: AlertThresholds
    ratings: tuple[RatingTime, ...]
    discharge: DischargeCriteria
    rescue_formulary: tuple[RescueDrug, ...]
    #: A C-SSRS screener at or above this risk level (§7: low, moderate, high) raises an alert
    #: and a physician task, and holds the next infusion until a physician reviewed it (a site
    #: parameter; issue 12 item 8).
    suicide_risk_review_level: Literal["low", "moderate", "high"] = "moderate"
    #: The edit checks that raise automatic data queries (issue 17); none by default.
    data_checks: DataChecks = DataChecks()
