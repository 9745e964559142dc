"""``ketamine-ptsd score INSTRUMENT``: score a rating form at the terminal (SYSTEM.md).

``--items a,b,c,...`` fills the instrument's items in form order; an empty entry leaves an item
unanswered (``yes,no,,,,no`` for the C-SSRS screener, whose items 3–5 are skipped when item 2 is
no). For CAPS-5, ``--items`` takes exactly the 20 symptom severities (items 1–20) and gives the
total and clusters; the other items (21–30: onset and duration in months, distress and
impairment, global ratings, depersonalization and derealization) come in ``--file`` as a JSON
object of item number → value and are needed only for the diagnosis (SYSTEM.md, PROTOCOL.md §7).
``--file`` may hold any instrument's items, and may be combined with ``--items`` as long as they
agree on every item given twice.

INSTRUMENT is a registered id or a friendly alias (``caps5`` is the past-month CAPS-5, the
diagnostic version; see ``core/instruments/_registry.py``). Parameters: ``--remission-max`` for
MADRS, ``--cutoff`` for PCL-5 (PROTOCOL.md §7 makes both protocol choices, not facts).

Text on the command line is parsed here, not in the core: whole numbers become ``int``, decimals
``float`` (which the core then refuses for rating items, naming the item), anything else stays a
string (``yes``, ``tolerable``). Bad input prints one line naming the item and exits 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from ketamine_ptsd.adapters.cli.output import fail, print_json, to_jsonable
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import (
    REGISTRY,
    Instrument,
    ScoredResult,
    get_instrument,
)

__all__ = ["parse_item_list", "register"]

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$")


def _parse_token(token: str) -> Any:
    text = token.strip()
    if text == "":
        return None
    if _INTEGER.match(text):
        return int(text)
    if _DECIMAL.match(text):
        return float(text)
    return text


def parse_item_list(instrument: Instrument, text: str) -> dict[str, Any]:
    """Map the comma-separated ``--items`` text onto the instrument's command-line items."""
    keys = instrument.command_line_keys
    tokens = text.split(",")
    if len(tokens) != len(keys):
        raise InvalidInput(
            f"{instrument.field_prefix}.items",
            f"--items takes {len(keys)} comma-separated values for {instrument.id} "
            f"(items {keys[0]}–{keys[-1]} in form order), got {len(tokens)}",
            text,
        )
    return {key: _parse_token(token) for key, token in zip(keys, tokens, strict=True)}


#: A rating form's items are a few hundred bytes; anything this large is not one.
MAX_FILE_BYTES = 1 << 20


def _read_file(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            fail(f"--file {path}: larger than {MAX_FILE_BYTES // 1024} KiB; not a rating form")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"--file {path}: cannot read it ({exc.strerror or exc})")
    except UnicodeDecodeError as exc:
        fail(f"--file {path}: not UTF-8 text (byte {exc.start})")
    except json.JSONDecodeError as exc:
        fail(f"--file {path}: not valid JSON (line {exc.lineno}: {exc.msg})")
    except RecursionError:
        fail(f"--file {path}: JSON nested too deeply; a rating form is one object of items")
    if isinstance(data, dict) and isinstance(data.get("items"), dict):
        data = data["items"]  # also accept a stored result or {"items": {...}}
    if not isinstance(data, dict):
        fail(f"--file {path}: must hold a JSON object of item → value")
    return {str(key): value for key, value in data.items()}


def _options(
    instrument: Instrument, remission_max: int | None, cutoff: int | None
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if remission_max is not None:
        if instrument.name != "MADRS":
            fail(f"--remission-max applies to MADRS only, not {instrument.id}")
        options["remission_max"] = remission_max
    if cutoff is not None:
        if instrument.id != "pcl5":
            fail(f"--cutoff applies to pcl5 only, not {instrument.id}")
        options["cutoff"] = cutoff
    return options


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dict | list):
        return json.dumps(to_jsonable(value))
    if value is None:
        return "-"
    return str(value)


def _print_text(instrument: Instrument, result: ScoredResult) -> None:
    lines = [f"{instrument.name} ({result.version}) [{result.instrument}]"]
    if result.total is not None and instrument.total_range is not None:
        low, high = instrument.total_range
        lines.append(f"total: {result.total} (range {low}–{high})")
    else:
        lines.append("total: none (this instrument has no total)")
    if result.subscales:
        lines.append("subscales:")
        lines.extend(f"  {name}: {_format_value(v)}" for name, v in result.subscales.items())
    if result.derived:
        lines.append("derived:")
        lines.extend(f"  {name}: {_format_value(v)}" for name, v in result.derived.items())
    lines.append(f"source: {instrument.citation}")
    typer.echo("\n".join(lines))


# Module level: with postponed annotations, Typer evaluates the Annotated metadata in module scope.
_INSTRUMENT_HELP = "One of: " + ", ".join(REGISTRY) + " (or an alias such as caps5, pcl-5)."


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score_command(
        instrument_name: Annotated[
            str, typer.Argument(metavar="INSTRUMENT", help=_INSTRUMENT_HELP)
        ],
        items: Annotated[
            str | None,
            typer.Option(
                "--items",
                help="Comma-separated values in form order; CAPS-5: the 20 severities (items 1-20).",
            ),
        ] = None,
        file: Annotated[
            Path | None,
            typer.Option("--file", help="JSON object of item -> value (CAPS-5 items 21-30 here)."),
        ] = None,
        remission_max: Annotated[
            int | None, typer.Option("--remission-max", help="MADRS remission cut-off (<=).")
        ] = None,
        cutoff: Annotated[
            int | None, typer.Option("--cutoff", help="PCL-5 provisional cut-off (>=).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Score a rating instrument of PROTOCOL.md §7: total, subscales and interpretation."""
        try:
            instrument = get_instrument(instrument_name)
            if items is None and file is None:
                fail("give the items with --items a,b,c,... or --file F.json")
            values: dict[str, Any] = _read_file(file) if file is not None else {}
            if items is not None:
                for key, value in parse_item_list(instrument, items).items():
                    if key in values and values[key] != value and value is not None:
                        raise InvalidInput(
                            instrument.field_id(key),
                            f"--items gives {value!r} but --file gives {values[key]!r}",
                            value,
                        )
                    if value is not None or key not in values:
                        values[key] = value
            result = instrument.score(values, **_options(instrument, remission_max, cutoff))
        except InvalidInput as exc:
            fail(str(exc))
        if as_json:
            print_json(result)
        else:
            _print_text(instrument, result)
