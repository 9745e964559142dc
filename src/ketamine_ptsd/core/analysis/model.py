"""The analysis's inputs and results: outcome specs, the dataset, CONSORT, responders, safety, interim monitoring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import ResponseDefinition
from ketamine_ptsd.core.stats.mmrm import MMRMResult
from ketamine_ptsd.core.stats.ordinal import OrdinalFit
from ketamine_ptsd.core.stats.responders import ResponderResult
from ketamine_ptsd.core.stats.sequential import SequentialDesign
from ketamine_ptsd.core.stats.survival import KaplanMeier, LogRank

if TYPE_CHECKING:
    from .adverse_events import AdverseEventSummary
    from .blinding import BlindingAssessment
    from .sensitivity import SensitivityAnalysis

FRAME_NAMES = (
    "screening",
    "subjects",
    "outcomes",
    "follow_up",
    "durability",
    "vitals",
    "infusion_ratings",
    "side_effects",
    "interventions",
    "adverse_events",
    "cssrs",
)


@dataclass(frozen=True)
class OutcomeSpec:
    """One analysed outcome of §9: its measure in ``outcomes``, time points and model."""

    name: str
    label: str
    time_points: tuple[str, ...]
    model: str  # "mmrm" | "cumulative_logit"
    unit: str = "points"


MAIN_TIMES = ("baseline", "week1", "week2")


DEFAULT_OUTCOMES: tuple[OutcomeSpec, ...] = (
    OutcomeSpec("caps5_total", "CAPS-5 total severity", MAIN_TIMES, "mmrm"),
    OutcomeSpec("caps5_intrusion", "CAPS-5 intrusion (B)", MAIN_TIMES, "mmrm"),
    OutcomeSpec("caps5_avoidance", "CAPS-5 avoidance (C)", MAIN_TIMES, "mmrm"),
    OutcomeSpec(
        "caps5_negative_cognitions_mood",
        "CAPS-5 negative cognitions and mood (D)",
        MAIN_TIMES,
        "mmrm",
    ),
    OutcomeSpec(
        "caps5_arousal_reactivity", "CAPS-5 arousal and reactivity (E)", MAIN_TIMES, "mmrm"
    ),
    OutcomeSpec("madrs_total", "MADRS total", MAIN_TIMES, "mmrm"),
    OutcomeSpec("cgi_s", "CGI-S", MAIN_TIMES, "cumulative_logit", unit="score 1-7"),
    OutcomeSpec("cgi_i", "CGI-I", ("week1", "week2"), "cumulative_logit", unit="score 1-7"),
    OutcomeSpec("ies_r_24h", "IES-R total (past 24 h)", ("baseline", "h24"), "mmrm"),
    OutcomeSpec("madrs_24h", "MADRS total (past 24 h)", ("baseline", "h24"), "mmrm"),
)


OUTCOME_LABELS = {spec.name: spec.label for spec in DEFAULT_OUTCOMES}


def outcomes_from_plan(plan: Any) -> tuple[OutcomeSpec, ...]:
    """The analysed outcomes of a protocol's analysis plan (``core.protocol.AnalysisPlan``,
    PROTOCOL.md §9): name, time points and model from the plan; the display label of a known
    outcome (else its name); ordinal outcomes on the CGI 1–7 scale."""
    return tuple(
        OutcomeSpec(
            o.name,
            OUTCOME_LABELS.get(o.name, o.name),
            tuple(o.time_points),
            o.model,
            unit="score 1-7" if o.model == "cumulative_logit" else "points",
        )
        for o in plan.outcomes
    )


TIME_LABELS = {
    "baseline": "Baseline",
    "h24": "24 h",
    "week1": "Week 1",
    "week2": "Week 2",
}


@dataclass(frozen=True)
class AnalysisDataset:
    """The analysis tables (see ``simulation.synthetic_dataset`` for the columns) and the arms,
    active first, control second (``arms`` of length 1 for the clinic's open-label series)."""

    frames: Mapping[str, pd.DataFrame]
    arms: tuple[str, ...]
    title: str = "Repeated IV ketamine for chronic PTSD"

    def __post_init__(self) -> None:
        missing = [name for name in FRAME_NAMES if name not in self.frames]
        if missing:
            raise InvalidInput("dataset", f"missing tables: {', '.join(missing)}", missing)
        if not self.arms:
            raise InvalidInput("arms", "at least one arm is needed", self.arms)

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames[name]


@dataclass(frozen=True)
class Consort:
    assessed: int
    ineligible: int
    declined: int
    ineligible_reasons: tuple[tuple[str, int], ...]
    randomized: int
    allocated: dict[str, int]
    received_all: dict[str, int]
    withdrew: dict[str, int]
    analysed: dict[str, int]
    #: Randomized, not withdrawn, no primary outcome, and past its window (not ``ongoing``).
    lost_to_follow_up: dict[str, int] = field(default_factory=dict)
    #: Randomized, not withdrawn, no primary outcome yet, and its window not yet passed.
    ongoing: dict[str, int] = field(default_factory=dict)
    #: Found eligible by an investigator's override of named criteria (issue 11), not the rules.
    eligible_by_override: int = 0
    #: Randomized patients with primary-endpoint data (the response measure at the primary
    #: time point, §8): the DSMB interim's information counts these (observed ÷ planned).
    with_primary: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ResponseSpec:
    """The protocol's response definition (§8) as the analysis frames name it: ``measure`` in
    ``outcomes`` at ``primary`` against ``baseline``, at least ``threshold`` lower."""

    definition: ResponseDefinition
    measure: str
    label: str

    @property
    def threshold(self) -> float:
        return self.definition.min_reduction_fraction

    @property
    def baseline(self) -> str:
        return self.definition.baseline_assessment

    @property
    def primary(self) -> str:
        return self.definition.assessment


#: The RCT's nominal two-sided level (PROTOCOL.md §9: 0.0304 "per the Pocock alpha spending
#: function"), used only for data analysed without a protocol's analysis plan (an imported
#: long-format file); with a plan, its ``analysis.alpha`` (which the validator derives from its
#: ``analysis.interim`` design).
RCT_NOMINAL_ALPHA = 0.0304
RCT_ALPHA_NOTE = (
    "the RCT's nominal level, PROTOCOL.md §9; no protocol analysis plan was given for these data"
)


#: The RCT's definition (§8), for data without a protocol (an imported long-format file).
RCT_RESPONSE = ResponseDefinition(
    instrument="caps5_past_week",
    measure="total",
    min_reduction_fraction=0.30,
    baseline_assessment="baseline",
    assessment="week2",
)


def response_spec(plan: Any, response: ResponseDefinition | None) -> ResponseSpec:
    """The response definition of the protocol, named as its analysis plan names the measure."""
    definition = response or RCT_RESPONSE
    if plan is None or response is None:
        return ResponseSpec(definition, "caps5_total", OUTCOME_LABELS["caps5_total"])
    for o in plan.outcomes:
        if o.instrument == definition.instrument and o.measure == definition.measure:
            return ResponseSpec(definition, o.name, OUTCOME_LABELS.get(o.name, o.name))
    raise InvalidInput(
        "response",
        f"the analysis plan analyses no {definition.instrument} {definition.measure}, the "
        "protocol's response measure (§8, §9)",
        definition.instrument,
    )


@dataclass(frozen=True)
class Responders:
    counts: dict[str, tuple[int, int]]  # arm → (responders, n)
    result: ResponderResult | None
    spec: ResponseSpec

    @property
    def threshold(self) -> float:
        return self.spec.threshold


@dataclass(frozen=True)
class Durability:
    curves: tuple[KaplanMeier, ...]
    logrank: LogRank | None
    data: pd.DataFrame


@dataclass(frozen=True)
class Safety:
    infusion_ratings: pd.DataFrame  # arm, measure, minute, mean, se, n
    vitals: pd.DataFrame  # arm, minute, measure, mean, se, n
    side_effects: pd.DataFrame  # symptom, timing, per-arm n and %
    interventions: pd.DataFrame
    adverse_events: pd.DataFrame
    cssrs: pd.DataFrame  # arm, positive_baseline, improved_week2, n


@dataclass(frozen=True)
class AnalysisResults:
    """Everything the report shows. ``arms`` are display labels (codes when blinded), active
    first; ``difference_label`` says which way differences run; ``missing`` names analyses that
    could not be run and why (the report prints them, never a number in their place)."""

    title: str
    arms: tuple[str, ...]
    blinded: bool
    difference_label: str
    alpha: float
    consort: Consort
    table1: pd.DataFrame
    mmrm: dict[str, tuple[OutcomeSpec, MMRMResult]]
    ordinal: dict[str, tuple[OutcomeSpec, OrdinalFit]]
    responders: Responders
    durability: Durability
    safety: Safety
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    interim: InterimMonitoring | None = None
    #: The primary outcome's jump-to-reference MI and tipping point (final report only;
    #: ``core.analysis.sensitivity``), or None.
    sensitivity: SensitivityAnalysis | None = None
    #: The end-of-treatment guesses per respondent type with Bang's and James' indices
    #: (``core.analysis.blinding``; issue 15), in the arms' labels (coded in the packet).
    blinding: BlindingAssessment | None = None
    #: Where ``alpha`` comes from, in words (the analysis plan's note; in the DSMB packet, the
    #: nominal level of this look derived from the plan's overall alpha). Every place a report
    #: states the level prints ``alpha_statement``, so one report states one alpha.
    alpha_note: str = ""
    #: The MedDRA safety summary by arm: patients with at least one adverse event, by SOC and PT,
    #: serious, related, leading to discontinuation (``core.analysis.adverse_events``).
    ae_summary: AdverseEventSummary | None = None

    @property
    def alpha_statement(self) -> str:
        """The report's one alpha, with its source."""
        return f"{self.alpha:.4g}" + (f" ({self.alpha_note})" if self.alpha_note else "")


@dataclass(frozen=True)
class InterimMonitoring:
    """Where the interim test statistic stands against the group-sequential boundary.

    ``design`` has a look at ``information`` (observed ÷ planned patients) and one at 1 (the
    final analysis); ``boundary_z`` and ``nominal_alpha`` are those of the interim look. ``z`` is
    the primary outcome's Wald statistic (difference ÷ SE at its last time point, from the MMRM);
    ``crossed`` is |z| ≥ boundary (two-sided) or z ≥ boundary (one-sided).
    """

    outcome: str
    time: str
    observed_patients: int
    planned_patients: int
    information: float
    alpha: float
    sides: int
    spending: str
    design: SequentialDesign
    boundary_z: float
    nominal_alpha: float
    estimate: float
    se: float
    z: float
    crossed: bool
    description: str
