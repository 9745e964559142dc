"""Benchmark: one CS MMRM fit of the RCT's size (30 subjects × 3 visits, one missing) with
Type 3 tests and LS means, against statsmodels MixedLM (random intercept, same model) and, when
``Rscript`` is on PATH, nlme::gls timed by R's own loop; plus a 2,000 subjects × 6 visits UN fit.
SYSTEM.md "Targets": ≥ 5× faster than nlme::gls and ≥ 20× faster than MixedLM.

With ``--baseline SRC`` (the ``src`` folder of another checkout, e.g. ``git archive <commit>
src | tar -x -C /tmp/base``) the cold DataFrame path of that checkout is timed in a child
process in the same run, and the ratio printed. R mmrm (``mmrm`` + ``emmeans`` + ``car``) is
timed when ``Rscript`` has those packages.

Run: ``.venv/bin/python bench/mmrm_fit.py [--baseline SRC]`` (prints medians in ms and ratios).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ketamine_ptsd.core.stats.mmrm import analyse_arrays, fit_mmrm
from ketamine_ptsd.core.stats.mmrm.layout import clear_layout_cache


def rct_frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(30):
        arm = "ketamine" if i < 15 else "midazolam"
        b = rng.normal(0, 6)
        for v, visit in enumerate(("baseline", "week1", "week2")):
            if i == 29 and v == 2:
                continue
            y = 42 - v * (9 if arm == "ketamine" else 3) + b + rng.normal(0, 7)
            rows.append({"pid": i, "arm": arm, "visit": visit, "caps5": y})
    return pd.DataFrame(rows)


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


BASELINE_CHILD = """
import sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from mmrm_fit import rct_frame
from ketamine_ptsd.core.stats.mmrm import fit_mmrm
from ketamine_ptsd.core.stats.mmrm.layout import clear_layout_cache
df = rct_frame()
def f():
    clear_layout_cache()
    fit_mmrm(df, subject="pid", group="arm", time="visit", outcome="caps5")
f()
times = []
for _ in range(300):
    t0 = time.perf_counter()
    f()
    times.append(time.perf_counter() - t0)
