"""Reference-based conditional mean imputation with jackknife SEs (core/stats/refbased.py).

Data: tests/reference/refbased/antidepressant.csv (rbmi's ``antidepressant_data``: 172
patients, HAMD-17 change at visits 4–7, DRUG vs PLACEBO, baseline BASVAL; 80 missing visits,
monotone except patient 3618). Imputation model CHANGE ~ THERAPY·VISIT + BASVAL·VISIT, UN,
REML; analysis ANCOVA CHANGE ~ THERAPY + BASVAL per visit; reference PLACEBO.

* rbmi 1.5.2, vignette "CondMean_Inference" (vignettes/CondMean_Inference.html in
  insightsengineering/rbmi), JR with jackknife, printed to 3 decimals: every effect, LS mean,
  SE, CI limit and p to ±0.0005 + 1e-6. rbmi's ``trt`` is PLACEBO − DRUG (its first factor level
  DRUG is the analysis reference), ours DRUG − PLACEBO: signs flipped.
* tests/reference/refbased/make_reference.R (nlme::gls + lm, written independently), all four
  strategies: estimates and LS means to 1e-6, jackknife SEs to 1e-5 (relative; gls and our REML
  optimiser agree to ~1e-7 on each of the 173 fits).
* First principles: under MAR, conditional mean imputation + ANCOVA reproduces the MMRM's own
  contrast at the mean baseline exactly (1e-9).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm import fit_arrays
from ketamine_ptsd.core.stats.refbased import (
    STRATEGIES,
    RefBasedResult,
    condmean_estimates,
    condmean_jackknife,
    imputation_design,
)

REF = Path(__file__).resolve().parents[2] / "reference" / "refbased"
VISITS = (4, 5, 6, 7)
ARMS = ("DRUG", "PLACEBO")

# rbmi CondMean_Inference vignette, JR + jackknife: parameter -> (est, se, lci, uci, pval)
RBMI_JR = {
    "trt_4": (-0.092, 0.695, -1.453, 1.27, 0.895),
    "lsm_ref_4": (-1.616, 0.588, -2.767, -0.464, 0.006),
    "lsm_alt_4": (-1.708, 0.396, -2.484, -0.931, None),
    "trt_5": (1.305, 0.878, -0.416, 3.027, 0.137),
    "lsm_ref_5": (-4.133, 0.688, -5.481, -2.785, None),
    "lsm_alt_5": (-2.828, 0.604, -4.011, -1.645, None),
    "trt_6": (1.929, 0.862, 0.239, 3.619, 0.025),
    "lsm_ref_6": (-6.088, 0.671, -7.402, -4.773, None),
    "lsm_alt_6": (-4.159, 0.686, -5.503, -2.815, None),
    "trt_7": (2.126, 0.858, 0.444, 3.807, 0.013),
    "lsm_ref_7": (-6.965, 0.685, -8.307, -5.622, None),
    "lsm_alt_7": (-4.839, 0.762, -6.333, -3.346, None),
}


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with (REF / "antidepressant.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    patients = sorted({r["PATIENT"] for r in rows})
    index = {p: i for i, p in enumerate(patients)}
    y = np.full((len(patients), 4), np.nan)
    group = np.zeros(len(patients), dtype=np.intp)
    basval = np.zeros(len(patients))
    for r in rows:
        i = index[r["PATIENT"]]
        y[i, VISITS.index(int(r["VISIT"]))] = float(r["CHANGE"])
        group[i] = ARMS.index(r["THERAPY"])
        basval[i] = float(r["BASVAL"])
    return y, group, basval[:, None]


_CACHE: dict[str, RefBasedResult] = {}


def _jackknife(strategy: str) -> RefBasedResult:
    if strategy not in _CACHE:
        y, group, cov = _data()
        _CACHE[strategy] = condmean_jackknife(
            y, group, cov, ARMS, tuple(map(str, VISITS)), reference="PLACEBO", strategy=strategy
        )
    return _CACHE[strategy]


def test_data_is_rbmis_antidepressant_trial() -> None:
    y, group, _ = _data()
    assert y.shape == (172, 4) and int(np.isnan(y).sum()) == 4 * 172 - 608
    assert np.bincount(group).tolist() == [84, 88]


def _close(ours: float, printed: float) -> bool:
    return abs(ours - printed) <= 0.0005 + 1e-6


def test_jump_to_reference_matches_rbmi_vignette_against_R() -> None:
    res = _jackknife("JR")
    assert (res.reference, res.compared, res.n_subjects) == ("PLACEBO", "DRUG", 172)
    for v in res.visits:
        est, se, lci, uci, pval = RBMI_JR[f"trt_{v.time}"]
        assert _close(-v.estimate, est) and _close(v.se, se), v
        assert _close(-v.ci_high, lci) and _close(-v.ci_low, uci), v
        assert pval is not None and _close(v.p, pval), v
        ref_est, ref_se, *_ = RBMI_JR[f"lsm_ref_{v.time}"]  # rbmi's ref = DRUG
        alt_est, alt_se, *_ = RBMI_JR[f"lsm_alt_{v.time}"]
        assert _close(v.lsmean_compared, ref_est) and _close(v.lsmean_compared_se, ref_se), v
        assert _close(v.lsmean_reference, alt_est) and _close(v.lsmean_reference_se, alt_se), v


def _r_reference() -> dict[tuple[str, str], dict[str, float]]:
    with (REF / "reference.csv").open(newline="") as fh:
        return {
            (r["strategy"], r["visit"]): {
                k: float(v) for k, v in r.items() if k not in ("strategy", "visit")
            }
            for r in csv.DictReader(fh)
        }


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_point_estimates_match_independent_r_implementation_against_R(strategy: str) -> None:
    y, group, cov = _data()
    eff, lsm_placebo, lsm_drug = condmean_estimates(y, group, cov, 1, strategy)
    ref = _r_reference()
    for t, visit in enumerate(VISITS):
        row = ref[(strategy, str(visit))]
        assert eff[t] == pytest.approx(row["estimate"], rel=1e-6, abs=1e-9)
        assert lsm_placebo[t] == pytest.approx(row["lsmean_placebo"], rel=1e-6)
        assert lsm_drug[t] == pytest.approx(row["lsmean_drug"], rel=1e-6)


@pytest.mark.parametrize("strategy", ["JR", "CIR"])
def test_jackknife_ses_match_independent_r_implementation_against_R(strategy: str) -> None:
    res = _jackknife(strategy)
    ref = _r_reference()
    for v in res.visits:
        row = ref[(strategy, v.time)]
        assert v.se == pytest.approx(row["se"], rel=1e-5)
        assert v.lsmean_reference_se == pytest.approx(row["lsmean_placebo_se"], rel=1e-5)
        assert v.lsmean_compared_se == pytest.approx(row["lsmean_drug_se"], rel=1e-5)


def test_strategies_differ_only_where_there_is_dropout() -> None:
    """Visit 4 has no missing outcome: all strategies agree there; at visit 7 JR, CR and CIR
    pull the dropouts of DRUG towards PLACEBO, shrinking the MAR effect (−2.80)."""
    y, group, cov = _data()
    effects = {s: condmean_estimates(y, group, cov, 1, s)[0] for s in STRATEGIES}
    for s in STRATEGIES:
        assert effects[s][0] == pytest.approx(effects["MAR"][0], abs=1e-12)
    assert abs(effects["MAR"][3]) > max(abs(effects[s][3]) for s in ("JR", "CR", "CIR"))


def test_mar_reproduces_the_mmrm_contrast_at_mean_baseline() -> None:
    y, group, cov = _data()
    eff, lsm_placebo, _ = condmean_estimates(y, group, cov, 1, "MAR")
    x = imputation_design(group, cov, 4)
    rows = np.nonzero(~np.isnan(y))
    beta = fit_arrays(rows[0], rows[1], x[rows], y[rows], 4, "un").beta
    at_mean = {
        g: imputation_design(np.array([g]), cov.mean(axis=0, keepdims=True), 4)[0] for g in (0, 1)
    }
    np.testing.assert_allclose(eff, (at_mean[0] - at_mean[1]) @ beta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lsm_placebo, at_mean[1] @ beta, rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strategy": "LOCF"}, "strategy"),
        ({"reference": "SHAM"}, "reference"),
        ({"level": 1.0}, "level"),
    ],
)
def test_bad_options_name_the_field(kwargs: dict[str, object], field: str) -> None:
    y, group, cov = _data()
    args: dict[str, object] = {"reference": "PLACEBO", **kwargs}
    with pytest.raises(InvalidInput) as err:
        condmean_jackknife(y, group, cov, ARMS, ("4", "5", "6", "7"), **args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_infinite_outcome_is_refused() -> None:
    y, group, cov = _data()
    y[0, 1] = np.inf
    with pytest.raises(InvalidInput) as err:
        condmean_jackknife(y, group, cov, ARMS, ("4", "5", "6", "7"), reference="PLACEBO")
    assert err.value.field == "outcome"
