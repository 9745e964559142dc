"""Kaplan-Meier and log-rank (core/stats/survival.py) against R survival 3.5-3 and PROTOCOL.md §8."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.survival import (
    KaplanMeier,
    kaplan_meier,
    logrank_test,
    survfit_quantile,
)

REFERENCE = Path(__file__).parents[2] / "reference" / "survival"
TOL = 1e-9  # closed-form products and sums; R prints 15 significant digits


def _read(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _num(text: str) -> float:
    return math.nan if text == "NA" else float(text)


def _seeded() -> tuple[list[float], list[int], list[str]]:
    rows = _read("seeded.csv")
    return (
        [float(r["time"]) for r in rows],
        [int(r["event"]) for r in rows],
        [r["arm"] for r in rows],
    )


def _fits() -> dict[tuple[str, str], KaplanMeier]:
    rct = _read("rct_durability.csv")
    t, e, g = _seeded()
    fits: dict[tuple[str, str], KaplanMeier] = {
        ("rct", "all"): kaplan_meier(
            [float(r["days"]) for r in rct], [int(r["lost"]) for r in rct]
        ),
        ("seeded", "all"): kaplan_meier(t, e),
    }
    for arm in sorted(set(g)):
        idx = [i for i, a in enumerate(g) if a == arm]
        fits[("seeded_by_arm", arm)] = kaplan_meier(
            [t[i] for i in idx], [e[i] for i in idx], group=arm
        )
    return fits


FITS = _fits()


def _assert_close(ours: float, theirs: float) -> None:
    if math.isnan(theirs):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=TOL)


def test_rct_durability_reproduces_median_27_5_and_quartiles_23_32() -> None:
    """PROTOCOL.md §8: median 27.5 days, 25th/75th percentiles 23 and 32, two responders
    censored at 50 and 102 days. The 10 ketamine responders' losses on days 27 and 28 leave the
    curve exactly at 0.5 in between, so survfit's median is their midpoint. (With 13 responders
    and censoring only after day 32, S = k/13 never equals 0.5 and the median would be an
    observed day: 27.5 cannot arise from whole-day visits.)"""
    km = FITS[("rct", "all")]
    assert km.median == 27.5
    assert km.q25 == 23.0
    assert km.q75 == 32.0
    assert km.n == 10 and km.events == 8


@pytest.mark.parametrize(
    "row", _read("km_quantiles.csv"), ids=lambda r: f"{r['dataset']}-{r['group']}"
)
def test_quantiles_and_cis_match_r_quantile_survfit_against_R(row: dict[str, str]) -> None:
    """R: quantile(survfit(Surv(time, event) ~ ..., conf.type = "log"), c(.25, .5, .75));
    NA (not reached) is NaN here; tolerance 1e-9."""
    km = FITS[(row["dataset"], row["group"])]
    for ours, theirs in (
        ("q25", "q25"),
        ("q25_ci_low", "q25_low"),
        ("q25_ci_high", "q25_high"),
        ("median", "median"),
        ("median_ci_low", "median_low"),
        ("median_ci_high", "median_high"),
        ("q75", "q75"),
        ("q75_ci_low", "q75_low"),
        ("q75_ci_high", "q75_high"),
    ):
        _assert_close(getattr(km, ours), _num(row[theirs]))


def test_curves_match_r_summary_survfit_against_R() -> None:
    """R: summary(survfit(...), censored = TRUE): time, n.risk, n.event, n.censor, surv, lower,
    upper (log band); every row of every curve, tolerance 1e-9."""
    rows = _read("km_curves.csv")
    by_curve: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        by_curve.setdefault((r["dataset"], r["group"]), []).append(r)
    assert set(by_curve) == set(FITS)
    for key, expected in by_curve.items():
        curve = FITS[key].curve
        assert len(curve) == len(expected)
        for point, r in zip(curve, expected, strict=True):
            assert point.time == float(r["time"])
            assert point.at_risk == int(r["n_risk"])
            assert point.events == int(r["n_event"])
            assert point.censored == int(r["n_censor"])
            _assert_close(point.survival, float(r["surv"]))
            _assert_close(point.ci_low, _num(r["lower"]))
            _assert_close(point.ci_high, _num(r["upper"]))


def test_seeded_data_have_ties_censoring_and_a_curve_reaching_zero() -> None:
    """Guards the reference data's purpose: the comparisons above exercise these cases."""
    t, e, _ = _seeded()
    assert len(set(t)) < len(t)
    assert 0 < sum(e) < len(e)
    assert FITS[("seeded_by_arm", "c")].curve[-1].survival == 0.0


