"""The published figures (PROTOCOL.md §10) beside this run's."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ketamine_ptsd.core.stats.mmrm import MMRMResult
from ketamine_ptsd.core.stats.survival import kaplan_meier

from .model import (
    TIME_LABELS,
    AnalysisResults,
)


@dataclass(frozen=True)
class ComparisonRow:
    figure: str
    published: str
    this_run: str


def fmt(x: float, digits: int = 2) -> str:
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
                        label,
                        f"{pub:.2f}",
                        f"{t3.F:.2f} (Wald, F({t3.num_df},"
                        f"{fmt(t3.den_df, 0) if t3.den_df is not None else '—'}))",
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
                f"{fmt(km.median, 1)} ({fmt(km.q25, 1)}, {fmt(km.q75, 1)})",
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