print(1e3 * float(np.median(times)))
"""


def baseline_frame_cold_ms(src: str) -> float:
    """Median ms of the cold DataFrame path of the checkout whose ``src`` folder is ``src``."""
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
    out = subprocess.run(
        [sys.executable, "-c", BASELINE_CHILD, str(Path(__file__).resolve().parent)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def r_mmrm_ms(path: str) -> float | None:
    """R mmrm (fit + emmeans + car::Anova), R's own loop, when the packages are installed."""
    code = (
        "ok <- all(sapply(c('mmrm','emmeans','car'), requireNamespace, quietly = TRUE));"
        "if (!ok) { cat('NA'); quit() };"
        "suppressMessages({library(mmrm); library(emmeans)}); d <- read.csv('" + path + "');"
        "d$visit <- factor(d$visit); d$arm <- factor(d$arm); d$pid <- factor(d$pid); n <- 50;"
        "f <- function() { m <- mmrm(caps5 ~ arm * visit + cs(visit | pid), d);"
        " emmeans(m, ~ arm | visit); car::Anova(m, type = 'III') };"
        "invisible(f()); t0 <- Sys.time(); for (i in 1:n) f();"
        " cat((as.numeric(Sys.time()) - as.numeric(t0)) / n * 1000)"
    )
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=False)
    text = out.stdout.strip().split()
    return None if not text or text[-1] == "NA" else float(text[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="src folder of the checkout to compare with")
    args = parser.parse_args()
    df = rct_frame()
    subj = df["pid"].to_numpy(dtype=np.intp)
    grp = (df["arm"] == "midazolam").to_numpy(dtype=np.intp)
    tim = df["visit"].map({"baseline": 0, "week1": 1, "week2": 2}).to_numpy(dtype=np.intp)
    y = df["caps5"].to_numpy()
    glev = ("ketamine", "midazolam")
    tlev = ("baseline", "week1", "week2")

    def ours() -> None:
        analyse_arrays(subj, grp, tim, y, glev, tlev)

    def ours_cold() -> None:
        clear_layout_cache()
        analyse_arrays(subj, grp, tim, y, glev, tlev)

    # "warm": the layout (design, contrasts, patterns) memoised from an earlier call with the
    # same codes, as in every refit after the first (simulator, R's loop refitting one data
    # set); "cold": memo cleared before each call, everything rebuilt
    def ours_frame_cold() -> None:
        # the DataFrame front-end, as ``ketamine-ptsd stats mmrm`` runs it after reading the CSV
        clear_layout_cache()
        fit_mmrm(df, subject="pid", group="arm", time="visit", outcome="caps5")

    ours_ms = median_ms(ours, 1000)
    cold_ms = median_ms(ours_cold, 300)
    frame_ms = median_ms(ours_frame_cold, 300)
    print(f"ours  CS fit + Type 3 + LS means (30x3, 89 obs): median {ours_ms:.3f} ms (warm)")
    print(f"ours  same, layout memo cleared each call:       median {cold_ms:.3f} ms (cold)")
    print(f"ours  same from the DataFrame (fit_mmrm), cold:  median {frame_ms:.3f} ms")
    print(f"machine load average (1 min): {os.getloadavg()[0]:.1f}", flush=True)

    import statsmodels.formula.api as smf

    def sm() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            smf.mixedlm("caps5 ~ arm * visit", df, groups=df["pid"]).fit(reml=True)

    sm_ms = median_ms(sm, 30)
    print(
        f"statsmodels MixedLM (random intercept):          median {sm_ms:.3f} ms  "
        f"ratio {sm_ms / ours_ms:.1f}x (cold {sm_ms / cold_ms:.1f}x)"
    )

    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "d.csv")
            df.to_csv(path, index=False)
            code = (
                "suppressMessages(library(nlme)); d <- read.csv('" + path + "');"
                "d$visit <- factor(d$visit); d$arm <- factor(d$arm); n <- 200;"
                "f <- function() { m <- gls(caps5 ~ arm * visit, d,"
                " correlation = corCompSymm(form = ~ 1 | pid)); anova(m, type = 'marginal') };"
                "invisible(f()); t0 <- Sys.time(); for (i in 1:n) f();"
                " cat((as.numeric(Sys.time()) -"
                " as.numeric(t0)) / n * 1000)"
            )
            out = subprocess.run(
                ["Rscript", "-e", code], capture_output=True, text=True, check=True
            )
            r_ms = float(out.stdout.strip().split()[-1])
            mmrm_ms = r_mmrm_ms(path)
        print(
            f"R nlme::gls CS + anova (R's own loop, mean):      {r_ms:.3f} ms  "
            f"ratio {r_ms / ours_ms:.1f}x (cold {r_ms / cold_ms:.1f}x, "
            f"DataFrame cold {r_ms / frame_ms:.1f}x)"
        )
        if mmrm_ms is None:
            print("R mmrm + emmeans + car not installed: R mmrm not timed")
        else:
            print(
                f"R mmrm + emmeans + car::Anova (R's own loop):    {mmrm_ms:.3f} ms  "
                f"ratio DataFrame cold {mmrm_ms / frame_ms:.1f}x"
            )
    else:
        print("Rscript not found: nlme::gls not timed")
    if args.baseline:
        base_ms = baseline_frame_cold_ms(args.baseline)
        print(
            f"baseline checkout, DataFrame cold (child process): median {base_ms:.3f} ms  "
            f"-> this tree is {base_ms / frame_ms:.2f}x faster"
        )
    print(f"machine load average (1 min) at the end: {os.getloadavg()[0]:.1f}", flush=True)

    # 2,000 subjects x 6 visits, unstructured
    rng = np.random.default_rng(7)
    n_subj, n_vis = 2000, 6
    a = rng.normal(size=(n_vis, n_vis))
    sigma = a @ a.T + n_vis * np.eye(n_vis)
    chol = np.linalg.cholesky(sigma)
    g = np.repeat(np.arange(n_subj) % 2, n_vis).astype(np.intp)
    t = np.tile(np.arange(n_vis), n_subj).astype(np.intp)
    s = np.repeat(np.arange(n_subj), n_vis).astype(np.intp)
    yy = (rng.normal(size=(n_subj, n_vis)) @ chol.T).ravel() + 2.0 * t * (g == 0)
    keep = rng.uniform(size=yy.size) > 0.1
    keep[t == 0] = True
    tl = tuple(f"v{i}" for i in range(n_vis))

    def big() -> None:
        analyse_arrays(s[keep], g[keep], t[keep], yy[keep], glev, tl, covariance="un")

    big_ms = median_ms(big, 5)
    print(
        f"ours  UN fit + Type 3 + LS means (2000x6, {int(keep.sum())} obs): median {big_ms:.1f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()
