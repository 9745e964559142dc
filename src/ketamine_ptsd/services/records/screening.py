"""Screening and the clinic's plans (PROTOCOL.md §1, §2, §8, §11)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .base import Record

__all__ = [
    "EligibilityDecisionRecord",
    "MaintenancePlan",
    "MaintenanceSchedule",
    "RiskBenefitDecisionRecord",
    "SafetyPlan",
    "ScreeningVisit",
    "TreatmentResistance",
]


class ScreeningVisit(Record):
    """The screening visit's facts (PROTOCOL.md §1/§2 vocabulary) and measures (scored items)."""

    patient_id: int
    visit_date: dt.date
    protocol_version: str
    facts: dict[str, Any]
    measures: dict[str, Any]
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class EligibilityDecisionRecord(Record):
    """One evaluation of the protocol's criteria: overall status and every criterion's reason."""

    patient_id: int
    visit_id: int
    status: str
    criteria: list[dict[str, Any]]
    facts_used: dict[str, Any]
    evaluated_at: dt.datetime
    evaluated_by: int | None
    version: int


class RiskBenefitDecisionRecord(Record):
    """A documented risk-benefit decision on a relative contraindication (PROTOCOL.md §2)."""

    patient_id: int
    criterion_id: str
    proceed: bool
    decided_by_name: str
    decided_on: dt.date
    rationale: str
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class SafetyPlan(Record):
    """A documented safety plan (PROTOCOL.md §2: needed to treat with active suicidal intent)."""

    patient_id: int
    documented_on: dt.date
    warning_signs: str
    coping_strategies: str
    contacts: str
    means_restriction: str
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class TreatmentResistance(Record):
    """Documented earlier treatments (PROTOCOL.md §2: ≥ 1 trauma-focused therapy, ≥ 2 SSRI/SNRI)."""

    patient_id: int
    psychotherapy_trials: list[dict[str, Any]]
    medication_trials: list[dict[str, Any]]
    documented_on: dt.date
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class MaintenanceSchedule(Record):
    """Periodic IV maintenance after the series (PROTOCOL.md §8, §11; issue 13); open while
    ``stopped_on`` is None."""

    patient_id: int
    option_id: str
    interval_days: int
    starts_on: dt.date
    reason: str | None
    recorded_by: int | None
    recorded_at: dt.datetime
    stopped_on: dt.date | None
    stopped_by: int | None
    stop_reason: str | None
    version: int


class MaintenancePlan(Record):
    """The maintenance plan made before the series (PROTOCOL.md §8)."""

    patient_id: int
    option_ids: list[str]
    site_facts: dict[str, bool]
    interval_days: int | None
    notes: str | None
    planned_on: dt.date
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int
