"""Reproduce the report's primary numbers from an ADaM export alone (issue 14).

    python scripts/reproduce_from_adam.py ADAM_DIR [--protocol rct]

Reads adsl.xpt, adqs.xpt, adtte.xpt and adae.xpt (as a reviewer would, with pyreadstat), rebuilds
the analysis frames (adapters/interop/adam/reverse.py) and runs the §9 analysis on them; prints
the primary outcome's arm difference at each time point, the responders by arm with the test,
and the Kaplan-Meier medians and log-rank p of the loss of response.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyreadstat

from ketamine_ptsd.adapters.interop import adam
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.analysis import AnalysisDataset, analyse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--protocol", default="rct")
    args = parser.parse_args()
    protocol = load_protocol(args.protocol)
    datasets = {
        name: pyreadstat.read_xport(str(args.folder / f"{name.lower()}.xpt"))[0]
        for name in adam.DATASET_VARIABLES
    }
    frames, arms = adam.analysis_frames(datasets, protocol)
    results = analyse(
        AnalysisDataset(frames, arms), plan=protocol.analysis, response=protocol.response
    )
    spec = results.responders.spec
    _, fit = results.mmrm[spec.measure]
    out = {
        "arms": list(arms),
        "difference": results.difference_label,
        spec.measure: [
            {"time": d.time, "estimate": round(d.estimate, 2), "se": round(d.se, 2),
             "p": round(d.p, 4)}
            for d in fit.differences
        ],
        "responders": {arm: list(v) for arm, v in results.responders.counts.items()},
        "responders_p_yates": None
        if results.responders.result is None
        else round(results.responders.result.p_yates, 4),
        "loss_of_response_median_days": {c.group: c.median for c in results.durability.curves},
        "logrank_p": None
        if results.durability.logrank is None
        else round(results.durability.logrank.p, 4),
    }  # fmt: skip
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
