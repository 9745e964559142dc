"""``ketamine-ptsd stats ordinal DATA.csv ...`` — the CGI-S / CGI-I model of PROTOCOL.md §9.

A cumulative-logit mixed model (random subject intercept) fitted by adaptive Gauss-Hermite
quadrature (``--nagq``, default 10; 1 = Laplace), in R ``ordinal::clmm``'s parametrisation, or
with ``--method rspl`` by SAS GLIMMIX's default restricted pseudo-likelihood (Wald F tests on
GLIMMIX's containment df, as the paper's CGI-I F(1,24) was made; ``loglik`` is then null and
``pseudo_likelihood`` holds the iteration history).
Flags and the keys ``thresholds``, ``fixed_effects``, ``loglik`` and ``type3`` are the public
contract of SYSTEM.md; each ``type3`` row says its test (``"wald"`` or ``"lr"``). Rows with a
missing outcome or covariate are dropped and counted; every problem ends in one line on stderr
and exit 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ketamine_ptsd.adapters.cli.output import comma_list, fail, print_json
from ketamine_ptsd.core.errors import InvalidInput

if TYPE_CHECKING:  # imported inside the command: scipy is most of a CLI start-up
    from ketamine_ptsd.core.stats.ordinal import OrdinalFit

__all__ = ["ordinal_command", "register"]


def _fmt(value: float | None, spec: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return format(value, spec)


def _print_text(fit: OrdinalFit, dropped: dict[str, int]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]Cumulative logit mixed model[/bold] ({fit.method}): {fit.n_subjects} subjects, "
        f"{fit.n_observations} observations, categories {list(fit.categories)}"
        + "".join(f", {n} rows dropped ({why})" for why, n in dropped.items() if n)
    )
    pl = fit.pseudo_likelihood
    fit_line = (
        f"-2 res log pseudo-likelihood {pl.minus2_res_log_pl:.4f}   {pl.iterations} "
        f"linearisations ({'converged' if pl.converged else 'not converged'})"
        if pl is not None
        else f"log-likelihood {fit.loglik:.4f}   AIC {fit.aic:.2f}   BIC {fit.bic:.2f}"
    )
    console.print(
        f"{fit_line}   subject SD {fit.random_effect_sd:.4f} "
        f"(variance {fit.random_effect_variance:.4f})"
    )
    th = Table(title="Thresholds")
    for col in ("threshold", "estimate", "SE"):
        th.add_column(col)
    for t in fit.thresholds:
        th.add_row(t.name, _fmt(t.estimate, ".4f"), _fmt(t.se, ".4f"))
    console.print(th)
    fe = Table(title="Fixed effects (positive = towards higher categories)")
    for col in ("term", "estimate", "SE", "t" if fit.estimation == "rspl" else "z", "p"):
        fe.add_column(col)
    for e in fit.fixed_effects:
        fe.add_row(
            e.term, _fmt(e.estimate, ".4f"), _fmt(e.se, ".4f"), _fmt(e.z, ".3f"), _fmt(e.p, ".4g")
        )
    console.print(fe)
    df_rule = "containment" if fit.estimation == "rspl" else "between-within"
    t3 = Table(title=f"Type 3 tests (wald: F on {df_rule} df; lr: chi-square)")
    for col in ("effect", "test", "num df", "den df", "F", "chi2", "p"):
        t3.add_column(col)
    for r in fit.type3:
        t3.add_row(
            r.effect, r.test, str(r.num_df), _fmt(r.den_df, ".0f"), _fmt(r.F, ".3f"),
            _fmt(r.chi2, ".3f"), _fmt(r.p, ".4g"),
        )  # fmt: skip
    console.print(t3)
    for w in fit.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")


def _load(
    data: Path, roles: dict[str, str], covariates: list[str]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, int]]:
    import pandas as pd

    if not data.is_file():
        fail(f"no such file: {data}")
    try:
        frame = pd.read_csv(data, dtype={roles[r]: str for r in ("subject", "group", "time")})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        fail(f"cannot read {data} as CSV: {str(exc).splitlines()[0]}")
    for column in [*roles.values(), *covariates]:
        if column not in frame.columns:
            fail(
                f"column {column!r} not found in {data} (columns: {', '.join(map(str, frame.columns))})"
            )
    for role in ("subject", "group", "time"):
        if frame[roles[role]].isna().any():
            fail(f"column {roles[role]!r} ({role}) has missing values")
    outcome_col = roles["outcome"]
    raw = frame[outcome_col]
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = numeric.isna() & raw.notna()
    if bad.any():
        fail(
            f"column {outcome_col!r} (outcome) must be integer ordinal categories, got {raw[bad].iloc[0]!r}"
        )
    dropped = {"missing outcome": int(numeric.isna().sum())}
    keep = numeric.notna()
    non_integer = keep & (numeric != numeric.round())
    if non_integer.any():
        fail(
            f"column {outcome_col!r} (outcome) must be integer ordinal categories, "
            f"got {numeric[non_integer].iloc[0]!r}"
        )
    cov_missing = pd.Series(False, index=frame.index)
    for c in covariates:
        cov_missing |= frame[c].isna()
    dropped["missing covariate"] = int((keep & cov_missing).sum())
    keep &= ~cov_missing
    kept = frame[keep]
    columns = {
        "subject": kept[roles["subject"]].tolist(),
        "group": kept[roles["group"]].tolist(),
        "time": kept[roles["time"]].tolist(),
        "outcome": [int(v) for v in numeric[keep]],
    }
    cov_values: dict[str, list[Any]] = {}
    for c in covariates:
        series = kept[c]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            cov_values[c] = [float(v) for v in series]
        else:
            cov_values[c] = [str(v) for v in series]
    return columns, cov_values, dropped


def ordinal_command(
    data: Annotated[Path, typer.Argument(help="Long-format CSV, one row per subject and time.")],
    subject: Annotated[str, typer.Option("--subject", help="Subject id column.")],
    group: Annotated[str, typer.Option("--group", help="Arm column.")],
    time: Annotated[str, typer.Option("--time", help="Visit column.")],
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome", help="Ordinal outcome column (integer categories, e.g. CGI-S 1-7)."
        ),
    ],
    covariate: Annotated[
        list[str] | None, typer.Option("--covariate", help="Covariate column (repeatable).")
    ] = None,
    time_order: Annotated[
        str | None, typer.Option("--time-order", help="Time levels in order: a,b,c.")
    ] = None,
    group_order: Annotated[
        str | None, typer.Option("--group-order", help="Group levels: A,B (first = reference).")
    ] = None,
    nagq: Annotated[
        int, typer.Option("--nagq", help="Adaptive Gauss-Hermite nodes (1 = Laplace).")
    ] = 10,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="quadrature (maximum likelihood, default) or rspl (SAS GLIMMIX's default "
            "pseudo-likelihood).",
        ),
    ] = "quadrature",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit the cumulative-logit mixed model; print thresholds, effects and Type 3 tests."""
    if method not in ("quadrature", "rspl"):
        fail(f"--method must be quadrature or rspl, got {method!r}")
    roles = {"subject": subject, "group": group, "time": time, "outcome": outcome}
    covariates = list(covariate or ())
    for c in covariates:
        if c in roles.values():
            fail(
                f"--covariate {c!r} is already the {next(r for r, v in roles.items() if v == c)} column"
            )
    columns, cov_values, dropped = _load(data, roles, covariates)
    try:
        from ketamine_ptsd.core.stats.ordinal import fit_ordinal

        fit = fit_ordinal(
            columns["subject"],
            columns["group"],
            columns["time"],
            columns["outcome"],
            covariates=cov_values,
            group_order=comma_list(group_order),
            time_order=comma_list(time_order),
            nagq=nagq,
            method=method,
        )
    except InvalidInput as exc:
        column = roles.get(exc.field, exc.field)
        where = f"column {column!r} ({exc.field})" if exc.field in roles else exc.field
        fail(f"{where}: {exc.message}")
    if as_json:
        result = fit.to_dict()
        result["n_missing_outcome_dropped"] = dropped["missing outcome"]
        result["n_missing_covariate_dropped"] = dropped["missing covariate"]
        print_json(result)
    else:
        _print_text(fit, dropped)


def register(app: typer.Typer) -> None:
    app.command("ordinal")(ordinal_command)
