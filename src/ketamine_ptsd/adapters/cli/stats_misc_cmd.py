"""``ketamine-ptsd stats km | responders | sequential | power`` (SYSTEM.md, statistics contract).

Each command prints readable text, or one JSON object with ``--json``. Numbers and lists come in
as text and are parsed here so that any bad input ends in one line naming the option (exit 2),
never a usage panel or a traceback. Quantities that do not exist (a median never reached, an
infinite NNT) are JSON ``null``.

* ``km DATA.csv --time COL --event COL [--group COL]`` — Kaplan-Meier per group (PROTOCOL.md §8),
  log-rank when there are groups; without ``--group`` one group named ``all``.
* ``responders --counts A_RESP,A_NONRESP,B_RESP,B_NONRESP`` — chi-square (Pearson, Yates),
  Fisher, risk difference and NNT (PROTOCOL.md §9–§10); the RD/NNT interval is Newcombe's hybrid
  score interval unless ``--ci wald|wald-cc``.
* ``sequential --alpha A --sides 1|2 --information t1,...,1 (--spending KIND | --boundary KIND)``
  — Lan-DeMets spending or classical boundaries; ``--two-sided-spending per-side|total``.
* ``power --test two-sample|paired --d D [--alpha 0.05] [--sides 2] (--n N | --power P)`` —
  power at a size (``--n``: per arm, or pairs) or the size for a power (PROTOCOL.md §9).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ketamine_ptsd.adapters.cli.output import fail, print_json
from ketamine_ptsd.core.errors import InvalidInput

if TYPE_CHECKING:
    from ketamine_ptsd.core.stats.survival import KaplanMeier

# The statistics are imported inside each command: scipy.stats alone is most of a
# command-line start-up, and the bedside calculators never need it.

__all__ = ["register"]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _float(option: str, text: str | None, default: float | None = None) -> float:
    if text is None:
        if default is None:
            fail(f"{option} is required")
        return default
    try:
        value = float(text)
    except ValueError:
        fail(f"{option} must be a number, got {text!r}")
    if not math.isfinite(value):
        fail(f"{option} must be a finite number, got {text!r}")
    return value


def _int(option: str, text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        fail(f"{option} must be a whole number, got {text!r}")


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


# --- responders -------------------------------------------------------------------------


def responders_command(
    counts: Annotated[
        str | None,
        typer.Option(help="A_RESP,A_NONRESP,B_RESP,B_NONRESP (arm A first, e.g. 10,5,3,12)."),
    ] = None,
    ci: Annotated[
        str, typer.Option(help="Risk-difference CI: newcombe (default), wald or wald-cc.")
    ] = "newcombe",
    confidence: Annotated[str | None, typer.Option(help="Confidence level (0.95).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Responders of two arms: chi-square, Fisher, risk difference and NNT with CIs."""
    if counts is None:
        fail("--counts is required: A_RESP,A_NONRESP,B_RESP,B_NONRESP")
    parts = [p.strip() for p in counts.split(",")]
    if len(parts) != 4:
        fail(f"--counts takes 4 comma-separated whole numbers, got {len(parts)}: {counts!r}")
    values: list[int] = []
    for name, part in zip(("A_RESP", "A_NONRESP", "B_RESP", "B_NONRESP"), parts, strict=True):
        if not part.isdigit():
            fail(f"--counts: {name} must be a whole number ≥ 0, got {part!r}")
        values.append(int(part))
    method = ci.replace("-", "_")
    if method not in ("newcombe", "wald", "wald_cc"):
        fail(f"--ci must be newcombe, wald or wald-cc, got {ci!r}")
    level = _float("--confidence", confidence, 0.95)
    try:
        from ketamine_ptsd.core.stats.responders import analyse_responders

        res = analyse_responders(*values, confidence=level, ci_method=method)
    except InvalidInput as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc.message}")
    if json_out:
        payload: dict[str, Any] = {
            "chi2_pearson": res.chi2_pearson,
            "p_pearson": res.p_pearson,
            "chi2_yates": res.chi2_yates,
            "p_yates": res.p_yates,
            "p_fisher": res.p_fisher,
            "risk_difference": res.risk_difference,
            "risk_difference_ci_low": res.risk_difference_ci_low,
            "risk_difference_ci_high": res.risk_difference_ci_high,
            "nnt": res.nnt,
            "nnt_ci_low": res.nnt_ci_low,
            "nnt_ci_high": res.nnt_ci_high,
            "nnt_ci_includes_infinity": res.nnt_ci_includes_infinity,
            "nnt_ci_text": res.nnt_ci_text,
            "ci_method": res.ci_method,
            "confidence": res.confidence,
            "proportion_a": res.proportion_a,
            "proportion_b": res.proportion_b,
            "sample_odds_ratio": res.sample_odds_ratio,
            "intervals": [
                {"method": i.method, "low": i.low, "high": i.high} for i in res.intervals
            ],
        }
        print_json(payload)
        return
    a_n = res.a_responders + res.a_nonresponders
    b_n = res.b_responders + res.b_nonresponders
    pct = round(100 * level)
    lines = [
        f"Arm A {res.a_responders}/{a_n} ({res.proportion_a:.1%}) vs "
        f"arm B {res.b_responders}/{b_n} ({res.proportion_b:.1%})",
        f"Pearson chi-square {res.chi2_pearson:.4f}, p = {_fmt(res.p_pearson)}",
        f"Yates chi-square {res.chi2_yates:.4f}, p = {_fmt(res.p_yates)}",
        f"Fisher's exact p = {_fmt(res.p_fisher)}",
        f"Risk difference {res.risk_difference:.4f} ({pct}% CI {res.risk_difference_ci_low:.4f} "
        f"to {res.risk_difference_ci_high:.4f}, {res.ci_method})",
        f"NNT {_fmt(res.nnt, 3)} ({pct}% CI: {res.nnt_ci_text})",
    ]
    typer.echo("\n".join(lines))


