"""Benchmark: 10,000 simulated RCT trials, each analysed by the full CS MMRM (SYSTEM.md target:
≤ 1 s on two cores, the same numbers as the one-trial engine).

Prints, from one run:
* the batched simulator (generation + CS REML + Type 3 + differences + power summary), best and
  median of several repeats, with 1 and 2 worker threads;
* looping the one-trial engine (``core.stats.mmrm.analyse_arrays``) over a sample of the same
  trials, extrapolated to 10,000 — labelled EXTRAPOLATED;
* looping statsmodels ``MixedLM`` (random intercept = CS with a non-negative between variance,
  REML) over a smaller sample, extrapolated — labelled EXTRAPOLATED;
* the largest disagreement between the batched fit and the engine on the engine's sample.

With ``--baseline SRC`` (the ``src`` folder of another checkout, e.g. ``git archive <commit>
src | tar -x -C /tmp/base``) the simulator of that checkout and of this tree are timed in child
processes, alternately, round after round, so both see the same machine; it prints each one's
best wall time and CPU time (user + system of the process: the work on the two cores) with 2
worker threads, and the ratio this tree / baseline.

Run: ``.venv/bin/python bench/simulate_power.py [--trials 10000] [--repeats 5] [--baseline SRC]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

CHILD = """
import json, os, sys, time
import numpy as np
from ketamine_ptsd.simulation.design import rct_design
from ketamine_ptsd.simulation.power import simulate_power
trials, repeats = int(sys.argv[1]), int(sys.argv[2])
design = rct_design()
simulate_power(design, 2000, np.random.default_rng(0), workers=2)  # warm-up
wall, cpu = [], []
for r in range(repeats):
    t0, c0 = time.perf_counter(), os.times()
    res = simulate_power(design, trials, np.random.default_rng(r), workers=2)
    c1 = os.times()
    wall.append(time.perf_counter() - t0)
    cpu.append(c1.user + c1.system - c0.user - c0.system)
print(json.dumps({"wall": wall, "cpu": cpu, "power": res.power}))
"""


def compare(baseline: str, trials: int, repeats: int, rounds: int) -> None:
    """This tree against ``baseline`` (a ``src`` folder), child processes alternating."""
    here = str(Path(__file__).resolve().parents[1] / "src")
    variants = {"baseline": str(Path(baseline).resolve()), "this tree": here}
    best: dict[str, dict[str, float]] = {n: {"wall": 1e9, "cpu": 1e9} for n in variants}
    loads = []
    for _ in range(rounds):
        for name, src in variants.items():
            env = dict(os.environ, PYTHONPATH=src)
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(trials), str(repeats)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            loads.append(os.getloadavg()[0])
            best[name]["wall"] = min(best[name]["wall"], min(row["wall"]))
            best[name]["cpu"] = min(best[name]["cpu"], min(row["cpu"]))
            print(
                f"{name:9s}: {trials} trials, 2 threads: best wall {min(row['wall']):.3f} s, "
                f"best CPU {min(row['cpu']):.3f} s (power {row['power']:.4f})",
                flush=True,
            )
    print(f"load average during the runs: {min(loads):.2f}-{max(loads):.2f} (2 cores)")
    for key in ("wall", "cpu"):
        ratio = best["this tree"][key] / best["baseline"][key]
        print(
            f"best {key}: this tree {best['this tree'][key]:.3f} s, baseline "
            f"{best['baseline'][key]:.3f} s -> this tree / baseline = {ratio:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--engine-sample", type=int, default=200)
    parser.add_argument("--mixedlm-sample", type=int, default=30)
    parser.add_argument("--baseline", help="src folder of the checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="alternations with --baseline")
    args = parser.parse_args()
    if args.baseline:
        compare(args.baseline, args.trials, args.repeats, args.rounds)
        return

    from ketamine_ptsd.core.stats.mmrm import analyse_arrays
    from ketamine_ptsd.core.stats.mmrm.batched import fit_batched_mmrm
    from ketamine_ptsd.simulation.design import rct_design
    from ketamine_ptsd.simulation.generate import generate_trials
    from ketamine_ptsd.simulation.power import simulate_power

    design = rct_design()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"design: {design.name}, {design.n_per_arm}/arm, times {design.times}, CS MMRM")

    simulate_power(design, 2000, np.random.default_rng(0), workers=2)  # warm-up
    results: dict[int, list[float]] = {}
    for workers in (1, 2):
        times = []
        for r in range(args.repeats):
            start = time.perf_counter()
            res = simulate_power(design, args.trials, np.random.default_rng(r), workers=workers)
            times.append(time.perf_counter() - start)
        results[workers] = times
        print(
            f"batched simulator, {args.trials} trials, {workers} thread(s): best "
            f"{min(times):.3f} s, median {statistics.median(times):.3f} s "
            f"(power {res.power:.4f}, non-converged {res.non_converged})"
        )
    batched_best = min(results[2])

    trials = generate_trials(design, args.engine_sample, np.random.default_rng(99))
    fit = fit_batched_mmrm(trials.outcome, trials.observed, trials.arm)
    worst = 0.0
    start = time.perf_counter()
    for b in range(args.engine_sample):
        obs = trials.observed[b]
        subj, tim = np.nonzero(obs)
        e = analyse_arrays(
            subj.astype(np.intp),
            trials.arm[subj].astype(np.intp),
            tim.astype(np.intp),
            trials.outcome[b][obs],
            design.arms,
            design.times,
            covariance="cs",
        )
        worst = max(worst, abs(e.differences[2].estimate - fit.diff[b, 2]))
        worst = max(worst, abs(e.differences[2].se - fit.diff_se[b, 2]))
    engine_s = (time.perf_counter() - start) / args.engine_sample * args.trials
    print(
        f"one-trial engine looped: {engine_s:.2f} s for {args.trials} trials "
        f"(EXTRAPOLATED from {args.engine_sample}) -> batched is {engine_s / batched_best:.0f}x "
        f"faster; max |batched - engine| (week-2 difference and SE) = {worst:.2e}"
    )

    import pandas as pd
    import statsmodels.formula.api as smf

    start = time.perf_counter()
    for b in range(args.mixedlm_sample):
        frame = trials.to_long(b)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = smf.mixedlm("outcome ~ C(group) * C(time)", frame, groups=frame["subject"]).fit(
                reml=True
            )
        _ = model.params, pd.Series(model.bse)
    mixed_s = (time.perf_counter() - start) / args.mixedlm_sample * args.trials
    print(
        f"statsmodels MixedLM looped (fit only, no Type 3): {mixed_s:.1f} s for {args.trials} "
        f"trials (EXTRAPOLATED from {args.mixedlm_sample}) -> batched is "
        f"{mixed_s / batched_best:.0f}x faster"
    )
    print(
        f"target: <= 1 s for 10,000 trials on two cores -> {'MET' if batched_best <= 1 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
