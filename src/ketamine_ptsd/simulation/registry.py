"""Registry-scale CS and UN MMRM: a million patients from Parquet, on one machine or on Dask.

Pooled clinic outcomes (SYSTEM.md capability 8, "registry scale") have far too many patients
for a fit that holds the N×p design or the patients' covariance blocks. The CS REML of
``outcome ~ group*time + covariates`` does not need them: the one CS engine
(``core.stats.mmrm.cs_profile``) computes the profiled REML criterion, its derivatives, the GLS
estimates and their covariance from sums per number of observed visits k — Σ x̄x̄ᵀ, Σ x̄ȳ, Σ ȳ²
and counts (x̄, ȳ a patient's sums of X rows and outcomes), plus X'X, X'y, y'y
(``ProfileSums``). X is the cell-means design (one column per group × visit) followed by the
numeric covariates (``covariates=``: baseline score, age...). Those sums are additive over
patients, so:

1. each partition (a Parquet file holding whole patients) is reduced to its sums,
2. the sums are added (a tree reduction on Dask, a loop here),
3. the 1-D REML problem is solved once on the total by the engine's Newton iteration
   (``core.stats.mmrm.batched.fit_cs_from_sums``, a batch of one), with the same Type 3,
   LS means (at the covariates' means) and between-within df as one analysis; a covariate
   is a between-subject effect unless it changes within some patient, which the sums tell
   (its within-subject sum of squares X'X − Σ_k m_k/k is not zero).

Unstructured covariance (``covariance="un"``) works the same way with other sums. With one mean
per group × visit, the REML criterion of a UN model, its gradient in Σ, the GLS estimates and
their covariance depend on the data only through, per group and *missingness pattern* (the set
of visits a patient was seen at): the number of patients n, the sum of their outcome vectors Σy
and the sum of outer products Σyyᵀ (``UNPartitionSums``; ``core.stats.mmrm.batched_un`` for
the batched trials). UN takes no covariates here. For pattern P, X_iᵀW_PX_i, X_iᵀW_Py_i and the residual quadratic form of every
patient in it are linear in those three sums, so X'V⁻¹X, X'V⁻¹y and r'V⁻¹r are sums over
patterns of a few T × T products — each REML iteration costs O(patterns · T³), independent of
the number of patients. Partitions see different subsets of the patterns; their sums are
aligned on the union of the patterns before being added. The same Newton iteration as for one
simulated trial (``batched_un.fit_un``) then runs once on the totals, from the same
available-case starting covariance, computed here from the sums instead of the patients.

The single-machine path reads one file at a time (memory: one file plus a few kilobytes of
sums); the Dask path maps the same reduction over ``dask.dataframe`` partitions with
``dask.delayed`` and gives the same estimates (test: ``test_registry_mmrm.py``). A patient's rows
must all lie in one file: the reduction checks that the subject-id ranges of the partitions do not
overlap and refuses the data otherwise.

This module does file I/O (Parquet); it stays in ``simulation`` because it is the scale-out of the
batched fit, and it takes paths and a scheduler address from its caller.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm.batched import (
    BatchedMMRMResult,
    fit_cs_from_sums,
    fit_un_from_statistics,
)
from ketamine_ptsd.core.stats.mmrm.batched_un import UNStatistics
from ketamine_ptsd.core.stats.mmrm.cs_profile import ProfileSums, subject_x_sums
from ketamine_ptsd.simulation.registry_synthetic import write_synthetic_registry

__all__ = [
    "COVARIANCES",
    "PartitionSums",
    "RegistryFit",
    "UNPartitionSums",
    "file_sums",
    "fit_registry",
    "fit_registry_dask",
    "fit_un_from_sums",
    "partition_sums",
    "write_synthetic_registry",
]

FloatArray = npt.NDArray[np.float64]
COLUMNS = ("subject", "group", "time", "outcome")
COVARIANCES = ("cs", "un")


@dataclass(frozen=True)
class UNPartitionSums:
    """UN sums of a set of patients, per group a and observed-visit pattern p.

    ``masks[p]`` is the pattern as a bit mask over the visits (bit t = visit t observed),
    sorted ascending; ``count[a, p]`` patients, ``sum_y[a, p, t]`` Σy (0 at unobserved
    visits), ``sum_yy[a, p, t, s]`` Σ y_t y_s. Additive over disjoint sets of patients once
    aligned on the union of the patterns (``__add__``)."""

    masks: npt.NDArray[np.int64]
    count: FloatArray
    sum_y: FloatArray
    sum_yy: FloatArray

    def __add__(self, other: UNPartitionSums) -> UNPartitionSums:
        masks = np.union1d(self.masks, other.masks).astype(np.int64)
        n_groups, n_times = self.count.shape[0], self.sum_y.shape[2]
        count = np.zeros((n_groups, masks.size))
        sum_y = np.zeros((n_groups, masks.size, n_times))
        sum_yy = np.zeros((n_groups, masks.size, n_times, n_times))
        for part in (self, other):
            pos = np.searchsorted(masks, part.masks)
            count[:, pos] += part.count
            sum_y[:, pos] += part.sum_y
            sum_yy[:, pos] += part.sum_yy
        return UNPartitionSums(masks, count, sum_y, sum_yy)

    @property
    def n_times(self) -> int:
        return int(self.sum_y.shape[2])

    @property
    def patterns(self) -> npt.NDArray[np.bool_]:
        """[P, T] observed-visit indicators of the patterns."""
        return np.asarray((self.masks[:, None] >> np.arange(self.n_times)) & 1, dtype=bool)

    def statistics(self) -> UNStatistics:
        """The sums in the batched fit's layout (one trial, patterns in mask order, as
        ``batched_un.un_statistics`` orders them)."""
        return UNStatistics(
            patterns=self.patterns,
            count=self.count[None],
            sum_y=self.sum_y[None],
            sum_yy=self.sum_yy[None],
        )


def un_sums_from_arrays(
    y: FloatArray, observed: npt.NDArray[np.bool_], group: npt.NDArray[np.int64], n_groups: int
) -> UNPartitionSums:
    """UN sums from one row per patient: ``y[i, t]`` (anything where unobserved),
    ``observed[i, t]``, ``group[i]``. Patients are sorted by (group, pattern) once and every
    sum is one ``np.add.reduceat`` over the sorted rows."""
    n_times = observed.shape[1]
    if n_times > 62:  # pragma: no cover - more than 62 visits
        raise InvalidInput("time", "at most 62 visits are supported", n_times)
    mask = (observed.astype(np.int64) << np.arange(n_times, dtype=np.int64)).sum(axis=1)
    seen = mask > 0
    y, observed, group, mask = y[seen], observed[seen], group[seen], mask[seen]
    masks, pattern = np.unique(mask, return_inverse=True)
    key = group * masks.size + pattern
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, np.diff(key_sorted) != 0]) if key.size else key
    cells = key_sorted[starts]
    yz = np.where(observed, y, 0.0)[order]
    count = np.zeros(n_groups * masks.size)
    sum_y = np.zeros((n_groups * masks.size, n_times))
    sum_yy = np.zeros((n_groups * masks.size, n_times * n_times))
    if key.size:
        count[cells] = np.diff(np.r_[starts, key.size])
        sum_y[cells] = np.add.reduceat(yz, starts, axis=0)
        outer = (yz[:, :, None] * yz[:, None, :]).reshape(yz.shape[0], -1)
        sum_yy[cells] = np.add.reduceat(outer, starts, axis=0)
    return UNPartitionSums(
        masks.astype(np.int64),
        count.reshape(n_groups, masks.size),
        sum_y.reshape(n_groups, masks.size, n_times),
        sum_yy.reshape(n_groups, masks.size, n_times, n_times),
    )


def _un_start_from_sums(sums: UNPartitionSums) -> FloatArray:
    """The batched fit's starting Σ (``batched_un.un_start``: available-case covariance of
    deviations from the group × visit means, correlations shrunk 10 % towards I) from sums:
    Σ_i (y_it − μ_at)(y_is − μ_as) over the patients of group a seen at t and s is
    Σ_p [Σyyᵀ − μ_a Σyᵀ − Σy μ_aᵀ + n μ_a μ_aᵀ]_ts over the patterns p containing t and s."""
    pm = sums.patterns.astype(np.float64)  # [P, T]
    cnt = np.einsum("ap,pt->at", sums.count, pm)
    mean = sums.sum_y.sum(axis=1) / np.maximum(cnt, 1.0)  # [A, T]
    both = pm[:, :, None] * pm[:, None, :]  # [P, T, T]
    cross = np.einsum("apt,as->apts", sums.sum_y, mean)
    dev = (
        sums.sum_yy
        - cross
        - cross.swapaxes(-1, -2)
        + sums.count[:, :, None, None] * (mean[:, None, :, None] * mean[:, None, None, :])
    )
    pair_n = np.einsum("ap,pts->ts", sums.count, both)
    n_groups = sums.count.shape[0]
    cov = np.einsum("pts,apts->ts", both, dev) / np.maximum(pair_n - n_groups, 1.0)
    d = np.sqrt(np.diagonal(cov))
    corr = cov / (d[:, None] * d[None, :])
    corr = 0.9 * corr + 0.1 * np.eye(cov.shape[0])
    return np.asarray(corr * d[:, None] * d[None, :], dtype=np.float64)


def fit_un_from_sums(sums: UNPartitionSums) -> BatchedMMRMResult:
    """UN REML fit of ``outcome ~ group*time`` from (summed) per-pattern sums: the batched
    fit's Newton iteration and inference (between-within df: SAS gives every effect the
    between-subject df under TYPE=UN) on one trial, the registry."""
    st = sums.statistics()
    return fit_un_from_statistics(
        st,
        _un_start_from_sums(sums)[None],
        sums.count.shape[0],
        sums.n_times,
        np.array([float(sums.count.sum())]),
    )


def cs_sums_from_arrays(
    subject: npt.NDArray[np.int64],
    group: npt.NDArray[np.int64],
    time: npt.NDArray[np.int64],
    y: FloatArray,
    covariates: FloatArray,
    n_groups: int,
    n_times: int,
) -> ProfileSums:
    """The CS profile sums of rows (subject codes 0..S−1, group and time codes, outcome, and
    covariate values ``covariates[row, c]``) for X = [cell indicators, covariates], kept for
    every subject size 1..T so that partitions add."""
    n_cells = n_groups * n_times
    n_subj = int(subject.max()) + 1 if subject.size else 0
    p = n_cells + covariates.shape[1]
    cell = group * n_times + time
    x = np.zeros((y.size, p))
    x[np.arange(y.size), cell] = 1.0
    x[:, n_cells:] = covariates
    k = np.bincount(subject, minlength=n_subj).astype(np.float64)
    sy = np.bincount(subject, weights=y, minlength=n_subj)
    sx = np.zeros((n_subj, p))
    if y.size:  # per-subject row sums of X: one reduction over the rows sorted by subject
        order = np.argsort(subject, kind="stable")
        present = np.flatnonzero(k > 0)
        starts = np.concatenate(([0], np.cumsum(k[present])[:-1])).astype(np.intp)
        sx[present] = np.add.reduceat(x[order], starts, axis=0)
    xs = subject_x_sums(k, sx, x.T @ x, np.arange(1.0, n_times + 1.0))
    sums = xs.with_y(sy, x.T @ y, float(y @ y), y.size)
    blocks = None if covariates.shape[1] else (n_times,) * n_groups
    return ProfileSums(
        sums.k_values,
        sums.n_k,
        sums.m,
        sums.v,
        sums.w,
        sums.xtx,
        sums.xty,
        sums.yty,
        sums.n,
        None,
        blocks,
    )


def fit_cs_from_registry_sums(
    sums: ProfileSums, n_groups: int, n_times: int, covariates: tuple[str, ...]
) -> BatchedMMRMResult:
    """CS fit of the summed partitions: covariate means from X'X (each row has exactly one
    cell indicator, so a covariate's column sum is its cross-product with the cells) and
    which covariates change within patients (their within-subject sum of squares)."""
    n_cells = n_groups * n_times
    xtx = sums.xtx[0]
    means = xtx[:n_cells, n_cells:].sum(axis=0) / float(sums.n[0])
    between_part = (sums.m[0] / sums.k_values[:, None, None]).sum(axis=0)
    within_ss = np.diagonal(xtx - between_part)[n_cells:]
    within = tuple(
        bool(w > 1e-10 * max(float(d), 1e-300))
        for w, d in zip(within_ss, np.diagonal(xtx)[n_cells:], strict=True)
    )
    return fit_cs_from_sums(sums, n_groups, n_times, covariates, means, within)


@dataclass(frozen=True)
class PartitionSums:
    """The CS or UN sums of one partition, with its subject-id range for the no-straddling
    check."""

    stats: ProfileSums | UNPartitionSums
    subject_min: int
    subject_max: int
    n_rows: int


def _check_arguments(covariance: str, covariates: tuple[str, ...]) -> None:
    if covariance not in COVARIANCES:
        raise InvalidInput("covariance", f"must be one of {', '.join(COVARIANCES)}", covariance)
    if covariates and covariance == "un":
        raise InvalidInput(
            "covariate", "the registry's UN fit takes no covariates (CS does)", covariates[0]
        )


def partition_sums(
    frame: pd.DataFrame,
    group_levels: Sequence[str],
    time_levels: Sequence[Any],
    covariance: str = "cs",
    covariates: Sequence[str] = (),
) -> PartitionSums:
    """Reduce one partition (long format: subject, group, time, outcome and the numeric
    ``covariates`` columns) to CS or UN sums."""
    covariates = tuple(covariates)
    _check_arguments(covariance, covariates)
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise InvalidInput("covariate", f"column {missing[0]!r} is not in the data", missing[0])
    frame = frame[list(COLUMNS) + list(covariates)]
    frame = frame[frame["outcome"].notna()]
    n_groups, n_times = len(group_levels), len(time_levels)
    if len(frame) == 0:
        if covariance == "un":
            none = np.zeros((0, n_times))
            empty_un = un_sums_from_arrays(none, none.astype(bool), np.zeros(0, np.int64), n_groups)
            return PartitionSums(empty_un, np.iinfo(np.int64).max, np.iinfo(np.int64).min, 0)
        empty = cs_sums_from_arrays(
            *(np.zeros(0, np.int64),) * 3,
            np.zeros(0),
            np.zeros((0, len(covariates))),
            n_groups,
            n_times,
        )
        return PartitionSums(empty, np.iinfo(np.int64).max, np.iinfo(np.int64).min, 0)
    subj_ids, subj_code = np.unique(frame["subject"].to_numpy(), return_inverse=True)
    time_code = _codes(frame["time"], time_levels, "time")
    group_code = _codes(frame["group"], group_levels, "group")
    n_subj = subj_ids.size
    cell = subj_code * n_times + time_code
    if np.bincount(cell, minlength=n_subj * n_times).max() > 1:
        raise InvalidInput("time", "a subject has two rows for the same time")
    arm = np.zeros(n_subj, dtype=np.int64)
    arm[subj_code] = group_code
    if (arm[subj_code] != group_code).any():
        raise InvalidInput("group", "a subject changes group between rows")
    outcome = frame["outcome"].to_numpy(dtype=np.float64)
    stats: ProfileSums | UNPartitionSums
    if covariance == "un":
        y = np.zeros((n_subj, n_times))
        observed = np.zeros((n_subj, n_times), dtype=bool)
        y[subj_code, time_code] = outcome
        observed[subj_code, time_code] = True
        stats = un_sums_from_arrays(y, observed, arm, n_groups)
    else:
        cov_values = (
            np.column_stack([frame[c].to_numpy(dtype=np.float64) for c in covariates])
            if covariates
            else np.zeros((len(frame), 0))
        )
        bad = ~np.isfinite(cov_values)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InvalidInput(
                "covariate",
                f"{covariates[col]} of subject {subj_ids[subj_code[row]]!r} is not a finite number",
                covariates[col],
            )
        stats = cs_sums_from_arrays(
            subj_code.astype(np.int64),
            group_code,
            time_code,
            outcome,
            cov_values,
            n_groups,
            n_times,
        )
    ids = subj_ids if np.issubdtype(subj_ids.dtype, np.integer) else None
    lo = int(ids.min()) if ids is not None else 0
    hi = int(ids.max()) if ids is not None else -1
    return PartitionSums(stats, lo, hi, len(frame))


def _codes(column: pd.Series, levels: Sequence[Any], name: str) -> npt.NDArray[np.int64]:
    codes = np.asarray(pd.Index(list(levels)).get_indexer(column.to_numpy()), dtype=np.int64)
    if (codes < 0).any():
        bad = column[codes < 0].iloc[0]
        raise InvalidInput(name, f"level {bad!r} is not one of {list(levels)}", bad)
    return codes


def _check_ranges(ranges: Sequence[tuple[int, int, int]]) -> None:
    """Refuse partitions whose subject-id ranges overlap (a patient split across files)."""
    spans = sorted((lo, hi) for lo, hi, n in ranges if n > 0)
    for (_, hi), (lo, _) in itertools.pairwise(spans):
        if lo <= hi:
            raise InvalidInput(
                "subject", "subject ids of two partitions overlap: keep each patient in one file"
            )


def _range(p: PartitionSums) -> tuple[int, int, int]:
    return p.subject_min, p.subject_max, p.n_rows


def _combine(parts: Sequence[PartitionSums]) -> ProfileSums | UNPartitionSums:
    """Add partition sums after checking that no subject straddles two partitions."""
    _check_ranges([_range(p) for p in parts])
    return functools.reduce(lambda a, b: a + b, (p.stats for p in parts))  # type: ignore[operator]


def _add(a: PartitionSums, b: PartitionSums) -> PartitionSums:
    return PartitionSums(
        a.stats + b.stats,  # type: ignore[operator]
        min(a.subject_min, b.subject_min),
        max(a.subject_max, b.subject_max),
        a.n_rows + b.n_rows,
    )


@dataclass(frozen=True)
class RegistryFit:
    """A registry-scale CS or UN MMRM fit (one set of results; arrays of the batched result,
    b = 0)."""

    result: BatchedMMRMResult
    group_levels: tuple[str, ...]
    time_levels: tuple[Any, ...]
    n_partitions: int
    covariates: tuple[str, ...] = ()

    def summary(self) -> dict[str, object]:
        r = self.result
        params: dict[str, float]
        if r.structure == "cs":
            params = {
                "between": float(r.between[0]),  # type: ignore[index]
                "within": float(r.within[0]),  # type: ignore[index]
            }
        else:  # SAS's UN(i,j) names, lower triangle row by row (core covariance.py)
            n_times = r.covariance.shape[1]
            params = {
                f"UN({i + 1},{j + 1})": float(r.covariance[0, i, j])
                for i in range(n_times)
                for j in range(i + 1)
            }
        coef = r.covariate_coef
        covariates = (
            [
                {"name": name, "estimate": float(coef[0, c]), "se": float(np.sqrt(var))}
                for c, (name, var) in enumerate(
                    zip(
                        self.covariates,
                        np.diagonal(r.beta_covariance[0])[r.lsmeans[0].size :],
                        strict=True,
                    )
                )
            ]
            if coef is not None
            else []
        )
        return {
            "covariance_structure": r.structure,
            "covariates": covariates,
            "n_subjects": int(r.n_subjects[0]),
            "n_observations": int(r.n_observations[0]),
            "n_partitions": self.n_partitions,
            "covariance_parameters": params,
            "reml_loglik": float(r.reml_loglik[0]),
            "converged": bool(r.converged[0]),
            "lsmeans": [
                {"group": g, "time": t, "estimate": float(r.lsmeans[0, a, i])}
                for a, g in enumerate(self.group_levels)
                for i, t in enumerate(self.time_levels)
            ],
            "differences": [
                {
                    "time": t,
                    "estimate": float(r.diff[0, i]),
                    "se": float(r.diff_se[0, i]),
                    "df": float(r.diff_df[0]),
                    "p": float(r.diff_p[0, i]),
                }
                for i, t in enumerate(self.time_levels)
            ],
            "type3": [
                {
                    "effect": k,
                    "num_df": r.type3_num_df[k],
                    "den_df": float(r.type3_den_df[k][0]),
                    "F": float(r.type3_f[k][0]),
                    "p": float(r.type3_p[k][0]),
                }
                for k in r.type3_f
            ],
        }


def file_sums(
    path: str | Path,
    group_levels: Sequence[str],
    time_levels: Sequence[Any],
    covariance: str = "cs",
    covariates: Sequence[str] = (),
) -> PartitionSums:
    """Read one Parquet file (the four columns and the covariates only) and reduce it to its
    CS or UN sums."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=list(COLUMNS) + list(covariates))
    return partition_sums(table.to_pandas(), group_levels, time_levels, covariance, covariates)