# --- Kaplan-Meier -----------------------------------------------------------------------


def _km_json(km: KaplanMeier) -> dict[str, Any]:
    return {
        "group": km.group,
        "n": km.n,
        "events": km.events,
        "median": km.median,
        "median_ci_low": km.median_ci_low,
        "median_ci_high": km.median_ci_high,
        "q25": km.q25,
        "q25_ci_low": km.q25_ci_low,
        "q25_ci_high": km.q25_ci_high,
        "q75": km.q75,
        "q75_ci_low": km.q75_ci_low,
        "q75_ci_high": km.q75_ci_high,
        "curve": [
            {
                "time": p.time,
                "survival": p.survival,
                "at_risk": p.at_risk,
                "events": p.events,
                "censored": p.censored,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
            }
            for p in km.curve
        ],
    }


def _read_km_csv(
    path: Path, time_col: str, event_col: str, group_col: str | None
) -> tuple[list[float], list[int], list[str] | None]:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        fail(f"{path}: cannot read it as CSV ({str(exc).splitlines()[0]})")
    for option, col in (("--time", time_col), ("--event", event_col), ("--group", group_col)):
        if col is not None and col not in frame.columns:
            fail(
                f"{option}: column {col!r} not in {path.name} (columns: {', '.join(map(str, frame.columns))})"
            )
    times = pd.to_numeric(frame[time_col], errors="coerce")
    bad = frame.index[times.isna()]
    if len(bad):
        fail(
            f"--time: column {time_col!r} row {int(bad[0]) + 2} is not a number: {frame[time_col].iloc[bad[0]]!r}"
        )
    raw_event = frame[event_col]
    events = pd.to_numeric(raw_event, errors="coerce")
    bad = frame.index[~events.isin([0, 1])]
    if len(bad):
        fail(
            f"--event: column {event_col!r} row {int(bad[0]) + 2} must be 1 (event) or 0 "
            f"(censored), got {raw_event.iloc[bad[0]]!r}"
        )
    groups: list[str] | None = None
    if group_col is not None:
        g = frame[group_col]
        if g.isna().any():
            fail(f"--group: column {group_col!r} row {int(frame.index[g.isna()][0]) + 2} is empty")
        groups = [str(v) for v in g]
    return [float(v) for v in times], [int(v) for v in events], groups


