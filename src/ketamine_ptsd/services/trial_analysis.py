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
- responders at week 2 (§8: CAPS-5 ≥ 30 % below baseline; no week 2 = non-responder, ITT) with
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
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import ResponseDefinition
from ketamine_ptsd.core.rules import assess_response
from ketamine_ptsd.core.stats.mmrm import MMRMResult, fit_mmrm
from ketamine_ptsd.core.stats.ordinal import OrdinalFit, fit_ordinal
from ketamine_ptsd.core.stats.responders import ResponderResult, analyse_responders
from ketamine_ptsd.core.stats.sequential import SequentialDesign, spending_design
from ketamine_ptsd.core.stats.survival import KaplanMeier, LogRank, kaplan_meier, logrank_test

__all__ = [
    "DEFAULT_OUTCOMES",
    "AnalysisDataset",
    "AnalysisResults",
    "Consort",
    "Durability",
    "InterimMonitoring",
    "OutcomeSpec",
    "Responders",
    "Safety",
    "analyse",
    "interim_monitoring",
    "outcomes_from_plan",
]

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


_MAIN = ("baseline", "week1", "week2")
DEFAULT_OUTCOMES: tuple[OutcomeSpec, ...] = (
    OutcomeSpec("caps5_total", "CAPS-5 total severity", _MAIN, "mmrm"),
    OutcomeSpec("caps5_intrusion", "CAPS-5 intrusion (B)", _MAIN, "mmrm"),
    OutcomeSpec("caps5_avoidance", "CAPS-5 avoidance (C)", _MAIN, "mmrm"),
    OutcomeSpec(
        "caps5_negative_cognitions_mood", "CAPS-5 negative cognitions and mood (D)", _MAIN, "mmrm"
    ),
    OutcomeSpec("caps5_arousal_reactivity", "CAPS-5 arousal and reactivity (E)", _MAIN, "mmrm"),
    OutcomeSpec("madrs_total", "MADRS total", _MAIN, "mmrm"),
    OutcomeSpec("cgi_s", "CGI-S", _MAIN, "cumulative_logit", unit="score 1-7"),
    OutcomeSpec("cgi_i", "CGI-I", ("week1", "week2"), "cumulative_logit", unit="score 1-7"),
    OutcomeSpec("ies_r_24h", "IES-R total (past 24 h)", ("baseline", "h24"), "mmrm"),
    OutcomeSpec("madrs_24h", "MADRS total (past 24 h)", ("baseline", "h24"), "mmrm"),
)
_LABELS = {spec.name: spec.label for spec in DEFAULT_OUTCOMES}


