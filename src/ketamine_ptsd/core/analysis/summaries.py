"""Summaries by arm: Table 1, the CONSORT counts, responders by the protocol's definition, safety."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ketamine_ptsd.core.rules import assess_response
from ketamine_ptsd.core.stats.responders import analyse_responders

from .model import (
    Consort,
    Responders,
    ResponseSpec,
    Safety,
)


def relabel(
    frames: Mapping[str, pd.DataFrame], codes: Mapping[str, str]
) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        f = frame.copy()
        for column in ("arm", "guess"):  # a guess names an arm: coded like it (issue 15)
            if column in f.columns:
                f[column] = f[column].map(lambda a: codes.get(a, a) if isinstance(a, str) else a)
        out[name] = f
    return out


def mean_sd(values: pd.Series) -> str:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return "–"
    sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    return f"{v.mean():.1f} ({sd:.1f})"


def n_pct(count: int, n: int) -> str:
    return f"{count} ({100.0 * count / n:.1f}%)" if n else "0"


#: Table 1's skewed measures, shown as median (IQR) beside their mean (SD). PTSD duration is a
#: time since an event: never negative, with a long right tail (in one arm of the published
#: Table 1 its SD exceeds its mean: 15.1 (17.8) years; PROTOCOL.md §10), so the mean (SD) the
#: paper prints describes it poorly; the mean (SD) stays beside it for comparison with the paper. The other continuous measures are bounded scales or roughly symmetric
#: (age, BMI, CAPS-5, MADRS) and keep mean (SD) alone.
SKEWED_MEASURES: tuple[str, ...] = ("ptsd_duration_years",)

#: The label of Table 1's total column (every randomized patient).
TOTAL = "Total"


def median_iqr(values: pd.Series) -> str:
    """Median (Q1–Q3), quartiles by linear interpolation (R's type 7, pandas' default)."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return "–"
    q1, q2, q3 = (float(v.quantile(q)) for q in (0.25, 0.5, 0.75))
    return f"{q2:.1f} ({q1:.1f}–{q3:.1f})"


def _missing(values: pd.Series) -> int:
    return int(values.isna().sum())


def table_one(subjects: pd.DataFrame, arms: tuple[str, ...]) -> pd.DataFrame:
    """Table 1 by arm and in total: mean (SD), median (IQR) for :data:`SKEWED_MEASURES`, or
    n (%), in the paper's order (PROTOCOL.md §10).

    Percentages are of the column's patients. A measure with a missing value in any column has
    a "missing, n" row under it (counted per column), so a mean over fewer patients than N is
    visible; measures without that row have no missing values."""
    rows: list[dict[str, str]] = []
    groups = {arm: subjects[subjects["arm"] == arm] for arm in arms}
    groups[TOTAL] = subjects[subjects["arm"].isin(arms)]

    def add(label: str, fn: Any) -> None:
        rows.append({"characteristic": label, **{arm: fn(g) for arm, g in groups.items()}})

    def add_missing(label: str, col: str) -> None:
        if any(_missing(g[col]) for g in groups.values()):
            add(f"{label}: missing, n", lambda g: str(_missing(g[col])))

    add("N", lambda g: str(len(g)))
    for col, label in (
        ("age_years", "Age, years"),
        ("bmi_kg_m2", "BMI, kg/m²"),
        ("ptsd_duration_years", "PTSD duration, years"),
        ("caps5_past_month", "CAPS-5 (past month)"),
        ("madrs_baseline", "MADRS"),
    ):
        if col in subjects:
            add(f"{label}, mean (SD)", lambda g, c=col: mean_sd(g[c]))
            if col in SKEWED_MEASURES:
                add(f"{label}, median (IQR)", lambda g, c=col: median_iqr(g[c]))
            add_missing(label, col)
    if "sex" in subjects:
        add("Female, n (%)", lambda g: n_pct(int((g["sex"] == "female").sum()), len(g)))
        add_missing("Sex", "sex")
    for col, label in (("race", "Race"), ("primary_trauma", "Primary trauma")):
        if col in subjects:
            levels = sorted(subjects[col].dropna().unique())
            for level in levels:
                add(
                    f"{label}: {level}, n (%)",
                    lambda g, c=col, lev=level: n_pct(int((g[c] == lev).sum()), len(g)),
                )
            add_missing(label, col)
    for col, label in (
        ("hispanic", "Hispanic or Latino"),
        ("comorbid_mdd", "Comorbid major depression"),
        ("concomitant_psychotherapy", "Concomitant psychotherapy"),
        ("stable_psychotropics", "Stable psychotropic medication"),
    ):
        if col in subjects:
            add(
                f"{label}, n (%)",
                lambda g, c=col: n_pct(int(g[c].dropna().astype(bool).sum()), len(g)),
            )
            add_missing(label, col)
    return pd.DataFrame(rows)


def reason_labels(reason: str) -> list[str]:
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


def consort_counts(
    ds_frames: Mapping[str, pd.DataFrame],
    arms: tuple[str, ...],
    spec: ResponseSpec,
    ongoing: frozenset[str],
) -> Consort:
    scr = ds_frames["screening"]
    subj = ds_frames["subjects"]
    reasons = scr.loc[scr["disposition"] == "ineligible", "reason"].fillna("not recorded")
    counted = reasons.map(reason_labels).explode().value_counts()
    out = ds_frames["outcomes"]
    analysed = {
        arm: int(
            out.loc[(out["arm"] == arm) & (out["measure"] == spec.measure), "subject"].nunique()
        )
        for arm in arms
    }
    at_primary = (out["measure"] == spec.measure) & (out["time"] == spec.primary)
    primary = set(out.loc[at_primary, "subject"])
    with_value = set(out.loc[at_primary & out["value"].notna(), "subject"])
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
        with_primary={
            arm: int(subj.loc[subj["arm"] == arm, "subject"].isin(with_value).sum()) for arm in arms
        },
    )


def count_responders(
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


def mean_se(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    g = frame.groupby(keys)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["se"] = out["std"] / np.sqrt(out["count"].clip(lower=1))
    return out.rename(columns={"count": "n"}).drop(columns="std")


def safety_summary(frames: Mapping[str, pd.DataFrame], arms: tuple[str, ...]) -> Safety:
    ratings = frames["infusion_ratings"]
    # One value per patient and minute (the mean over that patient's infusions), so the SE is
    # between patients, not between infusions of the same patient.
    per_patient = ratings.groupby(["arm", "measure", "minute", "subject"])["value"].mean()
    rating_summary = mean_se(per_patient.reset_index(), ["arm", "measure", "minute"], "value")
    vitals = frames["vitals"].melt(
        id_vars=["subject", "arm", "infusion", "minute"],
        value_vars=["systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_percent"],
        var_name="measure",
    )
    vp = vitals.groupby(["arm", "measure", "minute", "subject"])["value"].mean().reset_index()
    vital_summary = mean_se(vp, ["arm", "measure", "minute"], "value")
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
