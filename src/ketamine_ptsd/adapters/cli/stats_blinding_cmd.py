"""``ketamine-ptsd stats blinding --counts "A:c,c,dk;B:c,c,dk" [--json]`` — blinding indices.

Each arm lists how many of its respondents guessed each arm (in the order the arms are
listed), then how many did not know. Output: Bang's index per arm and James' index, each with
SE and two-sided 95 % Wald CI (core/stats/blinding.py). JSON:
``{"bang": [{group, n, index, se, ci_low, ci_high}, ...], "james": {index, se, ci_low,
ci_high}, "level": 0.95}``; an undefined James index is ``null``. Bad counts end in one line
naming ``--counts`` (and the arm), exit 2.
"""

from __future__ import annotations

import math
from typing import Annotated

import typer

from ketamine_ptsd.adapters.cli.output import fail, print_json
from ketamine_ptsd.core.errors import InvalidInput

__all__ = ["parse_counts", "register"]

FORMAT = 'e.g. "ketamine:8,3,4;midazolam:5,6,4"'


def parse_counts(text: str) -> tuple[list[str], list[list[int]]]:
    """``"A:1,2,3;B:4,5,6"`` → (["A", "B"], [[1, 2, 3], [4, 5, 6]]); ``ValueError`` with a
    message naming the arm and keeping the text at fault."""
    groups: list[str] = []
    counts: list[list[int]] = []
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if not parts:
        raise ValueError(f"no arms given ({FORMAT})")
    for part in parts:
        name, sep, numbers = part.partition(":")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"{part!r} is not ARM:COUNTS ({FORMAT})")
        row: list[int] = []
        for item in numbers.split(","):
            item = item.strip()
            try:
                row.append(int(item))
            except ValueError:
                raise ValueError(
                    f"arm {name!r}: count {item!r} is not a whole number ({FORMAT})"
                ) from None
        groups.append(name)
        counts.append(row)
    return groups, counts


def _fmt(value: float, digits: int = 3) -> str:
    return "undefined" if not math.isfinite(value) else f"{value:.{digits}f}"


def blinding_command(
    counts: Annotated[
        str,
        typer.Option(
            "--counts",
            help="Per arm, its respondents' guesses of each arm (arms in the order listed), "
            'then "don\'t know": "ketamine:8,3,4;midazolam:5,6,4" (two arms).',
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Bang's blinding index per arm and James' index, with SE and 95 % CI."""
    from ketamine_ptsd.core.stats.blinding import blinding_indices

    try:
        groups, table = parse_counts(counts)
    except ValueError as exc:
        fail(f"--counts: {exc}")
    try:
        res = blinding_indices(groups, table)
    except InvalidInput as exc:
        where = exc.field.removeprefix("counts").strip("[]")
        fail(f"--counts{f' (arm {where!r})' if where else ''}: {exc.message}")
    if as_json:
        print_json(
            {
                "bang": [
                    {
                        "group": b.group,
                        "n": b.n,
                        "index": b.index,
                        "se": b.se,
                        "ci_low": b.ci_low,
                        "ci_high": b.ci_high,
                    }
                    for b in res.bang
                ],
                "james": {
                    "index": res.james.index,
                    "se": res.james.se,
                    "ci_low": res.james.ci_low,
                    "ci_high": res.james.ci_high,
                },
                "level": res.level,
            }
        )
        return
    pct = f"{100 * res.level:g}%"
    lines = [f"Bang's blinding index per arm (−1 all wrong, 0 random, 1 all correct), {pct} CI"]
    lines.append("  arm            n   index     SE   CI")
    for b in res.bang:
        lines.append(
            f"  {b.group:<12} {b.n:>3}  {_fmt(b.index):>6} {_fmt(b.se):>6}   "
            f"{_fmt(b.ci_low)} to {_fmt(b.ci_high)}"
        )
    j = res.james
    head = "James' blinding index (0 all correct, 0.5 random, 1 all don't know):"
    if math.isfinite(j.index):
        lines.append(
            f"{head} {_fmt(j.index)}, SE {_fmt(j.se)}, {pct} CI {_fmt(j.ci_low)} to "
            f"{_fmt(j.ci_high)}"
        )
    else:
        lines.append(f"{head} undefined (no disagreement expected by chance for these counts)")
    typer.echo("\n".join(lines))


def register(app: typer.Typer) -> None:
    app.command("blinding")(blinding_command)