@pytest.mark.parametrize("row", _read("logrank.csv"), ids=lambda r: r["dataset"])
def test_logrank_matches_r_survdiff_against_R(row: dict[str, str]) -> None:
    """R: survdiff(Surv(time, event) ~ arm); three arms and arms a vs b; tolerance 1e-9."""
    t, e, g = _seeded()
    if row["dataset"] == "seeded_a_vs_b":
        keep = [i for i, a in enumerate(g) if a != "c"]
        t, e, g = [t[i] for i in keep], [e[i] for i in keep], [g[i] for i in keep]
    res = logrank_test(t, e, g)
    assert res.chi2 == pytest.approx(float(row["chi2"]), abs=TOL)
    assert res.df == int(row["df"])
    assert res.p == pytest.approx(float(row["p"]), abs=TOL)
    assert sum(res.observed) == pytest.approx(sum(res.expected))


def test_two_group_logrank_agrees_with_scipy() -> None:
    t, e, g = _seeded()
    keep = [i for i, a in enumerate(g) if a != "c"]
    t, e, g = [t[i] for i in keep], [e[i] for i in keep], [g[i] for i in keep]

    def censored(arm: str) -> stats.CensoredData:
        tt = np.array([t[i] for i in range(len(t)) if g[i] == arm])
        ee = np.array([e[i] for i in range(len(t)) if g[i] == arm])
        return stats.CensoredData(uncensored=tt[ee == 1], right=tt[ee == 0])

    ref = stats.logrank(censored("a"), censored("b"))
    res = logrank_test(t, e, g)
    assert res.chi2 == pytest.approx(float(ref.statistic) ** 2, rel=1e-9)
    assert res.p == pytest.approx(float(ref.pvalue), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.booleans()), min_size=1, max_size=25))
def test_estimate_agrees_with_scipy_ecdf_on_censored_data(obs: list[tuple[int, bool]]) -> None:
    times = [float(t) for t, _ in obs]
    events = [int(ev) for _, ev in obs]
    km = kaplan_meier(times, events)
    t = np.array(times)
    ev = np.array(events, dtype=bool)
    if not ev.any():
        assert all(p.survival == 1.0 for p in km.curve)
        return
    sf = stats.ecdf(stats.CensoredData(uncensored=t[ev], right=t[~ev])).sf
    for point in km.curve:
        assert point.survival == pytest.approx(float(sf.evaluate(point.time)), abs=1e-12)
    survivals = [p.survival for p in km.curve]
    assert survivals == sorted(survivals, reverse=True)


def test_median_not_reached_is_nan() -> None:
    km = kaplan_meier([5, 10, 15, 20], [1, 0, 0, 0])
    assert math.isnan(km.median)
    assert km.survival_at(7) == 0.75
    assert km.survival_at(1) == 1.0


def test_findq_takes_midpoint_on_exact_flat_and_last_point() -> None:
    """R's findq: on a flat at exactly 1 − p, the midpoint to the next time; at the last point,
    the midpoint to the last time (here a censoring time)."""
    assert survfit_quantile([1, 2, 3], [0.25, 0.5, 0.75], 0.5) == 2.5
    assert survfit_quantile([1, 2, 9], [0.25, 0.5, 0.5], 0.5) == 5.5
    assert math.isnan(survfit_quantile([1, 2], [0.1, 0.2], 0.5))


@pytest.mark.parametrize(
    ("time", "event", "field"),
    [
        ([1.0, -2.0], [1, 1], "time"),
        ([1.0, math.nan], [1, 1], "time"),
        ([1.0, 2.0], [1, 2], "event"),
        ([1.0], [1, 0], "time"),
        ([], [], "time"),
    ],
)
def test_kaplan_meier_refuses_bad_input(time: list[float], event: list[int], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        kaplan_meier(time, event)
    assert info.value.field == field


def test_logrank_needs_two_groups() -> None:
    with pytest.raises(InvalidInput):
        logrank_test([1, 2, 3], [1, 1, 0], ["a", "a", "a"])
