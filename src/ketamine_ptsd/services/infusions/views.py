"""What an infusion day takes in and shows: inputs, views, holds, and their builders."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import (
    VITAL_LABELS,
    VitalSigns,
    administered_dose,
)
from ketamine_ptsd.core.workflow import MAINTENANCE, PRE_RESPONSE

from .._workflow import (
    core_call,
)
from ..errors import ConflictError, ValidationFailed
from ..records import (
    AdverseEvent,
    InfusionRating,
    Intervention,
    VitalSignsRecord,
)

ROUTES = ("IV", "IM", "PO", "SL", "SC", "IN", "inhaled")


AE_SEVERITIES = ("mild", "moderate", "severe")


AE_RELATEDNESS = ("not_related", "unlikely", "possible", "probable", "definite")


AE_OUTCOMES = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)


#: Where infusion-day records may be written: the series runs until the response is decided.
ACTIVE_STATES = PRE_RESPONSE | MAINTENANCE  # the series, and maintenance after it (§8)


class InfusionHeld(ConflictError):
    """The infusion may not start: the checklist did not pass (the hold is recorded)."""

    def __init__(self, study_id: str, infusion_number: int, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__(
            "infusion",
            f"{study_id} #{infusion_number}",
            "held: " + "; ".join(self.reasons),
        )


@dataclass(frozen=True)
class ChecklistInput:
    """The nurse's findings before infusion ``infusion_number`` (PROTOCOL.md §6).

    ``bp_readings``: the readings in the order taken, as "150/85" text or (systolic, diastolic).
    Baseline vitals and the minute-0 ratings are taken from the record, not ticked here.
    """

    infusion_number: int
    nil_by_mouth: bool | None
    pregnancy_test: Literal["negative", "positive", "not_applicable"] | None
    urine_toxicology_positive_for: Sequence[str] | None
    bp_readings: Sequence[str | tuple[int, int]]
    short_acting_benzodiazepine_taken_this_morning: bool | None = None


@dataclass(frozen=True)
class ChecklistView:
    """One stored checklist run.

    ``findings``: what the nurse recorded, as stored (``nil_by_mouth``, ``pregnancy_test``,
    ``urine_toxicology_positive_for``, ``bp_readings`` as "150/85" text in the order taken,
    ``short_acting_benzodiazepine_taken_this_morning``) plus what the record supplied
    (``baseline_vitals_recorded``, ``pre_infusion_ratings_recorded``), so a form can be refilled
    from the record after a reload.
    """

    id: int
    patient_id: int
    infusion_number: int
    checked_on: dt.date
    passed: bool
    items: tuple[dict[str, Any], ...]
    hold_reasons: tuple[str, ...]
    findings: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class VitalsInput:
    """One set of vitals ``minute`` minutes after infusion start (0 = baseline, before it).

    ``measured_at``: when the reading was taken, for readings entered after the fact (a sheet
    typed in at once, a monitor's upload: :meth:`InfusionService.record_vitals_series`); None
    means now. It may not lie in the future.
    """

    minute: int
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_percent: int | None = None
    measured_at: dt.datetime | None = None
    respiratory_rate_per_min: int | None = None  # required: §12, with each set of vitals
    moaas: int | None = None  # sedation, MOAA/S 0-5: required (§11, §12)


@dataclass(frozen=True)
class VitalsView:
    id: int
    infusion_number: int
    minute: int
    measured_at: dt.datetime
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    spo2_percent: int | None
    alerts: tuple[str, ...]
    version: int
    respiratory_rate_per_min: int | None = None
    moaas: int | None = None


@dataclass(frozen=True)
class IdentityCheckView:
    """What the nurse checks with the patient (PROTOCOL.md §12): the name and date of birth on
    the record (None when none is recorded) and when today's check for this infusion was done."""

    patient_id: int
    infusion_number: int
    name: str | None
    date_of_birth: dt.date | None
    confirmed_at: dt.datetime | None


@dataclass(frozen=True)
class MissedVitalsView:
    """A scheduled reading recorded as not taken, with the reason (§6)."""

    id: int
    infusion_number: int
    minute: int
    reason: str
    recorded_at: dt.datetime
    version: int


@dataclass(frozen=True)
class InterventionInput:
    """A rescue drug given during an infusion day, from the protocol's formulary, e.g.
    labetalol 5 mg IV for high BP (§6)."""

    drug: str
    dose_mg: float
    route: str
    reason: str
    minute: int | None = None
    #: on a day already discharged: why it is entered late (required, audited)
    late_entry_reason: str | None = None


@dataclass(frozen=True)
class InterventionView:
    id: int
    infusion_number: int
    given_at: dt.datetime
    minute: int | None
    drug: str
    dose_mg: float
    route: str
    reason: str
    version: int


@dataclass(frozen=True)
class RatingView:
    """An infusion-day rating (only for roles with ``infusion_rating.read``)."""

    id: int
    infusion_number: int
    minute: int
    instrument: str
    total: float | None
    subscales: dict[str, Any]
    derived: dict[str, Any]
    items: dict[str, Any]
    version: int


@dataclass(frozen=True)
class AdverseEventInput:
    term: str
    onset_date: dt.date
    serious: bool
    severity: str  # AE_SEVERITIES
    relatedness: str  # AE_RELATEDNESS
    action: str
    outcome: str  # AE_OUTCOMES
    infusion_number: int | None = None
    resolved_on: dt.date | None = None


@dataclass(frozen=True)
class AdverseEventView:
    id: int
    patient_id: int
    infusion_number: int | None
    term: str
    onset_date: dt.date
    serious: bool
    severity: str
    relatedness: str
    action: str
    outcome: str
    resolved_on: dt.date | None
    version: int


@dataclass(frozen=True)
class Countersign:
    """A second staff member at the bedside: their own username and password (an independent
    double-check, ISMP high-alert practice); verified, counted like a sign-in, audited."""

    username: str
    password: str


@dataclass(frozen=True)
class BagInput:
    """The bag as labelled (PROTOCOL.md §4, §6). ``concentration_mg_per_ml``: what the label says,
    entered by staff who see the drug; a blinded nurse leaves it None and confirms the volume
    (the pharmacy that prepared the bag confirmed its concentration). ``prepared_by``: the
    username of who made it up."""

    lot: str
    expiry: dt.date
    volume_ml: float
    prepared_by: str
    concentration_mg_per_ml: float | None = None


@dataclass(frozen=True)
class PumpCheck:
    """The second staff member's independent check of the pump: the rate they read on it, and
    (when the day's weight needs it) their confirmation of the weight (§4)."""

    witness: Countersign
    pump_rate_ml_per_h: float
    confirms_weight: bool = False


@dataclass(frozen=True)
class EarlyStop:
    """An infusion stopped before the bag ran through: the volume actually given and why (§6)."""

    volume_given_ml: float
    reason: str


@dataclass(frozen=True)
class AdministrationView:
    """The bag, the double-check and what was given (drug accountability). The concentration and
    the mg given are None for a blinded reader (they tell the arm)."""

    bag_lot: str
    bag_expiry: dt.date
    bag_volume_ml: float
    bag_concentration_mg_per_ml: float | None
    prepared_by: str
    started_by: str
    checked_by: str
    pump_rate_ml_per_h: float
    supervising_physician: str
    weight_previous_kg: float | None
    weight_confirmed_by: str | None
    weight_confirmation_reasons: tuple[str, ...]
    stopped_early: bool | None
    early_stop_reason: str | None
    volume_given_ml: float | None
    dose_given_mg: float | None
    volume_wasted_ml: float | None
    waste_witnessed_by: str | None


@dataclass(frozen=True)
class InfusionDayView:
    """A started infusion as the actor may see it.

    ``drug`` is "study drug" and ``dose_mg``/``concentration_mg_per_ml``/``dose_arithmetic`` are
    None for a blinded reader; ``volume_ml`` and ``rate_ml_per_h`` are the same in every arm.
    """

    id: int
    patient_id: int
    infusion_number: int
    infusion_date: dt.date
    weight_kg: float
    drug: str
    dose_mg: float | None
    concentration_mg_per_ml: float | None
    dose_arithmetic: str | None
    volume_ml: float
    rate_ml_per_h: float
    infusion_minutes: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    vitals_due_minutes: tuple[int, ...]
    discharged_at: dt.datetime | None
    version: int
    administration: AdministrationView | None = None


@dataclass(frozen=True)
class DischargeView:
    """Discharge readiness; ``reason_codes[i]`` (a :class:`DischargeCriterion` value, from the
    core rule) names ``reasons[i]``."""

    ready: bool
    earliest_discharge: dt.datetime | None
    reasons: tuple[str, ...]
    discharged_at: dt.datetime | None
    version: int
    reason_codes: tuple[str, ...] = ()
    #: scheduled vitals minutes neither recorded nor explained (what the form offers to explain)
    vitals_missing: tuple[int, ...] = ()


@dataclass(frozen=True)
class Dose:
    drug: str
    dose_mg: float
    concentration_mg_per_ml: float
    volume_ml: float
    rate_ml_per_h: float
    minutes: int
    arithmetic: str


def dose_for(protocol: Protocol, drug: str, weight_kg: float) -> Dose:
    """Dose, volume and rate for ``drug`` by the one dose rule
    (:func:`ketamine_ptsd.core.rules.administered_dose`: one volume and rate for every arm of a
    blinded trial, the mg delivered by that volume; PROTOCOL.md §3, §4)."""
    r = core_call(administered_dose, protocol, drug, weight_kg)
    return Dose(
        drug,
        r.dose_mg,
        r.concentration_mg_per_ml,
        r.volume_ml,
        r.rate_ml_per_h,
        r.minutes,
        r.arithmetic,
    )


def score_fields(result: Any) -> dict[str, Any]:
    return {
        "items": dict(result.items),
        "total": None if result.total is None else float(result.total),
        "subscales": dict(result.subscales),
        "derived": dict(result.derived),
    }


def checked_vitals(data: VitalsInput, position: int | None) -> VitalSigns:
    """Validate one reading (a minute of 0 or more, at least one value, values in range);
    ``position`` prefixes the field name when the reading is one of a series."""
    prefix = "" if position is None else f"readings.{position}."
    if isinstance(data.minute, bool) or not isinstance(data.minute, int) or data.minute < 0:
        raise ValidationFailed(
            prefix + "minute", "minutes after infusion start, 0 or more", data.minute
        )
    try:
        vitals = core_call(
            VitalSigns,
            data.systolic_mmhg,
            data.diastolic_mmhg,
            data.heart_rate_bpm,
            data.spo2_percent,
            data.respiratory_rate_per_min,
            data.moaas,
        )
    except ValidationFailed as exc:
        if position is None:
            raise
        raise ValidationFailed(prefix + exc.field, exc.message, exc.value) from exc
    if all(v is None for v in (vitals.systolic_mmhg, vitals.heart_rate_bpm, vitals.spo2_percent)):
        raise ValidationFailed(prefix + "vitals", "record at least one value", None)
    # PROTOCOL.md §12: respiratory rate and a sedation score with each set of vital signs.
    for name in ("respiratory_rate_per_min", "moaas"):
        if getattr(vitals, name) is None:
            label = VITAL_LABELS[name].split(" (")[0]
            raise ValidationFailed(
                prefix + name,
                f"{label} is recorded with each set of vitals (PROTOCOL.md §12)",
                None,
            )
    return vitals


def check_ae(term: str, severity: str, relatedness: str, outcome: str, action: str) -> None:
    if not term.strip():
        raise ValidationFailed("term", "must not be blank", term)
    if severity not in AE_SEVERITIES:
        raise ValidationFailed("severity", f"one of {', '.join(AE_SEVERITIES)}", severity)
    if relatedness not in AE_RELATEDNESS:
        raise ValidationFailed("relatedness", f"one of {', '.join(AE_RELATEDNESS)}", relatedness)
    if outcome not in AE_OUTCOMES:
        raise ValidationFailed("outcome", f"one of {', '.join(AE_OUTCOMES)}", outcome)
    if not action.strip():
        raise ValidationFailed(
            "action", "say what was done (e.g. 'none', 'infusion paused')", action
        )


def vitals_view(r: VitalSignsRecord) -> VitalsView:
    return VitalsView(
        r.id,
        r.infusion_number,
        r.minute,
        r.measured_at,
        r.systolic_mmhg,
        r.diastolic_mmhg,
        r.heart_rate_bpm,
        r.spo2_percent,
        tuple(r.alerts),
        r.version,
        r.respiratory_rate_per_min,
        r.moaas,
    )


def intervention_view(r: Intervention) -> InterventionView:
    return InterventionView(
        r.id,
        r.infusion_number,
        r.given_at,
        r.minute,
        r.drug,
        r.dose_mg,
        r.route,
        r.reason,
        r.version,
    )


def rating_view(r: InfusionRating) -> RatingView:
    return RatingView(
        r.id,
        r.infusion_number,
        r.minute,
        r.instrument,
        r.total,
        dict(r.subscales),
        dict(r.derived),
        dict(r.items),
        r.version,
    )


def ae_view(r: AdverseEvent) -> AdverseEventView:
    return AdverseEventView(
        r.id,
        r.patient_id,
        r.infusion_number,
        r.term,
        r.onset_date,
        r.serious,
        r.severity,
        r.relatedness,
        r.action,
        r.outcome,
        r.resolved_on,
        r.version,
    )
