"""Between-within df (SAS DDFM=BETWITHIN) for the project's models: the published SAS df of the
RCT, the single subject-by-effect component argument of ``ddf.py``, and the 'changes within any
subject' rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.core.stats.mmrm import fit_mmrm

KW = dict(subject="pid", group="arm", time="visit", outcome="y")


def _trial(n_per_arm: int, visits: tuple[str, ...], seed: int, drop: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(2 * n_per_arm):
        arm = "ketamine" if i < n_per_arm else "midazolam"
        b = rng.normal(0.0, 6.0)
        for v, visit in enumerate(visits):
            if v > 0 and rng.uniform() < drop:
                continue
            y = 40.0 - v * (8.0 if arm == "ketamine" else 3.0) + b + rng.normal(0.0, 7.0)
            rows.append({"pid": f"p{i:02d}", "arm": arm, "visit": visit, "y": y})
    return pd.DataFrame(rows)


def test_two_visit_outcomes_give_the_published_f_1_28() -> None:
    """PROTOCOL.md §10: IES-R and MADRS (past 24 h) at baseline and 24 h, 30 patients:
    F(1, 28) = 60 − 30 − 2 for the arm difference over time (SAS PROC MIXED output)."""
    res = fit_mmrm(_trial(15, ("baseline", "24h"), seed=4), time_order=("baseline", "24h"), **KW)
    assert (res.n_subjects, res.n_observations) == (30, 60)
    t3 = {row.effect: row for row in res.type3}
    assert (t3["group:time"].num_df, t3["group:time"].den_df) == (1, 28.0)
    assert t3["time"].den_df == 28.0
    assert t3["group"].den_df == 28.0  # between: 30 − 1 − 1
    assert res.warnings == ()


def _rank(a: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(a))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_subject_by_group_by_time_is_the_subject_by_time_component(seed: int) -> None:
    """The argument in ``ddf.py``: with group constant within subject, subject × group × time
    and subject × time span the same space, so SAS's partition of the within df has one
    component, of size rank(Z_s×t) − rank(Z_s) − p_within = N − S − p_within — the within df
    the engine gives time and group:time — here on unbalanced data with dropout."""
    frame = _trial(12, ("v0", "v1", "v2", "v3"), seed=seed, drop=0.25)
    res = fit_mmrm(frame, time_order=("v0", "v1", "v2", "v3"), **KW)
    subj = pd.factorize(frame["pid"])[0]
    grp = (frame["arm"] == "midazolam").to_numpy(int)
    tim = frame["visit"].map({"v0": 0, "v1": 1, "v2": 2, "v3": 3}).to_numpy()
    n, s, t = len(frame), subj.max() + 1, 4
    z_s = np.eye(s)[subj]
    z_st = np.eye(s * t)[subj * t + tim]
    z_sgt = np.eye(s * 2 * t)[(subj * 2 + grp) * t + tim]
    assert _rank(np.hstack([z_st, z_sgt])) == _rank(z_st) == _rank(z_sgt) == n
    # within fixed columns: time (t − 1) and group:time (t − 1), not in span(Z_subject)
    x_between = np.column_stack([np.ones(n), grp])
    x_within = np.column_stack(
        [(tim == k).astype(float) for k in range(1, t)] + [grp * (tim == k) for k in range(1, t)]
    )
    p_within = _rank(np.hstack([z_s, x_between, x_within])) - _rank(np.hstack([z_s, x_between]))
    component_df = _rank(z_st) - _rank(z_s) - p_within
    t3 = {row.effect: row for row in res.type3}
    assert component_df == n - s - 6
    assert t3["time"].den_df == t3["group:time"].den_df == float(component_df)
    assert t3["group"].den_df == float(s - 2)


def test_a_covariate_changing_within_only_some_subjects_is_within_and_says_so() -> None:
    """SAS: an effect gets the within-subject df if it 'changes within any subject'. A
    two-level visit-level covariate that changes for one patient only is a within effect
    (N − S − p_within with its column counted); a baseline covariate stays between. Since
    SAS may partition the within df for such a covariate (not verified against a listing),
    the result says so in its warnings."""
    frame = _trial(15, ("baseline", "week1", "week2"), seed=9)
    frame["rescue"] = "no"
    frame.loc[(frame["pid"] == "p03") & (frame["visit"] == "week2"), "rescue"] = "yes"
    base = frame[frame["visit"] == "baseline"].set_index("pid")["y"]
    frame["baseline_score"] = frame["pid"].map(base).to_numpy()
    res = fit_mmrm(
        frame,
        covariates=("rescue", "baseline_score"),
        time_order=("baseline", "week1", "week2"),
        **KW,
    )
    n, s = res.n_observations, res.n_subjects
    t3 = {row.effect: row for row in res.type3}
    within_df = float(n - (s + 2 + 2 + 1))
    assert t3["rescue"].den_df == t3["group:time"].den_df == t3["time"].den_df == within_df
    assert t3["baseline_score"].den_df == t3["group"].den_df == float(s - (1 + 1 + 1))
    assert any("rescue changes within subjects" in w for w in res.warnings)
    assert not any("baseline_score" in w for w in res.warnings)
