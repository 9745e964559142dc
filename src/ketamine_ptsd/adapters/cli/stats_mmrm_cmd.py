"""``ketamine-ptsd stats mmrm DATA.csv ...`` — the MMRM of PROTOCOL.md §9 on any long CSV.

Flags and JSON keys are the public contract of SYSTEM.md ("Command-line contract for the
statistics engine"). Rows with a missing outcome are dropped and counted
(``n_missing_outcome_dropped``); every problem ends in one line on stderr and exit 2.
Besides the contract keys the JSON carries ``loglik``, ``method``, ``ddf_method``,
``converged``, ``iterations``, ``warnings`` (non-convergence, boundary estimates) and
``type3_basis`` (``--type3-basis``: the rows of each Type 3 L, which decide the multi-df
Satterthwaite df; docs/satterthwaite-f-df.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ketamine_ptsd.adapters.cli.output import comma_list, fail, print_json
from ketamine_ptsd.core.errors import InvalidInput

if TYPE_CHECKING:  # imported inside the command: scipy is most of a CLI start-up
    from ketamine_ptsd.core.stats.mmrm import MMRMResult

__all__ = ["register"]


def _print_table(result: MMRMResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]MMRM[/bold] {result.method}, covariance {result.covariance_structure}, "
        f"ddf {result.ddf_method}: {result.n_subjects} subjects, "
        f"{result.n_observations} observations "
        f"({result.n_missing_outcome_dropped} rows with missing outcome dropped)"
    )
    console.print(
        f"REML log-likelihood {result.loglik:.4f}   AIC {result.aic:.2f}   BIC {result.bic:.2f}"
    )
    cov = Table(title="Covariance parameters")
    cov.add_column("parameter")
    cov.add_column("estimate", justify="right")
    for name, value in result.covariance_parameters.items():
        cov.add_row(name, f"{value:.4f}")
    console.print(cov)
    t3 = Table(title="Type 3 tests of fixed effects")
    for col in ("effect", "num df", "den df", "F", "p"):
        t3.add_column(col, justify="right" if col != "effect" else "left")
    for r in result.type3:
        t3.add_row(r.effect, str(r.num_df), f"{r.den_df:.2f}", f"{r.F:.3f}", f"{r.p:.4g}")
    console.print(t3)
    ls = Table(title="LS means")
    for col in ("group", "time", "estimate", "SE", "df"):
        ls.add_column(col)
    for m in result.lsmeans:
        ls.add_row(m.group, m.time, f"{m.estimate:.3f}", f"{m.se:.3f}", f"{m.df:.2f}")
    console.print(ls)
    diff = Table(title="Differences (first group minus second)")
    for col in ("time", "estimate", "SE", "df", "t", "p", "d (95% CI)"):
        diff.add_column(col)
    for d in result.differences:
        diff.add_row(
            d.time,
            f"{d.estimate:.3f}",
            f"{d.se:.3f}",
            f"{d.df:.2f}",
            f"{d.t:.3f}",
            f"{d.p:.4g}",
            f"{d.d:.2f} ({d.d_ci_low:.2f} to {d.d_ci_high:.2f})",
        )
    console.print(diff)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")


def mmrm_command(
    data: Annotated[Path, typer.Argument(help="Long-format CSV, one row per subject and time.")],
    subject: Annotated[str, typer.Option("--subject", help="Subject id column.")],
    group: Annotated[str, typer.Option("--group", help="Arm column.")],
    time: Annotated[str, typer.Option("--time", help="Visit column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column (numeric).")],
    covariate: Annotated[
        list[str] | None, typer.Option("--covariate", help="Covariate column (repeatable).")
    ] = None,
    time_order: Annotated[
        str | None, typer.Option("--time-order", help="Time levels in order: a,b,c.")
    ] = None,
    group_order: Annotated[
        str | None, typer.Option("--group-order", help="Group levels: A,B (difference A - B).")
    ] = None,
    covariance: Annotated[
        str, typer.Option("--covariance", help="cs | un | ar1 | csh | toep.")
    ] = "cs",
    ddf: Annotated[
        str,
        typer.Option("--ddf", help="between-within | residual | satterthwaite | kenward-roger."),
    ] = "between-within",
    type3_basis: Annotated[
        str,
        typer.Option(
            "--type3-basis",
            help="Rows of each Type 3 L: orthonormal (default; multi-df Satterthwaite df "
            "invariant to level order) | reference (SAS's rows, each level minus the first: "
            "SAS's df when the first level is SAS's REF=). docs/satterthwaite-f-df.md.",
        ),
    ] = "orthonormal",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit the MMRM (REML) and print Type 3 tests, LS means and arm differences."""
    import pandas as pd

    from ketamine_ptsd.core.stats.mmrm import DDF_METHODS, STRUCTURES, TYPE3_BASES, fit_mmrm

    if covariance not in STRUCTURES:
        fail(f"--covariance must be one of {', '.join(STRUCTURES)}, got {covariance!r}")
    if ddf not in DDF_METHODS:
        fail(f"--ddf must be one of {', '.join(DDF_METHODS)}, got {ddf!r}")
    if type3_basis not in TYPE3_BASES:
        fail(f"--type3-basis must be one of {', '.join(TYPE3_BASES)}, got {type3_basis!r}")
    if not data.is_file():
        fail(f"no such file: {data}")
    try:
        frame = pd.read_csv(data)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        fail(f"cannot read {data} as CSV: {str(exc).splitlines()[0]}")
    try:
        result = fit_mmrm(
            frame,
            subject=subject,
            group=group,
            time=time,
            outcome=outcome,
            covariates=tuple(covariate or ()),
            time_order=comma_list(time_order),
            group_order=comma_list(group_order),
            covariance=covariance,
            ddf=ddf,
            type3_basis=type3_basis,
        )
    except InvalidInput as exc:
        fail(str(exc))
    if as_json:
        print_json(result.to_dict())
    else:
        _print_table(result)


def register(app: typer.Typer) -> None:
    app.command("mmrm")(mmrm_command)
