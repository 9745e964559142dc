"""Regenerate trials.csv: four seeded simulated RCT trials with dropout (long format).

Run from the repository root: ``.venv/bin/python tests/reference/simulation/make_trials.py``,
then ``Rscript tests/reference/simulation/nlme_gls.R`` to refit them with nlme.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ketamine_ptsd.simulation.design import rct_design
from ketamine_ptsd.simulation.generate import generate_trials

HERE = Path(__file__).parent


def main() -> None:
    design = rct_design().replace(dropout_hazard=(0.0, 0.1, 0.15))
    trials = generate_trials(design, 4, np.random.default_rng(20240607))
    frames = []
    for b in range(trials.n_trials):
        frame = trials.to_long(b)
        frame.insert(0, "trial", b)
        frames.append(frame)
    pd.concat(frames).to_csv(HERE / "trials.csv", index=False, float_format="%.10f")


if __name__ == "__main__":
    main()