def _fit_total(
    stats: ProfileSums | UNPartitionSums, n_groups: int, n_times: int, covariates: tuple[str, ...]
) -> BatchedMMRMResult:
    if isinstance(stats, UNPartitionSums):
        return fit_un_from_sums(stats)
    return fit_cs_from_registry_sums(stats, n_groups, n_times, covariates)


def _parquet_files(path: str | Path) -> list[Path]:
    p = Path(path)
    files = sorted(p.glob("*.parquet")) if p.is_dir() else [p]
    if not files:
        raise InvalidInput("path", "no Parquet files found", str(path))
    return files


def fit_registry(
    path: str | Path,
    group_levels: Sequence[str],
    time_levels: Sequence[Any],
    *,
    covariance: str = "cs",
    covariates: Sequence[str] = (),
) -> RegistryFit:
    """Fit the CS or UN MMRM to a directory of Parquet files, one file in memory at a time.
    ``covariates``: numeric columns added to ``outcome ~ group*time`` (CS only)."""
    covs = tuple(covariates)
    _check_arguments(covariance, covs)
    files = _parquet_files(path)
    st = _combine([file_sums(f, group_levels, time_levels, covariance, covs) for f in files])
    return RegistryFit(
        _fit_total(st, len(group_levels), len(time_levels), covs),
        tuple(group_levels),
        tuple(time_levels),
        len(files),
        covs,
    )


