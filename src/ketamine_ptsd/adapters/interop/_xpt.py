"""SAS transport version 5 files (the format FDA and PMDA take), shared by SDTM and ADaM.

Dataset and variable names of at most 8 characters, labels of at most 40, numeric variables as
numbers (dates as SAS dates with the ``DATE9.`` format, as the ADaM IG's ``*DT`` variables are),
the rest as text of at most 200 bytes (a longer value is refused, naming it, rather than cut).
Transport files are ASCII: an accented letter is written without its accent and any other
non-ASCII character as ``?`` (the CSV keeps the original). Written by pyreadstat.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import unicodedata
from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd
import pyreadstat

from ._common import is_missing

__all__ = ["TEXT_BYTES", "ascii_text", "transport_bytes"]

TEXT_BYTES = 200


def ascii_text(text: str) -> str:
    """The ASCII a transport file holds: accents dropped (NFKD), anything else as ``?``."""
    if text.isascii():
        return text
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return plain.encode("ascii", "replace").decode("ascii")


def _date(value: object) -> dt.date | None:
    if is_missing(value) or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def transport_bytes(
    name: str,
    frame: pd.DataFrame,
    *,
    dataset_label: str,
    labels: Mapping[str, str],
    numeric: Collection[str],
    dates: Collection[str] = (),
) -> bytes:
    """``frame`` as a SAS transport v5 file of dataset ``name`` (see the module docstring)."""
    if len(name) > 8:
        raise ValueError(f"{name}: an XPT dataset name has at most 8 characters")
    out = pd.DataFrame(index=frame.index)
    formats: dict[str, str] = {}
    for variable in frame.columns:
        if len(variable) > 8:
            raise ValueError(f"{name}.{variable}: an XPT variable name has at most 8 characters")
        if len(labels[variable]) > 40:
            raise ValueError(f"{name}.{variable}: an XPT label has at most 40 characters")
        column = frame[variable]
        if variable in dates:
            out[variable] = pd.Series([_date(v) for v in column], index=frame.index, dtype=object)
            formats[variable] = "DATE9."
            continue
        if variable in numeric:
            out[variable] = pd.to_numeric(column, errors="raise").astype("float64")
            continue
        values = ["" if is_missing(v) else ascii_text(str(v)) for v in column.astype(object)]
        for row, value in enumerate(values, start=1):
            if len(value) > TEXT_BYTES:
                raise ValueError(
                    f"{name}.{variable} row {row}: {len(value)} characters; an XPT v5 text "
                    f"value holds {TEXT_BYTES} (move the rest to a supplemental domain)"
                )
        out[variable] = pd.Series(values, index=frame.index, dtype=object)
    with tempfile.TemporaryDirectory(prefix="xpt-") as folder:
        path = Path(folder) / f"{name.lower()}.xpt"
        pyreadstat.write_xport(
            out,
            str(path),
            file_label=dataset_label,
            column_labels=[labels[v] for v in frame.columns],
            table_name=name,
            file_format_version=5,
            variable_format=formats or None,
        )
        return path.read_bytes()
