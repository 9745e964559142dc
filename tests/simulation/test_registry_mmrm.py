"""Registry-scale CS MMRM: partition sums give the one-trial engine's fit; Dask gives the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm import NumericVar, analyse_arrays
from ketamine_ptsd.simulation.registry import (
    fit_registry,
    fit_registry_dask,
    partition_sums,
    write_synthetic_registry,
)

GROUPS = ("ketamine", "usual-care")
TIMES = tuple(range(8))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("registry")
    write_synthetic_registry(
        out, 400, 8, np.random.default_rng(17), n_files=4, dropout_per_visit=0.08
    )
    return out


def _long(path: Path) -> pd.DataFrame:
    return pd.concat(pq.read_table(f).to_pandas() for f in sorted(path.glob("*.parquet")))


def test_partitioned_fit_equals_the_one_trial_engine_on_the_whole_data(registry: Path) -> None:
    fit = fit_registry(registry, GROUPS, TIMES)
    frame = _long(registry)
    subj = np.unique(frame["subject"], return_inverse=True)[1]
    group = pd.Categorical(frame["group"].astype(str), categories=GROUPS).codes
    e = analyse_arrays(
        subj.astype(np.intp),
        np.asarray(group, np.intp),
        frame["time"].to_numpy(np.intp),
        frame["outcome"].to_numpy(),
        GROUPS,
        tuple(str(t) for t in TIMES),
        covariance="cs",
    )
    s = fit.summary()
    assert s["n_subjects"] == e.n_subjects == 400
    assert s["n_observations"] == e.n_observations
    assert s["reml_loglik"] == pytest.approx(e.loglik, rel=1e-10)
    cp = s["covariance_parameters"]
    assert cp["between"] == pytest.approx(e.covariance_parameters["between"], rel=1e-6)
    assert cp["within"] == pytest.approx(e.covariance_parameters["within"], rel=1e-6)
    for mine, theirs in zip(s["differences"], e.differences, strict=True):
        assert mine["estimate"] == pytest.approx(theirs.estimate, rel=1e-7)
        assert mine["se"] == pytest.approx(theirs.se, rel=1e-7)
        assert mine["df"] == theirs.df
    f_theirs = {row.effect: row.F for row in e.type3}
    for row in s["type3"]:
        assert row["F"] == pytest.approx(f_theirs[row["effect"]], rel=1e-6)


def test_dask_fit_equals_the_single_machine_fit(registry: Path) -> None:
    single = fit_registry(registry, GROUPS, TIMES).summary()
    dask_fit = fit_registry_dask(
        registry, GROUPS, TIMES, processes=False, n_workers=1, threads_per_worker=2
    )
    distributed = dask_fit.summary()
    assert dask_fit.n_partitions == 4
    assert distributed["n_observations"] == single["n_observations"]
    assert distributed["reml_loglik"] == pytest.approx(single["reml_loglik"], rel=1e-12)
    for a, b in zip(distributed["differences"], single["differences"], strict=True):
        assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-10)
        assert a["se"] == pytest.approx(b["se"], rel=1e-10)


def test_a_patient_split_across_files_is_refused(tmp_path: Path) -> None:
    write_synthetic_registry(tmp_path, 40, 4, np.random.default_rng(1), n_files=2)
    first = pq.read_table(tmp_path / "part-0000.parquet").to_pandas()
    second = pq.read_table(tmp_path / "part-0001.parquet").to_pandas()
    moved = first[first["subject"] == first["subject"].max()].iloc[:1]
    first = first.drop(moved.index)
    pd.concat([second, moved]).to_parquet(tmp_path / "part-0001.parquet")
    first.to_parquet(tmp_path / "part-0000.parquet")
    with pytest.raises(InvalidInput, match="overlap"):
        fit_registry(tmp_path, GROUPS, tuple(range(4)))


def test_partition_sums_refuse_unknown_levels_and_duplicate_visits() -> None:
    frame = pd.DataFrame(
        {
            "subject": [1, 1, 2],
            "group": ["ketamine"] * 3,
            "time": [0, 0, 0],
            "outcome": [1.0, 2.0, 3.0],
        }
    )
    with pytest.raises(InvalidInput, match="same time"):
        partition_sums(frame, GROUPS, (0, 1))
    frame["time"] = [0, 1, 5]
    with pytest.raises(InvalidInput, match="level"):
        partition_sums(frame, GROUPS, (0, 1))


def _engine(frame: pd.DataFrame, covariance: str):  # type: ignore[no-untyped-def]
    subj = np.unique(frame["subject"], return_inverse=True)[1]
    group = pd.Categorical(frame["group"].astype(str), categories=GROUPS).codes
    return analyse_arrays(
        subj.astype(np.intp),
        np.asarray(group, np.intp),
        frame["time"].to_numpy(np.intp),
        frame["outcome"].to_numpy(),
        GROUPS,
        tuple(str(t) for t in TIMES),
        covariance=covariance,
    )


def test_unstructured_partitioned_fit_equals_the_one_trial_engine(registry: Path) -> None:
    """UN (36 covariance parameters) from per-pattern sums of 4 files = the engine's Newton
    fit on the 400 patients' rows. Relative tolerance 1e-8 for Σ, differences, SEs, LS means
    and F (observed ~1e-11); df exact (SAS: all between-subject df under TYPE=UN)."""
    fit = fit_registry(registry, GROUPS, TIMES, covariance="un")
    e = _engine(_long(registry), "un")
    s = fit.summary()
    assert s["covariance_structure"] == "un"
    assert s["converged"] is True
    assert s["n_subjects"] == e.n_subjects == 400
    assert s["n_observations"] == e.n_observations
    assert s["reml_loglik"] == pytest.approx(e.loglik, rel=1e-10)
    cp = s["covariance_parameters"]
    assert set(cp) == set(e.covariance_parameters)
    for name, value in e.covariance_parameters.items():
        assert cp[name] == pytest.approx(value, rel=1e-8)
    for mine, theirs in zip(s["differences"], e.differences, strict=True):
        assert mine["estimate"] == pytest.approx(theirs.estimate, rel=1e-8)
        assert mine["se"] == pytest.approx(theirs.se, rel=1e-8)
        assert mine["p"] == pytest.approx(theirs.p, rel=1e-8, abs=1e-12)
        assert mine["df"] == theirs.df == 398
    for mine_ls, theirs_ls in zip(s["lsmeans"], e.lsmeans, strict=True):
        assert mine_ls["estimate"] == pytest.approx(theirs_ls.estimate, rel=1e-8)
    rows = {row.effect: row for row in e.type3}
    for row in s["type3"]:
        assert row["F"] == pytest.approx(rows[row["effect"]].F, rel=1e-8)
        assert row["den_df"] == rows[row["effect"]].den_df


def test_unstructured_dask_fit_equals_the_single_machine_fit(registry: Path) -> None:
    single = fit_registry(registry, GROUPS, TIMES, covariance="un").summary()
    distributed = fit_registry_dask(
        registry,
        GROUPS,
        TIMES,
        covariance="un",
        processes=False,
        n_workers=1,
        threads_per_worker=2,
    ).summary()
    assert distributed["reml_loglik"] == pytest.approx(single["reml_loglik"], rel=1e-12)
    for name, value in single["covariance_parameters"].items():  # type: ignore[attr-defined]
        assert distributed["covariance_parameters"][name] == pytest.approx(value, rel=1e-9)  # type: ignore[index]
    for a, b in zip(distributed["differences"], single["differences"], strict=True):
        assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-10)
        assert a["se"] == pytest.approx(b["se"], rel=1e-10)


def test_unstructured_sums_of_partitions_with_different_patterns_add_up() -> None:
    """Intermittent missing visits in one partition only: the sums are aligned on the union
    of the patterns, so the two halves add up to the sums of the whole."""
    rng = np.random.default_rng(3)
    rows = []
    for subject in range(60):
        group = GROUPS[subject % 2]
        for t in range(4):
            skip = subject < 30 and t == 1 + subject % 3 and subject % 4 == 0
            if not skip and not (subject >= 30 and t == 3 and subject % 5 == 0):
                rows.append((subject, group, t, float(rng.normal(40 - 2 * t, 8))))
    frame = pd.DataFrame(rows, columns=["subject", "group", "time", "outcome"])
    times = tuple(range(4))
    whole = partition_sums(frame, GROUPS, times, "un").stats
    first = partition_sums(frame[frame["subject"] < 30], GROUPS, times, "un").stats
    second = partition_sums(frame[frame["subject"] >= 30], GROUPS, times, "un").stats
    total = first + second  # type: ignore[operator]
    assert not np.array_equal(first.masks, second.masks)  # type: ignore[union-attr]
    np.testing.assert_array_equal(total.masks, whole.masks)  # type: ignore[union-attr]
    np.testing.assert_allclose(total.count, whole.count, rtol=0, atol=0)  # type: ignore[union-attr]
    np.testing.assert_allclose(total.sum_y, whole.sum_y, rtol=1e-14)  # type: ignore[union-attr]
    np.testing.assert_allclose(total.sum_yy, whole.sum_yy, rtol=1e-14)  # type: ignore[union-attr]


def test_unknown_covariance_is_refused(registry: Path) -> None:
    with pytest.raises(InvalidInput, match="covariance"):
        fit_registry(registry, GROUPS, TIMES, covariance="ar1")


@pytest.mark.parametrize("within", [False, True])
def test_registry_fit_with_a_covariate_equals_the_one_trial_engine(
    tmp_path: Path, within: bool
) -> None:
    """``outcome ~ group*time + age`` (age constant within a patient: a between-subject
    effect; or changing by visit: a within-subject one) from two Parquet partitions equals
    the one-analysis engine with the same numeric covariate: REML log-likelihood to 1e-10,
    covariance parameters, LS means (at the covariate's mean), differences and Type 3 F to
    1e-7 relative, the same between-within df."""
    rng = np.random.default_rng(23)
    write_synthetic_registry(tmp_path, 120, 4, rng, n_files=2, dropout_per_visit=0.1)
    for f in sorted(tmp_path.glob("*.parquet")):
        frame = pq.read_table(f).to_pandas()
        age = 30.0 + (frame["subject"].to_numpy() * 7919 % 37).astype(float)
        if within:
            age = age + 0.5 * frame["time"].to_numpy()
        frame["age"] = age
        frame["outcome"] = frame["outcome"] + 0.3 * age
        frame.to_parquet(f)
    times = tuple(range(4))
    fit = fit_registry(tmp_path, GROUPS, times, covariates=("age",))
    frame = _long(tmp_path)
    subj = np.unique(frame["subject"], return_inverse=True)[1]
    group = pd.Categorical(frame["group"].astype(str), categories=GROUPS).codes
    e = analyse_arrays(
        subj.astype(np.intp),
        np.asarray(group, np.intp),
        frame["time"].to_numpy(np.intp),
        frame["outcome"].to_numpy(),
        GROUPS,
        tuple(str(t) for t in times),
        (NumericVar("age", frame["age"].to_numpy(np.float64)),),
        covariance="cs",
    )
    s = fit.summary()
    assert s["reml_loglik"] == pytest.approx(e.loglik, rel=1e-10)
    cp = s["covariance_parameters"]
    assert cp["between"] == pytest.approx(e.covariance_parameters["between"], rel=1e-7)
    assert cp["within"] == pytest.approx(e.covariance_parameters["within"], rel=1e-7)
    for mine, theirs in zip(s["lsmeans"], e.lsmeans, strict=True):
        assert mine["estimate"] == pytest.approx(theirs.estimate, rel=1e-7)
    for mine, theirs in zip(s["differences"], e.differences, strict=True):
        assert mine["estimate"] == pytest.approx(theirs.estimate, rel=1e-7)
        assert mine["se"] == pytest.approx(theirs.se, rel=1e-7)
        assert mine["df"] == theirs.df
    theirs_t3 = {row.effect: row for row in e.type3}
    assert {row["effect"] for row in s["type3"]} == set(theirs_t3)
    for row in s["type3"]:
        assert row["F"] == pytest.approx(theirs_t3[row["effect"]].F, rel=1e-7)
        assert row["den_df"] == theirs_t3[row["effect"]].den_df
    age_coef = next(c for c in e.fixed_effects if c.term == "age")
    assert s["covariates"][0]["estimate"] == pytest.approx(age_coef.estimate, rel=1e-7)
    assert s["covariates"][0]["se"] == pytest.approx(age_coef.se, rel=1e-7)


def test_registry_un_fit_refuses_covariates(registry: Path) -> None:
    with pytest.raises(InvalidInput, match="covariate"):
        fit_registry(registry, GROUPS, TIMES, covariance="un", covariates=("age",))
