"""What screening takes in and shows: the visit, the decision with every criterion, risk-benefit decisions, demographics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import ValidationFailed
from .records import (
    EligibilityDecisionRecord,
)

#: Facts the record derives from other records (never entered on the visit form).
DERIVED_FACTS = frozenset(
    {
        "written_informed_consent",
        "independent_capacity_confirmed",
        "consent_off_label_use",
        "consent_expected_dissociation",
        "consent_post_infusion_monitoring",
        "consent_limited_durability_maintenance",
        "adequate_trauma_focused_psychotherapy_trials",
        "adequate_ssri_snri_trials",
        "safety_plan_documented",
        "maintenance_plan_documented",
        "caps5_past_month_total",
    }
)


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


@dataclass(frozen=True)
class ScreeningVisitInput:
    """What the screening visit records (PROTOCOL.md §1 "screening also records", §2).

    ``facts``: the protocol's eligibility facts (bool or number) as assessed at the visit.
    ``caps5_past_month``: CAPS-5 past-month items (1–20 at least; §1 inclusion uses the total).
    ``cssrs``: C-SSRS screener items; ``cgi_s``: CGI-S (1–7). ``checks``: the other screening
    procedures and their results as short text or yes/no (SCID-5, psychiatrist review, physical
    exam, blood count, chemistry, urine toxicology, ECG). ``weight_kg``/``height_cm``: the
    screening weight and height (BMI is computed); every infusion day's weight is compared with
    the last recorded weight, this one first (PROTOCOL.md §4).
    """

    visit_date: dt.date
    facts: Mapping[str, bool | int | float] = field(default_factory=dict)
    caps5_past_month: Mapping[str, Any] | None = None
    cssrs: Mapping[str, Any] | None = None
    cgi_s: int | None = None
    checks: Mapping[str, bool | str] = field(default_factory=dict)
    weight_kg: float | None = None
    height_cm: float | None = None


@dataclass(frozen=True)
class CriterionView:
    criterion_id: str
    kind: str
    section: str
    status: str
    reason: str


@dataclass(frozen=True)
class EligibilityView:
    """One stored evaluation: overall status, every criterion with its reason and §."""

    id: int
    patient_id: int
    visit_id: int
    status: str  # eligible | ineligible | incomplete | pending
    criteria: tuple[CriterionView, ...]
    evaluated_at: dt.datetime
    outcome: str | None  # the CONSORT outcome written with it (eligible | screen_failed)
    version: int

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every criterion that is not a pass, with its § (what blocks or failed)."""
        return tuple(f"{c.reason} ({c.section})" for c in self.criteria if c.status != "pass")


@dataclass(frozen=True)
class ScreeningVisitView:
    id: int
    patient_id: int
    visit_date: dt.date
    facts: dict[str, Any]
    measures: dict[str, Any]
    version: int
    decision: EligibilityView


@dataclass(frozen=True)
class RiskBenefitView:
    id: int
    patient_id: int
    criterion_id: str
    proceed: bool
    decided_by_name: str
    decided_on: dt.date
    rationale: str
    recorded_at: dt.datetime
    version: int


@dataclass(frozen=True)
class DemographicsInput:
    """Table 1 characteristics (PROTOCOL.md §10); every field optional."""

    age_years: int | None = None
    sex: str | None = None
    race: str | None = None
    hispanic: bool | None = None
    bmi_kg_m2: float | None = None
    ptsd_duration_years: float | None = None
    comorbid_mdd: bool | None = None
    concomitant_psychotherapy: bool | None = None
    stable_psychotropics: bool | None = None
    primary_trauma: str | None = None


@dataclass(frozen=True)
class DemographicsView(DemographicsInput):
    patient_id: int = 0
    version: int = 0


def check_facts(facts: Mapping[str, Any]) -> dict[str, bool | int | float]:
    cleaned: dict[str, bool | int | float] = {}
    for name, value in facts.items():
        if name in DERIVED_FACTS:
            raise ValidationFailed(
                f"facts.{name}", "is derived from the record (consent, clinic plans, CAPS-5)", value
            )
        if isinstance(value, bool) or (
            isinstance(value, int | float) and value == value  # not NaN
        ):
            cleaned[str(name)] = value
        else:
            raise ValidationFailed(f"facts.{name}", "expected yes/no or a number", value)
    return cleaned


def check_demographics(data: DemographicsInput) -> None:
    if data.age_years is not None and not 0 < data.age_years < 120:
        raise ValidationFailed("age_years", "must be 1-119 years", data.age_years)
    if data.sex is not None and data.sex not in {s.value for s in Sex}:
        raise ValidationFailed("sex", "female, male or other", data.sex)
    if data.bmi_kg_m2 is not None and not 10 <= data.bmi_kg_m2 <= 80:
        raise ValidationFailed("bmi_kg_m2", "must be 10-80 kg/m²", data.bmi_kg_m2)
    if data.ptsd_duration_years is not None and not 0 <= data.ptsd_duration_years <= 100:
        raise ValidationFailed(
            "ptsd_duration_years", "must be 0-100 years", data.ptsd_duration_years
        )


def decision_view(record: EligibilityDecisionRecord, outcome: str | None) -> EligibilityView:
    return EligibilityView(
        id=record.id,
        patient_id=record.patient_id,
        visit_id=record.visit_id,
        status=record.status,
        criteria=tuple(CriterionView(**c) for c in record.criteria),
        evaluated_at=record.evaluated_at,
        outcome=outcome,
        version=record.version,
    )