def fit_registry_dask(
    path: str | Path,
    group_levels: Sequence[str],
    time_levels: Sequence[Any],
    *,
    covariance: str = "cs",
    covariates: Sequence[str] = (),
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = True,
) -> RegistryFit:
    """The same fit (CS or UN) with the per-partition reduction on Dask.

    ``client`` uses an existing ``distributed.Client``; else ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``) connects to a running cluster; else a ``LocalCluster`` with
    ``n_workers`` × ``threads_per_worker`` is started for the call and closed after it. The
    Parquet path must be readable by every worker (shared or object storage for a real
    cluster). Partitions are the Parquet files, each reduced by :func:`file_sums` in a
    ``dask.delayed`` task and summed by a pairwise tree of tasks, so a patient kept in one
    file stays in one partition. (``dask.dataframe.read_parquet`` would do the same reading
    but, with pandas 3.1, warns from inside dask on every partition.)
    """
    from dask.delayed import delayed
    from distributed import Client, LocalCluster

    covs = tuple(covariates)
    _check_arguments(covariance, covs)
    files = _parquet_files(path)
    sums = [
        delayed(file_sums)(str(f), tuple(group_levels), tuple(time_levels), covariance, covs)
        for f in files
    ]
    ranges = [delayed(_range)(s) for s in sums]
    level = sums
    while len(level) > 1:
        level = [
            delayed(_add)(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    total_graph = level[0]

    def run(c: Any) -> tuple[PartitionSums, list[tuple[int, int, int]]]:
        total, rng = c.compute([total_graph, ranges], sync=True)
        return total, rng

    if client is not None:
        total, rng = run(client)
    elif scheduler is not None:
        with Client(scheduler) as c:  # type: ignore[no-untyped-call]
            total, rng = run(c)
    else:
        with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=processes,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as c,  # type: ignore[no-untyped-call]
        ):
            total, rng = run(c)
    _check_ranges(rng)
    return RegistryFit(
        _fit_total(total.stats, len(group_levels), len(time_levels), covs),
        tuple(group_levels),
        tuple(time_levels),
        len(sums),
        covs,
    )
