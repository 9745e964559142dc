"""Writes the random inputs of the approximate-Bayes reference (make_approxbayes.R): stratified
bootstrap counts and standard normal draws, so that R and the Python engine use the same ones.
Run from the repository root: .venv/bin/python tests/reference/refbased/make_approxbayes_draws.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
M = 25

with (HERE / "antidepressant.csv").open(newline="") as fh:
    rows = list(csv.DictReader(fh))
patients = sorted({int(r["PATIENT"]) for r in rows})
arm = {int(r["PATIENT"]): r["THERAPY"] for r in rows}
rng = np.random.default_rng(20261204)
counts = np.zeros((M, len(patients)), dtype=int)
for therapy in ("DRUG", "PLACEBO"):
    members = [i for i, p in enumerate(patients) if arm[p] == therapy]
    for m in range(M):
        for k in rng.integers(0, len(members), size=len(members)):
            counts[m, members[k]] += 1
z = rng.standard_normal((M, len(patients), 4))
with (HERE / "approxbayes_draws.csv").open("w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["sample", "PATIENT", "count", "z4", "z5", "z6", "z7"])
    for m in range(M):
        for i, p in enumerate(patients):
            w.writerow([m + 1, p, counts[m, i], *(f"{v:.17g}" for v in z[m, i])])