def outcomes_from_plan(plan: Any) -> tuple[OutcomeSpec, ...]:
    """The analysed outcomes of a protocol's analysis plan (``core.protocol.AnalysisPlan``,
    PROTOCOL.md §9): name, time points and model from the plan; the display label of a known
    outcome (else its name); ordinal outcomes on the CGI 1–7 scale."""
    return tuple(
        OutcomeSpec(
            o.name,
            _LABELS.get(o.name, o.name),
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
        return ResponseSpec(definition, "caps5_total", _LABELS["caps5_total"])
    for o in plan.outcomes:
        if o.instrument == definition.instrument and o.measure == definition.measure:
            return ResponseSpec(definition, o.name, _LABELS.get(o.name, o.name))
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


# --------------------------------------------------------------------------------- helpers


def _relabel(
    frames: Mapping[str, pd.DataFrame], codes: Mapping[str, str]
) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        f = frame.copy()
        if "arm" in f.columns:
            f["arm"] = f["arm"].map(lambda a: codes.get(a, a) if isinstance(a, str) else a)
        out[name] = f
    return out


def _mean_sd(values: pd.Series) -> str:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return "–"
    sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    return f"{v.mean():.1f} ({sd:.1f})"


def _n_pct(count: int, n: int) -> str:
    return f"{count} ({100.0 * count / n:.1f}%)" if n else "0"


def table_one(subjects: pd.DataFrame, arms: tuple[str, ...]) -> pd.DataFrame:
    """Table 1 by arm: mean (SD) or n (%), in the paper's order (PROTOCOL.md §10)."""
    rows: list[dict[str, str]] = []
    groups = {arm: subjects[subjects["arm"] == arm] for arm in arms}

    def add(label: str, fn: Any) -> None:
        rows.append({"characteristic": label, **{arm: fn(g) for arm, g in groups.items()}})

    add("N", lambda g: str(len(g)))
    for col, label in (
        ("age_years", "Age, years, mean (SD)"),
        ("bmi_kg_m2", "BMI, kg/m², mean (SD)"),
        ("ptsd_duration_years", "PTSD duration, years, mean (SD)"),
        ("caps5_past_month", "CAPS-5 (past month), mean (SD)"),
        ("madrs_baseline", "MADRS, mean (SD)"),
    ):
        if col in subjects:
            add(label, lambda g, c=col: _mean_sd(g[c]))
    if "sex" in subjects:
        add("Female, n (%)", lambda g: _n_pct(int((g["sex"] == "female").sum()), len(g)))
    for col, label in (("race", "Race"), ("primary_trauma", "Primary trauma")):
        if col in subjects:
            levels = sorted(subjects[col].dropna().unique())
            for level in levels:
                add(
                    f"{label}: {level}, n (%)",
                    lambda g, c=col, lev=level: _n_pct(int((g[c] == lev).sum()), len(g)),
                )
    for col, label in (
        ("hispanic", "Hispanic or Latino, n (%)"),
        ("comorbid_mdd", "Comorbid major depression, n (%)"),
        ("concomitant_psychotherapy", "Concomitant psychotherapy, n (%)"),
        ("stable_psychotropics", "Stable psychotropic medication, n (%)"),
    ):
        if col in subjects:
            add(label, lambda g, c=col: _n_pct(int(g[c].astype(bool).sum()), len(g)))
    return pd.DataFrame(rows)


def _reason_labels(reason: str) -> list[str]:
    """Short CONSORT labels of one patient's ineligibility reasons.

    The synthetic trial gives criterion ids joined by ", "; the record gives the rules' own
    sentences, each ending "(PROTOCOL.md §n)" and joined by ", " (sentences may hold commas),
    e.g. "Lifetime psychotic or bipolar disorder: present (…), an exclusion (PROTOCOL.md §1)":
    the label is the criterion's text before ": ".
    """
    if "PROTOCOL.md" not in reason:
        return [r.strip() for r in reason.split(", ") if r.strip()]
    parts = re.split(r"(?<=\)), (?=[A-Z])", reason)
    return [part.split(": ", 1)[0].strip() for part in parts if part.strip()]


def _consort(
    ds_frames: Mapping[str, pd.DataFrame],
    arms: tuple[str, ...],
    spec: ResponseSpec,
    ongoing: frozenset[str],
) -> Consort:
    scr = ds_frames["screening"]
    subj = ds_frames["subjects"]
    reasons = scr.loc[scr["disposition"] == "ineligible", "reason"].fillna("not recorded")
    counted = reasons.map(_reason_labels).explode().value_counts()
    out = ds_frames["outcomes"]
    analysed = {
        arm: int(
            out.loc[(out["arm"] == arm) & (out["measure"] == spec.measure), "subject"].nunique()
        )
        for arm in arms
    }
    primary = set(
        out.loc[(out["measure"] == spec.measure) & (out["time"] == spec.primary), "subject"]
    )
    stayed = subj[~subj["withdrawn"].astype(bool)]
    without = stayed[~stayed["subject"].isin(primary)]
    waiting = without["subject"].isin(ongoing)
    overridden = scr["override"].notna() if "override" in scr else pd.Series([], dtype=bool)
    return Consort(
        assessed=len(scr),
        ineligible=int((scr["disposition"] == "ineligible").sum()),
        declined=int((scr["disposition"] == "declined").sum()),
        ineligible_reasons=tuple((str(k), int(v)) for k, v in counted.items()),
        randomized=len(subj),
        allocated={arm: int((subj["arm"] == arm).sum()) for arm in arms},
        received_all={
            arm: int(((subj["arm"] == arm) & subj["completed_infusions"].astype(bool)).sum())
            for arm in arms
        },
        withdrew={
            arm: int(((subj["arm"] == arm) & subj["withdrawn"].astype(bool)).sum()) for arm in arms
        },
        analysed=analysed,
        lost_to_follow_up={arm: int(((without["arm"] == arm) & ~waiting).sum()) for arm in arms},
        ongoing={arm: int(((without["arm"] == arm) & waiting).sum()) for arm in arms},
        eligible_by_override=int(overridden.sum()),
    )


def _responders(
    outcomes: pd.DataFrame, subjects: pd.DataFrame, arms: tuple[str, ...], spec: ResponseSpec
) -> Responders:
    """Responders by arm, by the protocol's own definition (§8) and the core's rule
    (:func:`ketamine_ptsd.core.rules.assess_response`); no primary outcome = non-responder (ITT,
    §9)."""
    scores = outcomes[outcomes["measure"] == spec.measure].pivot_table(
        index="subject", columns="time", values="value", aggfunc="first"
    )
    counts: dict[str, tuple[int, int]] = {}
    for arm in arms:
        ids = subjects.loc[subjects["arm"] == arm, "subject"]
        n_resp = 0
        for sid in ids:
            if sid not in scores.index or not {spec.baseline, spec.primary} <= set(scores.columns):
                continue
            base, value = scores.at[sid, spec.baseline], scores.at[sid, spec.primary]
            if pd.isna(base) or pd.isna(value) or base <= 0:
                continue
            if assess_response(spec.definition, float(base), float(value)).responder:
                n_resp += 1
        counts[arm] = (n_resp, len(ids))
    result = None
    if len(arms) == 2:
        (ra, na), (rb, nb) = counts[arms[0]], counts[arms[1]]
        result = analyse_responders(ra, na - ra, rb, nb - rb)
    return Responders(counts=counts, result=result, spec=spec)


def _mean_se(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    g = frame.groupby(keys)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["se"] = out["std"] / np.sqrt(out["count"].clip(lower=1))
    return out.rename(columns={"count": "n"}).drop(columns="std")


def _safety(frames: Mapping[str, pd.DataFrame], arms: tuple[str, ...]) -> Safety:
    ratings = frames["infusion_ratings"]
    # One value per patient and minute (the mean over that patient's infusions), so the SE is
    # between patients, not between infusions of the same patient.
    per_patient = ratings.groupby(["arm", "measure", "minute", "subject"])["value"].mean()
    rating_summary = _mean_se(per_patient.reset_index(), ["arm", "measure", "minute"], "value")
    vitals = frames["vitals"].melt(
        id_vars=["subject", "arm", "infusion", "minute"],
        value_vars=["systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_percent"],
        var_name="measure",
    )
    vp = vitals.groupby(["arm", "measure", "minute", "subject"])["value"].mean().reset_index()
    vital_summary = _mean_se(vp, ["arm", "measure", "minute"], "value")
    subj = frames["subjects"]
    n_arm = {arm: int((subj["arm"] == arm).sum()) for arm in arms}
    side = frames["side_effects"]
    rows = []
    for (symptom, timing), g in side.groupby(["symptom", "timing"]):
        row: dict[str, Any] = {"symptom": symptom, "timing": timing}
        for arm in arms:
            k = int(g.loc[g["arm"] == arm, "subject"].nunique())
            row[f"{arm}_n"] = k
            row[f"{arm}_pct"] = 100.0 * k / n_arm[arm] if n_arm[arm] else float("nan")
        rows.append(row)
    side_table = pd.DataFrame(rows)
    if not side_table.empty:
        side_table = side_table.sort_values(
            ["timing", f"{arms[0]}_n"], ascending=[True, False]
        ).reset_index(drop=True)
    cssrs = frames["cssrs"]
    c_rows = []
    for arm in arms:
        c = cssrs[cssrs["arm"] == arm]
        base = c[(c["time"] == "baseline") & c["positive"].astype(bool)]["subject"]
        wk2 = c[c["time"] == "week2"].set_index("subject")["positive"]
        improved = sum(1 for s in base if s in wk2.index and not bool(wk2[s]))
        behaviour = int((c["risk_level"] == "high").sum())
        c_rows.append(
            {
                "arm": arm,
                "n": n_arm[arm],
                "positive_baseline": len(base),
                "improved_week2": improved,
                "high_risk_ratings": behaviour,
            }
        )
    return Safety(
        infusion_ratings=rating_summary,
        vitals=vital_summary,
        side_effects=side_table,
        interventions=frames["interventions"].copy(),
        adverse_events=frames["adverse_events"].copy(),
        cssrs=pd.DataFrame(c_rows),
    )


# --------------------------------------------------------------------------------- analyse


def analyse(
    dataset: AnalysisDataset,
    *,
    plan: Any = None,
    outcomes: tuple[OutcomeSpec, ...] | None = None,
    blinded: bool = False,
    arm_codes: Mapping[str, str] | None = None,
    rng: np.random.Generator | None = None,
    response: ResponseDefinition | None = None,
    ongoing: frozenset[str] = frozenset(),
    alpha: float | None = None,
) -> AnalysisResults:
    """Run the §9 analysis on ``dataset``; see the module docstring.

    ``plan``: the protocol's analysis plan (``protocol.analysis``); its outcomes, time points,
    models and alpha are used unless ``outcomes``/``alpha`` are given explicitly. Without a plan,
    :data:`DEFAULT_OUTCOMES` and the RCT's 0.0304. ``alpha`` (the trial's Pocock-adjusted 0.0304)
    is reported beside p-values; nothing is hidden behind it. ``response``: the protocol's
    response definition (``protocol.response``; without one, the RCT's §8). ``ongoing``: the
    subjects still within their primary window (CONSORT counts them apart from the lost).
    """
    responder_spec = response_spec(plan, response)
    if outcomes is None:
        outcomes = DEFAULT_OUTCOMES if plan is None else outcomes_from_plan(plan)
    if alpha is None:
        alpha = 0.0304 if plan is None else float(plan.alpha)
    arms = dataset.arms
    frames: Mapping[str, pd.DataFrame] = dataset.frames
    notes: list[str] = []
    if blinded:
        if arm_codes is None:
            if rng is None:
                raise InvalidInput(
                    "arm_codes",
                    "a blinded analysis needs the arm codes or a generator to draw them",
                )
            letters = [chr(ord("A") + i) for i in range(len(arms))]
            order = rng.permutation(len(arms))
            arm_codes = {arm: letters[int(j)] for arm, j in zip(arms, order, strict=True)}
        if set(arm_codes) != set(arms):
            raise InvalidInput("arm_codes", "must code every arm", sorted(arm_codes))
        frames = _relabel(frames, arm_codes)
        arms = tuple(sorted(arm_codes.values()))
        notes.append("Arms are coded; the key is held by the independent statistician (§3).")
    missing: list[str] = []
    mmrm: dict[str, tuple[OutcomeSpec, MMRMResult]] = {}
    ordinal: dict[str, tuple[OutcomeSpec, OrdinalFit]] = {}
    out = frames["outcomes"]
    two_arms = len(arms) == 2
    group_order = list(arms) if blinded else list(reversed(arms))
    if two_arms:
        difference_label = f"{group_order[0]} − {group_order[1]}"
    else:
        difference_label = "not applicable (one arm)"
    for spec in outcomes:
        data = out[(out["measure"] == spec.name) & out["time"].isin(spec.time_points)]
        if data.empty:
            missing.append(f"{spec.label}: no data")
            continue
        if not two_arms:
            missing.append(f"{spec.label}: arm comparison needs two arms")
            continue
        try:
            if spec.model == "mmrm":
                mmrm[spec.name] = (
                    spec,
                    fit_mmrm(
                        data,
                        subject="subject",
                        group="arm",
                        time="time",
                        outcome="value",
                        time_order=list(spec.time_points),
                        group_order=group_order,
                    ),
                )
            else:
                ordinal[spec.name] = (
                    spec,
                    fit_ordinal(
                        data["subject"].tolist(),
                        data["arm"].tolist(),
                        data["time"].tolist(),
                        [int(v) for v in data["value"]],
                        group_order=group_order,
                        time_order=list(spec.time_points),
                        scale=range(1, 8),
                    ),
                )
        except InvalidInput as exc:
            missing.append(f"{spec.label}: {exc}")
    responders = _responders(out, frames["subjects"], arms, responder_spec)
    dur = frames["durability"]
    curves = tuple(
        kaplan_meier(g["time_days"].tolist(), g["event"].tolist(), group=str(arm))
        for arm in arms
        if not (g := dur[dur["arm"] == arm]).empty
    )
    logrank = None
    if len(curves) >= 2:
        logrank = logrank_test(
            dur["time_days"].tolist(), dur["event"].tolist(), dur["arm"].astype(str).tolist()
        )
    return AnalysisResults(
        title=dataset.title,
        arms=arms,
        blinded=blinded,
        difference_label=difference_label,
        alpha=alpha,
        consort=_consort(frames, arms, responder_spec, ongoing),
        table1=table_one(frames["subjects"], arms),
        mmrm=mmrm,
        ordinal=ordinal,
        responders=responders,
        durability=Durability(curves=curves, logrank=logrank, data=dur.copy()),
        safety=_safety(frames, arms),
        missing=tuple(missing),
        notes=tuple(notes),
    )


# ------------------------------------------------------------------- DSMB interim monitoring


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


def interim_monitoring(
    results: AnalysisResults,
    *,
    observed_patients: int,
    planned_patients: int,
    alpha: float,
    sides: int = 2,
    spending: str = "pocock",
    outcome: str | None = None,
) -> InterimMonitoring:
    """The stopping boundary at this interim and the primary outcome's z against it.

    PROTOCOL.md §9: the trial tested at alpha 0.0304 "per the Pocock alpha spending function" at
    a planned interim (30 of 40 patients). Here the boundary is the Lan-DeMets Pocock-type
    spending function (a·ln(1 + (e − 1)t), Lan & DeMets 1983) — or O'Brien-Fleming type — at
    overall level ``alpha`` (the caller passes the protocol's ``analysis.alpha``), two looks:
    the interim at t = observed ÷ planned and the final at t = 1 (``core.stats.sequential``,
    checked against rpact). A look at t ≥ 1 is the final analysis (one look).
    """
    if planned_patients < 1 or observed_patients < 1:
        raise InvalidInput("planned_patients", "observed and planned patients must be ≥ 1")
    key = outcome or next(iter(results.mmrm), None)
    if key is None or key not in results.mmrm:
        raise InvalidInput("outcome", "no MMRM result to monitor", outcome)
    spec, fit = results.mmrm[key]
    last = spec.time_points[-1]
    diff = next((d for d in fit.differences if d.time == last), None)
    if diff is None or not diff.se > 0:
        raise InvalidInput("outcome", f"{key}: no arm difference at {last}", key)
    information = min(1.0, observed_patients / planned_patients)
    looks = (information,) if information >= 1.0 else (information, 1.0)
    design = spending_design(alpha, sides, looks, spending)
    look = design.looks[0]
    z = diff.estimate / diff.se
    # A one-sided boundary is crossed only in the direction of benefit. The packet codes the arms
    # A/B, so the sign of A − B says nothing about benefit: compare |z| and say that the
    # direction must be confirmed by the unblinded statistician.
    crossed = abs(z) >= look.z
    direction = (
        ""
        if sides == 2
        else "; one-sided: arms are coded A/B, so |z| is compared and the direction of benefit "
        "must be confirmed unblinded"
    )
    kind = "Pocock-type" if spending == "pocock" else "O'Brien-Fleming-type"
    description = (
        f"Lan-DeMets {kind} alpha spending, {'two' if sides == 2 else 'one'}-sided overall alpha "
        f"{alpha:g} (protocol analysis plan), looks at information "
        f"{', '.join(f'{lk.information:.3f}' for lk in design.looks)} "
        f"({observed_patients} of {planned_patients} planned patients); interim boundary "
        f"|z| ≥ {look.z:.3f} (nominal alpha {look.nominal_alpha:.4f}); {spec.label} "
        f"{results.difference_label} at {TIME_LABELS.get(last, last)}: "
        f"{diff.estimate:.2f} / SE {diff.se:.2f} = z {z:.2f}, "
        + ("crosses the boundary" if crossed else "inside the continuation region")
        + direction
    )
    return InterimMonitoring(
        outcome=key,
        time=last,
        observed_patients=observed_patients,
        planned_patients=planned_patients,
        information=information,
        alpha=alpha,
        sides=sides,
        spending=spending,
        design=design,
        boundary_z=look.z,
        nominal_alpha=look.nominal_alpha,
        estimate=diff.estimate,
        se=diff.se,
        z=z,
        crossed=crossed,
        description=description,
    )


# ------------------------------------------------------------------- published vs this run


@dataclass(frozen=True)
class ComparisonRow:
    figure: str
    published: str
    this_run: str


def _f(x: float, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def published_comparison(results: AnalysisResults, published: Any) -> tuple[ComparisonRow, ...]:
    """Each published figure of PROTOCOL.md §10 beside this run's (unblinded, two arms, active
    first). ``published`` is ``simulation.synthetic_targets.PUBLISHED`` (or a look-alike)."""
    if results.blinded or len(results.arms) != 2:
        return ()
    rows: list[ComparisonRow] = []
    c = results.consort
    a, b = results.arms
    rows.append(
        ComparisonRow(
            "Assessed / ineligible / declined",
            f"{published.n_assessed} / {published.n_ineligible} / {published.n_declined}",
            f"{c.assessed} / {c.ineligible} / {c.declined}",
        )
    )
    rows.append(
        ComparisonRow(
            "Randomized per arm",
            f"{published.n_per_arm} / {published.n_per_arm}",
            f"{c.allocated[a]} / {c.allocated[b]}",
        )
    )

    def inter(result: MMRMResult) -> Any:
        return next(x for x in result.type3 if x.effect == "group:time")

    if "caps5_total" in results.mmrm:
        r = results.mmrm["caps5_total"][1]
        t = inter(r)
        rows.append(
            ComparisonRow(
                "CAPS-5 time × treatment F",
                f"F(2,55) = {published.caps5_interaction_f:.2f}",
                f"F({t.num_df},{t.den_df:.0f}) = {t.F:.2f}",
            )
        )
        for d, pub, se in zip(
            r.differences, published.caps5_difference, published.caps5_difference_se, strict=False
        ):
            rows.append(
                ComparisonRow(
                    f"CAPS-5 difference, {TIME_LABELS.get(d.time, d.time)}",
                    f"{pub:.2f} (SE {se:.2f})",
                    f"{d.estimate:.2f} (SE {d.se:.2f}, p {d.p:.3f})",
                )
            )
        wk2 = r.differences[-1]
        rows.append(
            ComparisonRow(
                "CAPS-5 Cohen's d, week 2",
                f"{published.caps5_d_week2:.2f}",
                f"{wk2.d:.2f} ({wk2.d_ci_low:.2f}–{wk2.d_ci_high:.2f})",
            )
        )
    names = {
        "intrusion": "caps5_intrusion",
        "avoidance": "caps5_avoidance",
        "negative_cognitions_mood": "caps5_negative_cognitions_mood",
        "arousal_reactivity": "caps5_arousal_reactivity",
    }
    for cluster, fpub in published.cluster_interaction_f.items():
        if names[cluster] in results.mmrm:
            t = inter(results.mmrm[names[cluster]][1])
            rows.append(
                ComparisonRow(
                    f"CAPS-5 {cluster.replace('_', ' ')} F",
                    f"{fpub:.2f}",
                    f"{t.F:.2f} (p {t.p:.4f})",
                )
            )
    if "madrs_total" in results.mmrm:
        r = results.mmrm["madrs_total"][1]
        rows.append(
            ComparisonRow(
                "MADRS time × treatment F",
                f"{published.madrs_interaction_f:.2f}",
                f"{inter(r).F:.2f}",
            )
        )
        rows.append(
            ComparisonRow(
                "MADRS Cohen's d, week 2",
                f"{published.madrs_d_week2:.2f}",
                f"{r.differences[-1].d:.2f}",
            )
        )
    for key, label, pub, effect in (
        ("cgi_s", "CGI-S time × treatment F", published.cgi_s_interaction_f, "group:time"),
        ("cgi_i", "CGI-I treatment F", published.cgi_i_treatment_f, "group"),
    ):
        if key in results.ordinal:
            fit = results.ordinal[key][1]
            t3 = next((x for x in fit.type3 if x.effect == effect and x.test == "wald"), None)
            if t3 is not None:
                rows.append(
                    ComparisonRow(
                        label, f"{pub:.2f}", f"{t3.F:.2f} (Wald, F({t3.num_df},{_f(t3.den_df, 0)}))"
                    )
                )
    for key, label, pub in (
        ("ies_r_24h", "IES-R 24 h F", published.ies_r_24h_f),
        ("madrs_24h", "MADRS 24 h F", published.madrs_24h_f),
    ):
        if key in results.mmrm:
            rows.append(ComparisonRow(label, f"{pub:.2f}", f"{inter(results.mmrm[key][1]).F:.2f}"))
    resp = results.responders
    if resp.result is not None:
        (ra, na), (rb, nb) = resp.counts[a], resp.counts[b]
        rows.append(
            ComparisonRow(
                "Responders",
                f"{published.responders[0]}/15 vs {published.responders[1]}/15",
                f"{ra}/{na} vs {rb}/{nb}",
            )
        )
        rows.append(
            ComparisonRow(
                "Chi-square (Yates)",
                f"{published.responders_chi2_yates:.2f}",
                f"{resp.result.chi2_yates:.2f} (p {resp.result.p_yates:.3f})",
            )
        )
        rows.append(ComparisonRow("NNT", f"{published.nnt:.1f}", f"{resp.result.nnt:.1f}"))
    dur = results.durability.data
    if not dur.empty:
        km = kaplan_meier(dur["time_days"].tolist(), dur["event"].tolist())
        rows.append(
            ComparisonRow(
                "Loss of response, days: median (Q1, Q3)",
                f"{published.loss_median_days:g} ({published.loss_q25_days:g}, "
                f"{published.loss_q75_days:g})",
                f"{_f(km.median, 1)} ({_f(km.q25, 1)}, {_f(km.q75, 1)})",
            )
        )
        cens = sorted(dur.loc[dur["event"] == 0, "time_days"].tolist())
        rows.append(
            ComparisonRow(
                "Responders never losing response (censored at, days)",
                ", ".join(f"{d:g}" for d in published.never_lost_censor_days),
                ", ".join(f"{d:g}" for d in cens) or "none",
            )
        )
    cs = results.safety.cssrs.set_index("arm")
    if a in cs.index and b in cs.index:
        rows.append(
            ComparisonRow(
                "C-SSRS positive at baseline",
                f"{published.cssrs_positive_baseline[0]} vs {published.cssrs_positive_baseline[1]}",
                f"{cs.at[a, 'positive_baseline']} vs {cs.at[b, 'positive_baseline']}",
            )
        )
        rows.append(
            ComparisonRow(
                "C-SSRS improved by week 2",
                f"{published.cssrs_improved_week2[0]} of "
                f"{published.cssrs_positive_baseline[0]} vs "
                f"{published.cssrs_improved_week2[1]} of "
                f"{published.cssrs_positive_baseline[1]}",
                f"{cs.at[a, 'improved_week2']} of {cs.at[a, 'positive_baseline']}"
                f" vs {cs.at[b, 'improved_week2']} of "
                f"{cs.at[b, 'positive_baseline']}",
            )
        )
    side = results.safety.side_effects
    if not side.empty:
        for timing, pubs in (
            ("after_start", published.prise_after_start),
            ("before", published.prise_other_times),
        ):
            for symptom, (pa, pb) in pubs.items():
                row = side[(side["symptom"] == symptom) & (side["timing"] == timing)]
                ours = (
                    f"{row[f'{a}_pct'].iloc[0]:.0f}% vs {row[f'{b}_pct'].iloc[0]:.0f}%"
                    if not row.empty
                    else "0% vs 0%"
                )
                when = "after infusion start" if timing == "after_start" else "other times"
                rows.append(
                    ComparisonRow(
                        f"{symptom.replace('_', ' ')} ({when})",
                        f"{100 * pa / 15:.0f}% vs {100 * pb / 15:.0f}%",
                        ours,
                    )
                )
    return tuple(rows)
