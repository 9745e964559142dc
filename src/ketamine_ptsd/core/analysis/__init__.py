"""The protocol's full analysis (PROTOCOL.md §9) of an analysis dataset, as one frozen result.

Input: an :class:`AnalysisDataset` — long-format pandas tables, the same whether they come from
the record (a database extract) or from the synthetic trial
(``simulation.synthetic_dataset.analysis_frames``; its docstring is the column contract).
Output: :class:`AnalysisResults`, which the report builder renders and nothing else computes on.

What is run, by the statistics engine (``core.stats``):

- CONSORT counts and Table 1 by arm (descriptive);
- MMRM (REML, compound symmetry, between-within df — §9) for CAPS-5 total, its four clusters and
  MADRS at baseline/week 1/week 2, and for IES-R and MADRS (24 h) at baseline/24 h: Type 3 tests,
  LS means, arm differences with SE/t/p and Cohen's d with CI;
- cumulative-logit mixed models for CGI-S and CGI-I (§9, GLIMMIX in the paper);
- responders by the protocol's own definition (``protocol.response``, §8; the RCT's CAPS-5 ≥ 30 %
  below baseline at week 2 when none is given; no primary outcome = non-responder, ITT) with
  Pearson/Yates chi-square, Fisher, risk difference and NNT;
- Kaplan–Meier of loss of response among responders by arm, with log-rank;
- safety summaries: infusion-day ratings and vitals by arm and minute, side effects by arm,
  interventions, adverse events, C-SSRS.

The outcomes, their time points and models, and alpha come from the protocol's analysis plan
(``protocol.analysis``, :func:`outcomes_from_plan`) when :func:`analyse` is given it;
:data:`DEFAULT_OUTCOMES` is the RCT's plan for callers without a protocol (a test checks the two
agree).

DSMB interim monitoring (:func:`interim_monitoring`): the group-sequential boundary of a
Lan-DeMets alpha-spending design (``core.stats.sequential.spending_design``) at information
fraction observed ÷ planned patients, and where the primary outcome's Wald z stands against it.

Blinded mode (the DSMB interim packet, §3): arm ids are replaced by codes (``A``/``B``) *before*
anything is computed, so no table, figure or label can carry the allocation. The code mapping is
given by the caller (the independent statistician's), or drawn from an injected generator.
Differences are "control − active" (the paper's midazolam − ketamine) when unblinded, "A − B" when
blinded.

The package: ``model`` (specs, the dataset, the results), ``summaries`` (Table 1, CONSORT,
responders, safety), ``analyse`` (the plan), ``interim`` (DSMB monitoring), ``comparison``
(published vs this run).
"""

from __future__ import annotations

from .adverse_events import (
    NOT_CODED,
    AdverseEventRow,
    AdverseEventSummary,
    summarise_adverse_events,
)
from .analyse import (
    analyse,
)
from .blinding import (
    GUESS_COLUMNS,
    BlindingAssessment,
    BlindingRow,
    assess_blinding,
)
from .comparison import (
    ComparisonRow,
    fmt,
    published_comparison,
)
from .interim import (
    interim_monitoring,
    with_interim,
)
from .model import (
    DEFAULT_OUTCOMES,
    FRAME_NAMES,
    MAIN_TIMES,
    OUTCOME_LABELS,
    RCT_RESPONSE,
    TIME_LABELS,
    AnalysisDataset,
    AnalysisResults,
    Consort,
    Durability,
    InterimMonitoring,
    OutcomeSpec,
    Responders,
    ResponseSpec,
    Safety,
    outcomes_from_plan,
    response_spec,
)
from .summaries import (
    consort_counts,
    count_responders,
    mean_sd,
    mean_se,
    n_pct,
    reason_labels,
    relabel,
    safety_summary,
    table_one,
)

__all__ = [
    "DEFAULT_OUTCOMES",
    "FRAME_NAMES",
    "GUESS_COLUMNS",
    "MAIN_TIMES",
    "NOT_CODED",
    "OUTCOME_LABELS",
    "RCT_RESPONSE",
    "TIME_LABELS",
    "AdverseEventRow",
    "AdverseEventSummary",
    "AnalysisDataset",
    "AnalysisResults",
    "BlindingAssessment",
    "BlindingRow",
    "ComparisonRow",
    "Consort",
    "Durability",
    "InterimMonitoring",
    "OutcomeSpec",
    "Responders",
    "ResponseSpec",
    "Safety",
    "analyse",
    "assess_blinding",
    "consort_counts",
    "count_responders",
    "fmt",
    "interim_monitoring",
    "mean_sd",
    "mean_se",
    "n_pct",
    "outcomes_from_plan",
    "published_comparison",
    "reason_labels",
    "relabel",
    "response_spec",
    "safety_summary",
    "summarise_adverse_events",
    "table_one",
    "with_interim",
]
