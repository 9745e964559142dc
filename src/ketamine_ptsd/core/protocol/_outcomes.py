"""Response, durability, maintenance and the analysis plan (PROTOCOL.md §8, §9)."""

from __future__ import annotations

from typing import Literal

from ._base import FrozenModel

__all__ = [
    "AnalysisOutcome",
    "AnalysisPlan",
    "Durability",
    "InterimPlan",
    "MaintenanceOption",
    "MaintenancePlan",
    "Requirement",
    "ResponseDefinition",
]


class ResponseDefinition(FrozenModel):
    """Response: ``measure`` of ``instrument`` at least ``min_reduction_fraction`` below baseline
    at the primary time point (§8: CAPS-5 total, ≥ 30 %, week 2)."""

    instrument: str
    measure: str
    min_reduction_fraction: float
    baseline_assessment: str
    assessment: str


class Durability(FrozenModel):
    """Days from the primary outcome day to loss of response among responders (§8, RCT)."""

    q25_days: float
    median_days: float
    q75_days: float
    source: str


class Requirement(FrozenModel):
    """A condition a maintenance option needs, named by the fact that records it."""

    fact: str
    text: str


class MaintenanceOption(FrozenModel):
    """One way to sustain a response after the series (§8)."""

    id: str
    label: str
    description: str
    interval_days: tuple[int, ...]
    requirements: tuple[Requirement, ...]
    section: str
    #: How it is given: ``iv_infusion`` options are the record's maintenance infusions, each an
    #: infusion day with the series' safety (issue 13); the others are planned, not run here.
    route: Literal["iv_infusion", "intranasal", "other"] = "other"
    #: How many days before its interval a maintenance infusion may come (the schedule's window).
    window_days: int = 0


class MaintenancePlan(FrozenModel):
    """Maintenance is planned before the series starts (§8)."""

    plan_before_series: bool
    options: tuple[MaintenanceOption, ...]


class AnalysisOutcome(FrozenModel):
    """One outcome of §9 with the time points it is analysed at."""

    name: str
    instrument: str
    measure: str
    time_points: tuple[str, ...]
    model: Literal["mmrm", "cumulative_logit"]


class InterimPlan(FrozenModel):
    """The group-sequential plan behind the trial's nominal alpha (§9).

    ``method: boundary`` is a classical Pocock or O'Brien-Fleming design at the planned looks;
    ``method: spending`` a Lan-DeMets spending function. The validator derives the nominal level
    of the first look from this plan and checks it against ``AnalysisPlan.alpha``, so the
    protocol's 0.0304 is a consequence of the design rather than a number typed in.
    """

    planned_patients: int
    overall_alpha: float
    sides: Literal[1, 2]
    method: Literal["boundary", "spending"]
    function: Literal["pocock", "obrien-fleming"]
    information: tuple[float, ...]
    note: str = ""


class AnalysisPlan(FrozenModel):
    """The RCT's statistical analysis plan (§9)."""

    population: Literal["itt"]
    alpha: float
    alpha_note: str
    covariance: Literal["cs", "un", "ar1", "csh", "toep"]
    ddf: Literal["between-within", "residual", "satterthwaite", "kenward-roger"]
    outcomes: tuple[AnalysisOutcome, ...]
    responder_test: Literal["chi2_yates", "chi2_pearson", "fisher"]
    durability_method: Literal["kaplan_meier"]
    interim: InterimPlan | None = None