def km_command(
    data: Annotated[Path, typer.Argument(help="Long-format CSV, one row per patient.")],
    time: Annotated[str | None, typer.Option("--time", help="Column of times.")] = None,
    event: Annotated[
        str | None, typer.Option("--event", help="Column: 1 event, 0 censored.")
    ] = None,
    group: Annotated[str | None, typer.Option("--group", help="Column of groups.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Kaplan-Meier curves with median, quartiles and CIs; log-rank test across groups."""
    if time is None:
        fail("--time is required: the column of times")
    if event is None:
        fail("--event is required: the column with 1 = event, 0 = censored")
    times, events, groups = _read_km_csv(data, time, event, group)
    from ketamine_ptsd.core.stats.survival import kaplan_meier, logrank_test

    try:
        if groups is None:
            fits = [kaplan_meier(times, events, group="all")]
            logrank = None
        else:
            labels = sorted(set(groups))
            fits = [
                kaplan_meier(
                    [t for t, g in zip(times, groups, strict=True) if g == label],
                    [e for e, g in zip(events, groups, strict=True) if g == label],
                    group=label,
                )
                for label in labels
            ]
            logrank = logrank_test(times, events, groups) if len(labels) > 1 else None
    except InvalidInput as exc:
        fail(f"{exc.field}: {exc.message}")
    if json_out:
        payload: dict[str, Any] = {"groups": [_km_json(f) for f in fits]}
        if logrank is not None:
            payload["logrank"] = {"chi2": logrank.chi2, "df": logrank.df, "p": logrank.p}
        print_json(payload)
        return
    lines: list[str] = []
    for f in fits:
        lines.append(
            f"{f.group}: n = {f.n}, events = {f.events}, median {_fmt(f.median)} "
            f"(95% CI {_fmt(f.median_ci_low)} to {_fmt(f.median_ci_high)}), "
            f"quartiles {_fmt(f.q25)} and {_fmt(f.q75)}"
        )
        lines.append("  time  at_risk  events  censored  survival")
        lines.extend(
            f"  {p.time:>4g}  {p.at_risk:>7d}  {p.events:>6d}  {p.censored:>8d}  {p.survival:8.4f}"
            for p in f.curve
        )
    if logrank is not None:
        lines.append(
            f"Log-rank chi-square {logrank.chi2:.4f} on {logrank.df} df, p = {_fmt(logrank.p)}"
        )
    typer.echo("\n".join(lines))


# --- group-sequential -------------------------------------------------------------------


def sequential_command(
    alpha: Annotated[str | None, typer.Option(help="Total type I error, e.g. 0.05.")] = None,
    sides: Annotated[str | None, typer.Option(help="1 or 2.")] = None,
    information: Annotated[
        str | None, typer.Option(help="Information fractions t1,t2,...,1 (e.g. 0.75,1).")
    ] = None,
    spending: Annotated[
        str | None, typer.Option(help="Lan-DeMets spending: pocock or obrien-fleming.")
    ] = None,
    boundary: Annotated[
        str | None, typer.Option(help="Classical boundary: pocock or obrien-fleming.")
    ] = None,
    two_sided_spending: Annotated[
        str,
        typer.Option(
            help="Two-sided spending: per-side (rpact, default) or total (Lan-DeMets 1983)."
        ),
    ] = "per-side",
    json_out: JsonFlag = False,
) -> None:
    """Group-sequential boundaries and nominal levels at each look."""
    a = _float("--alpha", alpha)
    if sides is None:
        fail("--sides is required: 1 or 2")
    s = _int("--sides", sides, 2)
    if information is None:
        fail("--information is required: fractions t1,t2,...,1")
    fractions = [_float("--information", part.strip()) for part in information.split(",")]
    if (spending is None) == (boundary is None):
        fail("give exactly one of --spending or --boundary")
    from ketamine_ptsd.core.stats.sequential import classical_boundary_design, spending_design

    try:
        if spending is not None:
            design = spending_design(
                a, s, fractions, spending, two_sided_spending=two_sided_spending
            )
        else:
            assert boundary is not None
            design = classical_boundary_design(a, s, fractions, boundary)
    except InvalidInput as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc.message}")
    looks = [
        {
            "information": lk.information,
            "cumulative_alpha": lk.cumulative_alpha,
            "nominal_alpha": lk.nominal_alpha,
            "z": lk.z,
        }
        for lk in design.looks
    ]
    if json_out:
        print_json(
            {
                "alpha": design.alpha,
                "sides": design.sides,
                "method": design.method,
                "kind": design.kind,
                "two_sided_spending": two_sided_spending if design.method == "spending" else None,
                "looks": looks,
            }
        )
        return
    title = "Lan-DeMets spending" if design.method == "spending" else "classical boundary"
    lines = [f"{design.kind} {title}, alpha {a:g}, {s}-sided"]
    lines.append("  look  information  cumulative_alpha  nominal_alpha       z")
    lines.extend(
        f"  {k:>4d}  {lk['information']:>11.4f}  {lk['cumulative_alpha']:>16.6f}  "
        f"{lk['nominal_alpha']:>13.6f}  {lk['z']:>6.4f}"
        for k, lk in enumerate(looks, start=1)
    )
    typer.echo("\n".join(lines))


# --- power ------------------------------------------------------------------------------


def power_command(
    test: Annotated[
        str | None, typer.Option(help="two-sample (n per arm) or paired (n pairs).")
    ] = None,
    d: Annotated[str | None, typer.Option("--d", help="Standardized effect (Cohen's d).")] = None,
    alpha: Annotated[str | None, typer.Option(help="Type I error (0.05).")] = None,
    sides: Annotated[str | None, typer.Option(help="1 or 2 (2).")] = None,
    n: Annotated[str | None, typer.Option("--n", help="Size: per arm, or pairs.")] = None,
    power: Annotated[str | None, typer.Option(help="Target power: solve for the size.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Power of a t test at a size, or the size for a power (exact noncentral t and normal)."""
    if test is None:
        fail("--test is required: two-sample or paired")
    effect = _float("--d", d)
    a = _float("--alpha", alpha, 0.05)
    s = _int("--sides", sides, 2)
    if (n is None) == (power is None):
        fail("give exactly one of --n (to compute power) or --power (to compute the size)")
    from ketamine_ptsd.core.stats.power import t_test_power, t_test_sample_size

    try:
        if n is not None:
            res: Any = t_test_power(test, effect, _float("--n", n), a, s)
        else:
            res = t_test_sample_size(test, effect, _float("--power", power), a, s)
    except InvalidInput as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc.message}")
    unit = "per arm" if test == "two-sample" else "pairs"
    if n is not None:
        payload = {
            "mode": "power",
            "test": res.test,
            "d": res.d,
            "alpha": res.alpha,
            "sides": res.sides,
            "n": res.n,
            "n_total": res.n_total,
            "df": res.df,
            "noncentrality": res.noncentrality,
            "critical_value": res.critical_value,
            "power": res.power,
            "power_normal": res.power_normal,
        }
        text = (
            f"{test} t test, d = {effect:g}, n = {res.n:g} {unit}, {s}-sided alpha {a:g}: "
            f"power {res.power:.4f} (noncentral t, df {res.df:g}, ncp {res.noncentrality:.4f}); "
            f"normal approximation {res.power_normal:.4f}"
        )
    else:
        payload = {
            "mode": "sample-size",
            "test": res.test,
            "d": res.d,
            "alpha": res.alpha,
            "sides": res.sides,
            "target_power": res.target_power,
            "n_exact": res.n_exact,
            "n": res.n,
            "n_total": res.n_total,
            "power": res.power,
            "n_normal_exact": res.n_normal_exact,
            "n_normal": res.n_normal,
        }
        text = (
            f"{test} t test, d = {effect:g}, {s}-sided alpha {a:g}, power {res.target_power:g}: "
            f"n = {res.n} {unit} (exact {res.n_exact:.3f}; total {res.n_total}), "
            f"power achieved {res.power:.4f}; normal approximation n = {res.n_normal}"
        )
    if json_out:
        print_json(payload)
    else:
        typer.echo(text)


def register(stats_app: typer.Typer) -> None:
    """Add km, responders, sequential and power to the ``stats`` group."""
    stats_app.command("km")(km_command)
    stats_app.command("responders")(responders_command)
    stats_app.command("sequential")(sequential_command)
    stats_app.command("power")(power_command)
