"""``ketamine-ptsd stats mi DATA.csv ...`` — reference-based multiple imputation
(core/stats/mi.py) on any long CSV.

Flags and JSON keys are the public contract of SYSTEM.md ("Command-line contract for the
statistics engine"): ``method``, ``n_subjects``, ``n_samples``, ``differences`` ``[{time,
estimate, se, ci_low, ci_high, p}]`` (first group of ``--group-order`` minus second, as ``stats
mmrm``) and ``lsmeans`` ``[{group, time, estimate, se}]``. Besides them: ``reference``,
``n_imputed``, ``strategies`` (subjects per strategy, MAR including those without an ICE row),
``seed``, ``level``, each difference's ``df`` (null for the normal-based condmean methods) and,
with ``--tipping-point``, ``tipping_point`` ``{time, active, alpha, delta, searched_to,
curve[{delta, estimate, se, ci_low, ci_high, p}]}``.

Files: ``ICE.csv`` ``subject,time,strategy`` (time = the first visit the intercurrent event
affects; strategy MAR|JR|CR|CIR|LMCF; one row per subject at most); ``DELTA.csv``
``subject,time,delta`` (a shift added to that subject's imputed value at that visit; rows for
observed values are counted in ``n_delta_ignored`` and have no effect). Covariates are
baseline values: numeric and constant within each subject. Every problem ends in one line on
stderr naming the file, row and column, exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ketamine_ptsd.adapters.cli.output import comma_list, fail, print_json
from ketamine_ptsd.core.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from ketamine_ptsd.core.stats.mi import MIResult, TippingPoint

__all__ = ["register"]


def _read(path: Path, what: str, str_cols: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        fail(f"{what}: no such file: {path}")
    try:
        return pd.read_csv(path, dtype={c: str for c in str_cols}, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}")


def _need(frame: pd.DataFrame, cols: tuple[str, ...], where: str) -> None:
    for col in cols:
        if col not in frame.columns:
            fail(f"{where}: no column {col!r} (columns: {', '.join(map(str, frame.columns))})")


def _levels(values: list[str], order: list[str] | None, option: str, column: str) -> list[str]:
    present = sorted(set(values))
    if order is None:
        return present
    unknown = sorted(set(present) - set(order))
    if unknown:
        fail(f"{option}: {column} value(s) {unknown} are not listed")
    return [v for v in order if v in present]


def _build(
    frame: pd.DataFrame,
    *,
    subject: str,
    group: str,
    time: str,
    outcome: str,
    covariates: tuple[str, ...],
    time_order: list[str] | None,
    group_order: list[str] | None,
) -> tuple[list[str], list[str], list[str], Any, Any, Any]:
    import numpy as np
    import pandas as pd

    _need(frame, (subject, group, time, outcome, *covariates), "DATA")
    frame = frame.dropna(subset=[subject, group, time]).copy()
    frame[time] = frame[time].astype(str)
    frame[group] = frame[group].astype(str)
    values = pd.to_numeric(frame[outcome], errors="coerce")
    bad = values.isna() & frame[outcome].notna()
    if bad.any():
        label = bad.idxmax()  # the CSV's own row (read_csv's index; line = index + 2)
        fail(f"DATA row {label + 2}: {outcome} {frame.at[label, outcome]!r} is not a number")
    infinite = ~np.isfinite(values.fillna(0.0))
    if infinite.any():
        fail(f"DATA row {infinite.idxmax() + 2}: {outcome} must be a finite number or empty")
    times = _levels(frame[time].tolist(), time_order, "--time-order", time)
    groups = _levels(frame[group].tolist(), group_order, "--group-order", group)
    if len(groups) != 2:
        fail(f"{group}: exactly two arms are needed, found {groups}")
    subjects = sorted(frame[subject].unique().tolist())
    s_index = {s: i for i, s in enumerate(subjects)}
    t_index = {t: i for i, t in enumerate(times)}
    y = np.full((len(subjects), len(times)), np.nan)
    seen = np.zeros_like(y, dtype=bool)
    arm = np.full(len(subjects), -1, dtype=np.intp)
    cov = np.full((len(subjects), len(covariates)), np.nan)
    for label, sid, g, t, v, *cvals in zip(
        frame.index,
        frame[subject],
        frame[group],
        frame[time],
        values,
        *(frame[c] for c in covariates),
        strict=True,
    ):
        row_no = label + 2
        if t not in t_index:
            continue
        i, j = s_index[sid], t_index[t]
        if seen[i, j]:
            fail(f"DATA row {row_no}: subject {sid} has {time} {t} twice")
        seen[i, j] = True
        y[i, j] = v
        code = groups.index(g)
        if arm[i] not in (-1, code):
            fail(f"DATA row {row_no}: subject {sid} is in two arms")
        arm[i] = code
        for k, (c, cv) in enumerate(zip(covariates, cvals, strict=True)):
            try:
                num = float(cv)
            except (TypeError, ValueError):
                fail(f"DATA row {row_no}: covariate {c} {cv!r} is not a number")
            if not np.isfinite(num):
                fail(f"DATA row {row_no}: covariate {c} must be a finite number (a baseline value)")
            if not np.isnan(cov[i, k]) and cov[i, k] != num:
                fail(f"DATA row {row_no}: covariate {c} changes within subject {sid} (baseline?)")
            cov[i, k] = num
    return subjects, times, groups, y, arm, cov


def _read_ice(path: Path, subjects: list[str], times: list[str]) -> tuple[Any, list[str]]:
    import numpy as np

    frame = _read(path, "--ice", ("subject", "time", "strategy"))
    _need(frame, ("subject", "time", "strategy"), f"--ice {path}")
    from ketamine_ptsd.core.stats.mi import STRATEGIES

    s_index = {s: i for i, s in enumerate(subjects)}
    ice = np.full(len(subjects), len(times), dtype=np.intp)
    strategy = ["MAR"] * len(subjects)
    given: set[str] = set()
    for row_no, (sid, t, s) in enumerate(
        zip(frame["subject"], frame["time"], frame["strategy"], strict=True), start=2
    ):
        where = f"--ice {path.name} row {row_no}"
        if sid not in s_index:
            fail(f"{where}: subject {sid!r} is not in DATA")
        if sid in given:
            fail(f"{where}: subject {sid} has two ICE rows")
        if str(t) not in times:
            fail(f"{where}: time {t!r} is not a visit ({', '.join(times)})")
        s = str(s).strip().upper()
        if s not in STRATEGIES:
            fail(f"{where}: strategy {s!r} must be one of {', '.join(STRATEGIES)}")
        given.add(sid)
        ice[s_index[sid]] = times.index(str(t))
        strategy[s_index[sid]] = s
    return ice, strategy


def _read_delta(path: Path, subjects: list[str], times: list[str]) -> Any:
    import numpy as np
    import pandas as pd

    frame = _read(path, "--delta", ("subject", "time"))
    _need(frame, ("subject", "time", "delta"), f"--delta {path}")
    s_index = {s: i for i, s in enumerate(subjects)}
    delta = np.zeros((len(subjects), len(times)))
    seen = np.zeros_like(delta, dtype=bool)
    values = pd.to_numeric(frame["delta"], errors="coerce")
    for row_no, (sid, t, d) in enumerate(
        zip(frame["subject"], frame["time"], values, strict=True), start=2
    ):
        where = f"--delta {path.name} row {row_no}"
        if sid not in s_index:
            fail(f"{where}: subject {sid!r} is not in DATA")
        if str(t) not in times:
            fail(f"{where}: time {t!r} is not a visit ({', '.join(times)})")
        if not np.isfinite(d):
            fail(f"{where}: delta must be a finite number")
        i, j = s_index[sid], times.index(str(t))
        if seen[i, j]:
            fail(f"{where}: subject {sid} at {t} is listed twice")
        seen[i, j] = True
        delta[i, j] = float(d)
    return delta


def _print_table(result: MIResult, tipping: TippingPoint | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]Reference-based MI[/bold] {result.method}: {result.n_subjects} subjects, "
        f"{result.n_imputed} values imputed, {result.n_samples} samples, "
        f"reference {result.reference}"
    )
    diff = Table(title=f"Differences (first group minus second), {result.level:.0%} CI")
    for col in ("time", "estimate", "SE", "CI", "p"):
        diff.add_column(col)
    for d in result.differences:
        diff.add_row(
            d.time,
            f"{d.estimate:.3f}",
            f"{d.se:.3f}",
            f"{d.ci_low:.3f} to {d.ci_high:.3f}",
            f"{d.p:.4g}",
        )
    console.print(diff)
    ls = Table(title="LS means")
    for col in ("group", "time", "estimate", "SE"):
        ls.add_column(col)
    for m in result.lsmeans:
        ls.add_row(m.group, m.time, f"{m.estimate:.3f}", f"{m.se:.3f}")
    console.print(ls)
    if tipping is not None:
        if tipping.delta is None:
            console.print(
                f"Tipping point at {tipping.time}: none up to δ = {tipping.searched_to:.3f} "
                f"added to {tipping.active}'s imputed values"
            )
        else:
            console.print(
                f"Tipping point at {tipping.time}: δ = {tipping.delta:.3f} added to every "
                f"imputed value of {tipping.active} makes p ≥ {tipping.alpha:g}"
            )


def mi_command(
    data: Annotated[Path, typer.Argument(help="Long-format CSV, one row per subject and time.")],
    subject: Annotated[str, typer.Option("--subject", help="Subject id column.")],
    group: Annotated[str, typer.Option("--group", help="Arm column (two arms).")],
    time: Annotated[str, typer.Option("--time", help="Visit column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column (numeric).")],
    reference: Annotated[str, typer.Option("--reference", help="The reference arm's level.")],
    ice: Annotated[
        Path, typer.Option("--ice", help="ICE.csv: subject,time,strategy (MAR|JR|CR|CIR|LMCF).")
    ],
    covariate: Annotated[
        list[str] | None,
        typer.Option("--covariate", help="Numeric baseline covariate column (repeatable)."),
    ] = None,
    time_order: Annotated[
        str | None, typer.Option("--time-order", help="Time levels in order: a,b,c.")
    ] = None,
    group_order: Annotated[
        str | None, typer.Option("--group-order", help="Group levels: A,B (difference A - B).")
    ] = None,
    method: Annotated[
        str,
        typer.Option("--method", help="condmean-jackknife | condmean-bootstrap | approx-bayes."),
    ] = "condmean-jackknife",
    samples: Annotated[
        int, typer.Option("--samples", help="Bootstrap samples / imputations (not jackknife).")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (bootstrap, approx-bayes).")] = 0,
    delta: Annotated[
        Path | None, typer.Option("--delta", help="DELTA.csv: subject,time,delta.")
    ] = None,
    tipping: Annotated[
        bool,
        typer.Option(
            "--tipping-point",
            help="Also find the shift of the active arm's imputed values that makes the "
            "difference at --tipping-time non-significant.",
        ),
    ] = False,
    tipping_time: Annotated[
        str | None, typer.Option("--tipping-time", help="Visit of the primary result (last).")
    ] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level (tipping).")] = 0.05,
    tipping_plot: Annotated[
        Path | None, typer.Option("--tipping-plot", help="Write the tipping-point plot (PNG).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Reference-based multiple imputation (JR, CR, CIR, LMCF; MAR) with an ANCOVA per visit."""
    import numpy as np

    from ketamine_ptsd.core.stats.mi import (
        METHODS,
        analyse,
        impute_replicates,
        make_problem,
        tipping_point,
    )

    if method not in METHODS:
        fail(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if method != "condmean-jackknife" and samples < 2:
        fail(f"--samples must be at least 2, got {samples}")
    if not 0.0 < alpha < 1.0:
        fail(f"--alpha must be between 0 and 1, got {alpha}")
    if tipping_plot is not None and not tipping:
        fail("--tipping-plot needs --tipping-point")
    covariates = tuple(covariate or ())
    frame = _read(data, "DATA", (subject,))
    subjects, times, groups, y, arm, cov = _build(
        frame,
        subject=subject,
        group=group,
        time=time,
        outcome=outcome,
        covariates=covariates,
        time_order=comma_list(time_order),
        group_order=comma_list(group_order),
    )
    if reference not in groups:
        fail(f"--reference {reference!r} is not an arm of {group} ({', '.join(groups)})")
    ice_idx, strategy = _read_ice(ice, subjects, times)
    delta_m = None if delta is None else _read_delta(delta, subjects, times)
    try:
        problem = make_problem(
            y,
            arm,
            cov,
            (groups[0], groups[1]),
            tuple(times),
            reference=reference,
            ice=ice_idx,
            strategy=strategy,
            delta=delta_m,
        )
        reps = impute_replicates(problem, method, n_samples=samples, seed=seed)
        result = analyse(problem, reps)
        tp = tipping_point(problem, reps, time=tipping_time, alpha=alpha) if tipping else None
    except InvalidInput as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"the imputation model could not be fitted: {exc}")
    if tp is not None and tipping_plot is not None:
        from ketamine_ptsd.adapters.reports.sensitivity import tipping_point_figure

        fig = tipping_point_figure(tp)
        try:
            fig.savefig(tipping_plot, format="png", dpi=120)
        except OSError as exc:
            fail(f"--tipping-plot {tipping_plot}: cannot write ({exc.strerror or exc})")
    if not as_json:
        _print_table(result, tp)
        return
    out: dict[str, Any] = result.to_dict()
    counts = {s: 0 for s in ("MAR", "JR", "CR", "CIR", "LMCF")}
    for i, s in enumerate(strategy):
        counts[s if ice_idx[i] < len(times) else "MAR"] += 1
    out["strategies"] = counts
    out["seed"] = seed if method != "condmean-jackknife" else None
    if delta_m is not None:
        out["n_delta_ignored"] = int(np.count_nonzero((delta_m != 0) & ~reps.imputed))
    if tp is not None:
        out["tipping_point"] = tipping_point_dict(tp)
    print_json(out)


def tipping_point_dict(tp: TippingPoint) -> dict[str, Any]:
    return {
        "time": tp.time,
        "active": tp.active,
        "alpha": tp.alpha,
        "delta": tp.delta,
        "searched_to": tp.searched_to,
        "curve": [
            {
                "delta": d,
                "estimate": r.estimate,
                "se": r.se,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "p": r.p,
            }
            for d, r in tp.curve
        ],
    }


def register(app: typer.Typer) -> None:
    app.command("mi")(mi_command)
