"""Registry-scale CS MMRM: partition sums give the one-trial engine's fit; Dask gives the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm import analyse_arrays
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
