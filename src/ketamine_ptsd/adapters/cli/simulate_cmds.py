"""The ``simulate`` command group: Monte Carlo design of the next trial (SYSTEM.md capability 8).

``simulate power`` (the public contract: ``trials``, ``power``, ``power_ci_low``,
``power_ci_high``, ``elapsed_s`` and more), ``simulate sample-size`` and ``simulate sequential``.
``--design rct`` is the RCT of PROTOCOL.md §9–§10 (``simulation.design.rct_design``); the other
flags override its parts. Progress bars go to stderr so that ``--json`` output stays clean.
``elapsed_s`` times the simulation and analysis alone (not Python start-up or imports).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import numpy as np
import typer

from ketamine_ptsd.adapters.cli.output import fail, print_json
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.simulation.design import TrialDesign, rct_design

__all__ = ["register"]

DesignOpt = Annotated[str, typer.Option("--design", help="Built-in design: rct (PROTOCOL.md §10).")]
TrialsOpt = Annotated[int, typer.Option("--trials", help="Number of simulated trials.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the random generator.")]
NPerArmOpt = Annotated[int | None, typer.Option("--n-per-arm", help="Patients per arm.")]
Effect1Opt = Annotated[
    float | None, typer.Option("--effect-week1", help="True arm difference at week 1.")
]
Effect2Opt = Annotated[
    float | None,
    typer.Option("--effect-week2", help="True arm difference at week 2 (midazolam − ketamine)."),
]
DropoutOpt = Annotated[
    str | None,
    typer.Option(
        "--dropout",
        help="Total dropout by the last visit (e.g. 0.1), or per-visit hazards (0,0.05,0.05).",
    ),
]
CovOpt = Annotated[str, typer.Option("--covariance", help="Fitted covariance: cs or un.")]
AlphaOpt = Annotated[float | None, typer.Option("--alpha", help="Two-sided alpha.")]
AnalysisOpt = Annotated[
    str, typer.Option("--analysis", help="mmrm, responders or both (co-primary).")
]
WorkersOpt = Annotated[int, typer.Option("--workers", help="Threads for the analysis.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar.")]


def _design(
    name: str,
    n_per_arm: int | None,
    effect_week1: float | None,
    effect_week2: float | None,
    dropout: str | None,
    covariance: str,
    alpha: float | None,
    analysis: str,
    default_n_per_arm: int | None = None,
) -> TrialDesign:

    if name != "rct":
        fail(f"--design: unknown design {name!r} (available: rct)")
    design = rct_design()
    if n_per_arm is None:
        n_per_arm = default_n_per_arm
    changes: dict[str, object] = {"analysis": analysis, "fit_covariance": covariance}
    if n_per_arm is not None:
        changes["n_per_arm"] = n_per_arm
    if alpha is not None:
        changes["alpha"] = alpha
    design = design.replace(**changes)
    if effect_week1 is not None:
        design = design.with_difference("week1", effect_week1)
    if effect_week2 is not None:
        design = design.with_difference("week2", effect_week2)
    if dropout is not None:
        try:
            parts = [float(v) for v in dropout.split(",")]
        except ValueError:
            fail(f"--dropout: not a number or a comma-separated list: {dropout!r}")
        if len(parts) == 1:
            design = design.with_dropout(parts[0])
        else:
            design = design.replace(dropout_hazard=tuple(parts))
    return design


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def power(
    design: DesignOpt = "rct",
    trials: TrialsOpt = 1000,
    seed: SeedOpt = 0,
    n_per_arm: NPerArmOpt = None,
    effect_week1: Effect1Opt = None,
    effect_week2: Effect2Opt = None,
    dropout: DropoutOpt = None,
    covariance: CovOpt = "cs",
    alpha: AlphaOpt = None,
    analysis: AnalysisOpt = "mmrm",
    null: Annotated[bool, typer.Option("--null", help="Simulate under H0: type I error.")] = False,
    workers: WorkersOpt = 2,
    progress: ProgressOpt = True,
    json_out: JsonOpt = False,
) -> None:
    """Power (or type I error with --null) of a design by Monte Carlo, with its exact CI."""
    from ketamine_ptsd.simulation.power import simulate_power

    try:
        d = _design(
            design, n_per_arm, effect_week1, effect_week2, dropout, covariance, alpha, analysis
        )
        if trials < 1:
            raise InvalidInput("trials", "must be at least 1", trials)
        with _progress(progress, trials, "simulating trials") as tick:
            start = time.perf_counter()
            res = simulate_power(
                d, trials, np.random.default_rng(seed), null=null, progress=tick, workers=workers
            )
            elapsed = time.perf_counter() - start
    except InvalidInput as exc:
        fail(str(exc))
    out = res.to_dict()
    out["seed"] = seed
    out["elapsed_s"] = elapsed
    if json_out:
        print_json(out)
        return
    what = "type I error" if null else "power"
    typer.echo(
        f"{d.name}: {d.n_per_arm} per arm, {analysis} at {out['primary_time']}, alpha {d.alpha}, "
        f"{trials} trials (seed {seed})"
    )
    typer.echo(
        f"{what}: {res.power:.4f} (95% CI {res.power_ci_low:.4f} to {res.power_ci_high:.4f})"
    )
    if res.mean_estimate is not None:
        typer.echo(
            f"arm difference: true {res.true_difference:.2f}, mean estimate "
            f"{res.mean_estimate:.2f} (SD {res.sd_estimate:.2f}), mean SE {res.mean_se:.2f}"
        )
    typer.echo(f"elapsed: {elapsed:.3f} s")


def sample_size(
    design: DesignOpt = "rct",
    target_power: Annotated[float, typer.Option("--target-power", help="Power to reach.")] = 0.8,
    trials: TrialsOpt = 2000,
    seed: SeedOpt = 0,
    n_min: Annotated[int, typer.Option("--n-min", help="Smallest n per arm tried.")] = 4,
    n_max: Annotated[int, typer.Option("--n-max", help="Largest n per arm tried.")] = 200,
    effect_week1: Effect1Opt = None,
    effect_week2: Effect2Opt = None,
    dropout: DropoutOpt = None,
    covariance: CovOpt = "cs",
    alpha: AlphaOpt = None,
    analysis: AnalysisOpt = "mmrm",
    progress: ProgressOpt = True,
    json_out: JsonOpt = False,
) -> None:
    """Smallest n per arm reaching a target power (bisection, common random numbers)."""
    from ketamine_ptsd.simulation.power import sample_size_search

    try:
        d = _design(design, None, effect_week1, effect_week2, dropout, covariance, alpha, analysis)
        steps = int(np.ceil(np.log2(max(n_max - n_min, 2)))) + 2
        with _progress(progress, steps, "searching n per arm") as tick:
            start = time.perf_counter()
            res = sample_size_search(
                d,
                target_power,
                trials,
                np.random.default_rng(seed),
                n_min=n_min,
                n_max=n_max,
                progress=tick,
            )
            elapsed = time.perf_counter() - start
    except InvalidInput as exc:
        fail(str(exc))
    out = res.to_dict()
    out["seed"] = seed
    out["elapsed_s"] = elapsed
    if json_out:
        print_json(out)
        return
    typer.echo(
        f"n per arm {res.n_per_arm} (total {out['n_total']}): power {res.power:.4f} "
        f"(95% CI {res.power_ci_low:.4f} to {res.power_ci_high:.4f}), target {target_power}"
    )
    typer.echo(f"elapsed: {elapsed:.3f} s")


def sequential(
    design: DesignOpt = "rct",
    information: Annotated[
        str, typer.Option("--information", help="Information fractions of the looks.")
    ] = "0.75,1",
    spending: Annotated[
        str, typer.Option("--spending", help="Lan-DeMets spending: pocock or obrien-fleming.")
    ] = "pocock",
    sides: Annotated[int, typer.Option("--sides", help="1 or 2.")] = 2,
    trials: TrialsOpt = 2000,
    seed: SeedOpt = 0,
    n_per_arm: Annotated[
        int | None, typer.Option("--n-per-arm", help="Maximum patients per arm (rct: 20).")
    ] = None,
    effect_week1: Effect1Opt = None,
    effect_week2: Effect2Opt = None,
    dropout: DropoutOpt = None,
    covariance: CovOpt = "cs",
    alpha: AlphaOpt = None,
    null: Annotated[bool, typer.Option("--null", help="Simulate under H0.")] = False,
    progress: ProgressOpt = True,
    json_out: JsonOpt = False,
) -> None:
    """Group-sequential trial: stopping for efficacy at interim looks, expected sample size.

    The RCT planned 40 patients (20 per arm) with an interim at 30 (PROTOCOL.md §9), hence the
    defaults ``--n-per-arm 20 --information 0.75,1``.
    """
    from ketamine_ptsd.simulation.sequential import simulate_sequential

    try:
        try:
            info = [float(v) for v in information.split(",")]
        except ValueError:
            fail(f"--information: not a comma-separated list of numbers: {information!r}")
        d = _design(
            design, n_per_arm, effect_week1, effect_week2, dropout, covariance, alpha, "mmrm", 20
        )
        with _progress(progress, trials, "simulating trials") as tick:
            start = time.perf_counter()
            res = simulate_sequential(
                d,
                info,
                trials,
                np.random.default_rng(seed),
                spending=spending,
                sides=sides,
                null=null,
                progress=tick,
            )
            elapsed = time.perf_counter() - start
    except InvalidInput as exc:
        fail(str(exc))
    out = res.to_dict()
    out["seed"] = seed
    out["elapsed_s"] = elapsed
    if json_out:
        print_json(out)
        return
    what = "type I error" if null else "power"
    typer.echo(
        f"{what}: {res.power:.4f} (95% CI {res.power_ci_low:.4f} to {res.power_ci_high:.4f})"
    )
    for look in out["looks"]:  # type: ignore[attr-defined]
        typer.echo(
            f"look at {look['information']:.2f} ({look['n_per_arm']} per arm): nominal alpha "
            f"{look['nominal_alpha']:.5f}, stop probability {look['stop_probability']:.4f}"
        )
    typer.echo(f"expected total sample size: {res.expected_n_total:.1f}")
    typer.echo(f"elapsed: {elapsed:.3f} s")


def register(app: typer.Typer) -> None:
    simulate_app = typer.Typer(
        help="Monte Carlo trial design: power, sample size, group-sequential plans.",
        no_args_is_help=True,
    )
    simulate_app.command("power")(power)
    simulate_app.command("sample-size")(sample_size)
    simulate_app.command("sequential")(sequential)
    app.add_typer(simulate_app, name="simulate")
