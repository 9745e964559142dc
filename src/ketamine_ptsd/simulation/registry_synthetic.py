"""A synthetic registry in Parquet (long format, each patient in one file) for the registry-scale
fit's tests and benchmark (``registry.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["write_synthetic_registry"]


def write_synthetic_registry(
    directory: str | Path,
    n_patients: int,
    n_visits: int,
    rng: np.random.Generator,
    *,
    n_files: int = 16,
    group_levels: Sequence[str] = ("ketamine", "usual-care"),
    between: float = 76.1,
    within: float = 40.5,
    dropout_per_visit: float = 0.03,
) -> list[Path]:
    """Write a synthetic registry (long format, each patient in one file) for tests and benches.

    Outcomes follow a CAPS-5-like course (start 41, falling over visits, faster in the first
    group) with the RCT's CS variances (PROTOCOL.md §10 calibration in ``design.py``) and
    monotone dropout; written file by file so memory stays at one file's worth.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, n_patients, n_files + 1).astype(np.int64)
    n_groups = len(group_levels)
    slope = np.linspace(-2.0, -0.8, n_groups)
    visits = np.arange(n_visits)
    paths = []
    for f in range(n_files):
        ids = np.arange(bounds[f], bounds[f + 1], dtype=np.int64)
        n = ids.size
        grp = rng.integers(0, n_groups, n)
        mean = 41.0 + slope[grp][:, None] * np.minimum(visits, 4)[None, :]
        y = (
            mean
            + np.sqrt(between) * rng.standard_normal((n, 1))
            + np.sqrt(within) * rng.standard_normal((n, n_visits))
        )
        u = rng.random((n, n_visits))
        u[:, 0] = 1.0
        seen = np.logical_and.accumulate(u >= dropout_per_visit, axis=1)
        rows, cols = np.nonzero(seen)
        table = pa.table(
            {
                "subject": ids[rows],
                "group": pa.array(
                    np.asarray(group_levels, dtype=object)[grp[rows]]
                ).dictionary_encode(),
                "time": cols.astype(np.int16),
                "outcome": y[rows, cols],
            }
        )
        path = out / f"part-{f:04d}.parquet"
        pq.write_table(table, path)
        paths.append(path)
    return paths
