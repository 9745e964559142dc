"""Benchmark: CS or UN MMRM of 1,000,000 patients × 8 visits from Parquet (SYSTEM.md target:
≤ 60 s and ≤ 8 GB on one machine; the same fit on Dask). ``--covariance un`` fits the
unstructured model (36 covariance parameters) from per-pattern sums.

The synthetic registry is written to a temporary directory by a child process (so that the
generator's memory does not count), then this process fits it one file at a time and reports
wall time and peak resident memory (``resource.getrusage``). The peer, measured in the same run:
the one-trial engine (``core.stats.mmrm.analyse_arrays``) on a sample of patients, extrapolated
linearly to the whole registry — labelled EXTRAPOLATED. ``--dask`` also runs the fit on a Dask
LocalCluster (worker processes; their peak memory is reported from RUSAGE_CHILDREN).

Run: ``.venv/bin/python bench/registry_mmrm.py [--patients 1000000] [--visits 8] [--dask]
[--covariance cs|un]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

GROUPS = ("ketamine", "usual-care")


def _write(directory: str, patients: int, visits: int, files: int) -> None:
    from ketamine_ptsd.simulation.registry import write_synthetic_registry

    write_synthetic_registry(
        directory, patients, visits, np.random.default_rng(2026), n_files=files
    )


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--visits", type=int, default=8)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--engine-sample", type=int, default=None)
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--covariance", choices=("cs", "un"), default="cs")
    args = parser.parse_args()
    if args.engine_sample is None:  # the engine's UN Newton is far slower per patient
        args.engine_sample = 20_000 if args.covariance == "cs" else 4_000
    times = tuple(range(args.visits))

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ctx = mp.get_context("spawn")
        proc = ctx.Process(target=_write, args=(tmp, args.patients, args.visits, args.files))
        proc.start()
        proc.join()
        size_mb = sum(p.stat().st_size for p in Path(tmp).glob("*.parquet")) / 2**20
        print(
            f"wrote {args.patients} patients x {args.visits} visits in {args.files} Parquet files "
            f"({size_mb:.0f} MB) in {time.perf_counter() - start:.1f} s (child process)"
        )
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

        from ketamine_ptsd.simulation.registry import fit_registry, fit_registry_dask

        base_mb = _peak_mb(resource.RUSAGE_SELF)
        start = time.perf_counter()
        fit = fit_registry(tmp, GROUPS, times, covariance=args.covariance)
        single_s = time.perf_counter() - start
        s = fit.summary()
        cp: dict[str, float] = s["covariance_parameters"]  # type: ignore[assignment]
        shown = ", ".join(f"{k} {v:.4f}" for k, v in list(cp.items())[:3])
        print(
            f"{args.covariance.upper()} single machine: {single_s:.2f} s, peak RSS "
            f"{_peak_mb(resource.RUSAGE_SELF):.0f} MB (before the fit {base_mb:.0f} MB); "
            f"n_obs {s['n_observations']}, {len(cp)} covariance parameters ({shown}, ...), "
            f"REML log-lik {s['reml_loglik']:.6f}, converged {s['converged']}"
        )
        ok = single_s <= 60 and _peak_mb(resource.RUSAGE_SELF) <= 8192
        print(f"target: <= 60 s and <= 8 GB -> {'MET' if ok else 'NOT MET'}")

        # Peer: the one-trial engine on the first file's first patients, extrapolated.
        import pyarrow.parquet as pq

        from ketamine_ptsd.core.stats.mmrm import analyse_arrays

        frame = pq.read_table(sorted(Path(tmp).glob("*.parquet"))[0]).to_pandas()
        frame = frame[frame["subject"] < frame["subject"].min() + args.engine_sample]
        subj = np.unique(frame["subject"], return_inverse=True)[1]
        grp = np.asarray([GROUPS.index(g) for g in frame["group"].astype(str)], dtype=np.intp)
        start = time.perf_counter()
        analyse_arrays(
            subj.astype(np.intp),
            grp,
            frame["time"].to_numpy(np.intp),
            frame["outcome"].to_numpy(),
            GROUPS,
            tuple(str(t) for t in times),
            covariance=args.covariance,
        )
        engine_s = (time.perf_counter() - start) * args.patients / args.engine_sample
        print(
            f"one-trial engine on {args.engine_sample} patients, EXTRAPOLATED to "
            f"{args.patients}: {engine_s:.1f} s -> partition sums are "
            f"{engine_s / single_s:.1f}x faster"
        )

        if args.dask:
            start = time.perf_counter()
            dfit = fit_registry_dask(
                tmp, GROUPS, times, covariance=args.covariance, n_workers=2, threads_per_worker=1
            )
            dask_s = time.perf_counter() - start
            d = dfit.summary()
            same = abs(d["reml_loglik"] - s["reml_loglik"]) / abs(s["reml_loglik"])  # type: ignore[operator]
            print(
                f"Dask LocalCluster (2 worker processes, incl. cluster start): {dask_s:.2f} s, "
                f"worker peak RSS {_peak_mb(resource.RUSAGE_CHILDREN):.0f} MB, relative "
                f"difference in REML log-likelihood vs single machine {same:.1e}"
            )


if __name__ == "__main__":
    main()
