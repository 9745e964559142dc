"""The demo's batch part against its target (SYSTEM.md, issue 6: at most 20 s after installation).

Runs ``ketamine-ptsd demo --no-serve`` on a fresh folder ``--runs`` times and reads, from each
run, the wall time of the whole process (start-up and imports included), the load's time as the
demo prints it and the batch part it prints. With ``--baseline SRC`` (the ``src`` folder of
another checkout, e.g. ``git worktree add /tmp/base <commit>``) the baseline runs alternately
with this tree, back to back, so both see the same machine; the ratio is this tree's median
over the baseline's.

    .venv/bin/python bench/demo_batch.py --runs 3 [--baseline /tmp/base/src]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 20.0
ENTRY = "from ketamine_ptsd.adapters.cli.app import main; main()"


def run_once(src: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as out:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", ENTRY, "demo", "--no-serve", "--out", out],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"demo failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    load = re.search(r"service calls in ([0-9.]+) s", done.stdout)
    batch = re.search(r"batch part finished in ([0-9.]+) s", done.stdout)
    return {
        "wall": wall,
        "load": float(load.group(1)) if load else float("nan"),
        "batch": float(batch.group(1)) if batch else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="src folder of the checkout to compare with")
    args = parser.parse_args()
    variants: list[tuple[str, str | None]] = [("this tree", None)]
    if args.baseline:
        variants.insert(0, ("baseline", str(Path(args.baseline).resolve())))
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in variants}
    load_avg = []
    for i in range(args.runs):
        for name, src in variants:
            row = run_once(src)
            results[name].append(row)
            print(
                f"run {i + 1} {name:9s}: wall {row['wall']:5.1f} s, load {row['load']:5.1f} s, "
                f"printed batch part {row['batch']:5.1f} s",
                flush=True,
            )
            load_avg.append(os.getloadavg()[0])
    print(f"load average during the runs: {min(load_avg):.2f}-{max(load_avg):.2f} (2 cores)")
    medians = {name: statistics.median(r["wall"] for r in rows) for name, rows in results.items()}
    for name, value in medians.items():
        print(
            f"median wall, {name}: {value:.1f} s = {value / TARGET_S:.2f} x the {TARGET_S:.0f} s target"
        )
    if args.baseline:
        ratio = medians["this tree"] / medians["baseline"]
        print(f"this tree / baseline (median wall): {ratio:.2f}")


if __name__ == "__main__":
    main()
