"""Import a site's own long-format data as an analysis dataset (SYSTEM.md capability 11).

A site that ran its own trial (or kept its clinic's outcomes elsewhere) brings one row per
subject, time and measure — ``subject, arm, time, measure, value`` under any column names, plus
optional subject-level columns (``age_years``, ``sex``, … for Table 1) — and gets the same
:class:`~ketamine_ptsd.core.analysis.AnalysisDataset` the record's extract gives, so
``core.analysis.analyse`` and the report builder run on it unchanged (PROTOCOL.md §9: MMRM per
measure over its time points, cumulative-logit models for the measures named ordinal,
responders when ``caps5_total`` has ``baseline`` and ``week2``).

What the import cannot know is left empty, not invented: screening (every imported subject is
counted as assessed, eligible and randomized), infusions, safety tables, follow-up and
durability. A blank ``value`` (or NA) is a missing observation, as MMRM allows; anything else
that is not a number is refused.

Errors are :class:`~ketamine_ptsd.core.errors.InvalidInput` naming the column (the command-line
flag that chose it) and the row — ``row N`` is the line of the CSV file, the header being row 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ketamine_ptsd.core.analysis import DEFAULT_OUTCOMES, AnalysisDataset, OutcomeSpec
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.services.datasets import FRAME_COLUMNS

__all__ = ["ImportedTrial", "import_long"]

_MISSING = {"", "na", "n/a", "nan", "."}
_DEFAULTS = {spec.name: spec for spec in DEFAULT_OUTCOMES}
_FIRST_ROW = 2  # the header is line 1 of the file


@dataclass(frozen=True)
class ImportedTrial:
    """The dataset, the outcome specs to analyse, and what was read."""

    dataset: AnalysisDataset
    outcomes: tuple[OutcomeSpec, ...]
    rows_read: int
    missing_values: int

    @property
    def n_subjects(self) -> int:
        return len(self.dataset.frames["subjects"])


def _row(index: int) -> int:
    return index + _FIRST_ROW


def _order(
    values: Sequence[str], given: Sequence[str] | None, flag: str, column: str, where: pd.Series
) -> list[str]:
    present = list(dict.fromkeys(values))
    if not given:
        return sorted(present)
    order = [g.strip() for g in given]
    for level in present:
        if level not in order:
            row = _row(int(where[where == level].index[0]))
            raise InvalidInput(
                column,
                f"row {row}: level {level!r} is not in {flag} ({', '.join(order)})",
                level,
            )
    return [level for level in order if level in present]


def import_long(
    frame: pd.DataFrame,
    *,
    subject: str,
    group: str,
    time: str,
    measure: str,
    value: str,
    group_order: Sequence[str] | None = None,
    time_order: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
    ordinal: Sequence[str] = (),
    subject_columns: Sequence[str] = (),
    title: str = "Imported long-format trial",
) -> ImportedTrial:
    """Check ``frame`` (read as text, row order as in the file) and build the dataset.

    ``group_order``: the arms, active first (differences are reported control − active, as the
    paper's midazolam − ketamine); default alphabetical. ``measures``: the measures expected
    (any other is refused); default every measure found. ``ordinal``: measures analysed by the
    cumulative-logit model (scores 1–7, CGI-like) instead of MMRM.
    """
    flags = {
        "--subject": subject,
        "--group": group,
        "--time": time,
        "--measure": measure,
        "--value": value,
    }
    columns = [str(c) for c in frame.columns]
    for flag, column in [*flags.items(), *(("--subject-column", c) for c in subject_columns)]:
        if column not in columns:
            raise InvalidInput(
                column, f"{flag}: column {column!r} not found; columns are {', '.join(columns)}"
            )
    data = frame.reset_index(drop=True)
    text = {
        c: data[c].map(lambda v: "" if _is_blank(v) else str(v).strip()) for c in flags.values()
    }
    for column in (subject, group, time, measure):
        empty = text[column][text[column] == ""]
        if not empty.empty:
            raise InvalidInput(column, f"row {_row(int(empty.index[0]))}: empty {column!r}")
    if measures is not None:
        allowed = [m.strip() for m in measures]
        unknown = text[measure][~text[measure].isin(allowed)]
        if not unknown.empty:
            i = int(unknown.index[0])
            raise InvalidInput(
                measure,
                f"row {_row(i)}: unknown measure {unknown[i]!r}; expected one of {', '.join(allowed)}",
                unknown[i],
            )
    numbers: list[float] = []
    missing = 0
    for i, raw in text[value].items():
        if raw.lower() in _MISSING:
            numbers.append(math.nan)
            missing += 1
            continue
        try:
            number = float(raw)
        except ValueError:
            raise InvalidInput(
                value, f"row {_row(int(i))}: value {raw!r} is not a number", raw
            ) from None
        if not math.isfinite(number):
            raise InvalidInput(value, f"row {_row(int(i))}: value {raw!r} is not finite", raw)
        numbers.append(number)
    long = pd.DataFrame(
        {
            "subject": text[subject],
            "arm": text[group],
            "time": text[time],
            "measure": text[measure],
            "value": numbers,
        }
    )
    keys = ["subject", "time", "measure"]
    duplicated = long[long.duplicated(keys, keep=False)]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        same = duplicated[(duplicated[keys] == first[keys]).all(axis=1)].index[:2]
        raise InvalidInput(
            time,
            f"rows {_row(int(same[0]))} and {_row(int(same[1]))}: subject {first['subject']!r} "
            f"has two {first['measure']!r} values at time {first['time']!r}",
            first["subject"],
        )
    arms_of = long.groupby("subject")["arm"].nunique()
    if (arms_of > 1).any():
        who = str(arms_of[arms_of > 1].index[0])
        rows = long.index[long["subject"] == who]
        second = next(i for i in rows if long.at[i, "arm"] != long.at[rows[0], "arm"])
        raise InvalidInput(
            group,
            f"row {_row(int(second))}: subject {who!r} is in two groups "
            f"({long.at[rows[0], 'arm']!r} at row {_row(int(rows[0]))})",
            who,
        )
    arms = _order(long["arm"].tolist(), group_order, "--group-order", group, long["arm"])
    if len(arms) > 2:
        raise InvalidInput(
            group, f"the analysis compares two arms; found {len(arms)}: {', '.join(arms)}"
        )
    times = _order(long["time"].tolist(), time_order, "--time-order", time, long["time"])
    subjects = _subjects(long, data, subject_columns)
    outcomes = _outcome_specs(long, times, ordinal)
    frames = {name: pd.DataFrame(columns=list(cols)) for name, cols in FRAME_COLUMNS.items()}
    frames["outcomes"] = long.dropna(subset=["value"]).reset_index(drop=True)
    frames["subjects"] = subjects
    frames["screening"] = pd.DataFrame(
        {
            "subject": subjects["subject"],
            "screening_date": None,
            "disposition": "eligible",
            "reason": None,
            "override": None,
        }
    )
    return ImportedTrial(
        AnalysisDataset(frames, tuple(arms), title=title), outcomes, len(long), missing
    )


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _subjects(
    long: pd.DataFrame, data: pd.DataFrame, subject_columns: Sequence[str]
) -> pd.DataFrame:
    first = long.drop_duplicates("subject")
    subjects = pd.DataFrame(
        {
            "subject": first["subject"].to_numpy(),
            "arm": first["arm"].to_numpy(),
            "allocation_date": None,
            "n_infusions": None,
            "completed_infusions": True,
            "withdrawn": False,
            "withdrawal_reason": None,
            "responder_flag": False,
        }
    )
    for column in subject_columns:
        values = data[column].where(data[column].notna(), None)
        per_subject = pd.DataFrame({"subject": long["subject"], "v": values})
        varying = per_subject.dropna().groupby("subject")["v"].nunique()
        if (varying > 1).any():
            who = str(varying[varying > 1].index[0])
            rows = per_subject.index[per_subject["subject"] == who]
            raise InvalidInput(
                column,
                f"row {_row(int(rows[-1]))}: subject-level column {column!r} changes within "
                f"subject {who!r}",
                who,
            )
        firsts = per_subject.dropna().drop_duplicates("subject").set_index("subject")["v"]
        numeric = pd.to_numeric(firsts, errors="coerce")
        column_values = numeric if numeric.notna().all() and len(numeric) else firsts
        subjects[column] = subjects["subject"].map(column_values)
    return subjects


def _outcome_specs(
    long: pd.DataFrame, times: list[str], ordinal: Sequence[str]
) -> tuple[OutcomeSpec, ...]:
    specs = []
    for name in dict.fromkeys(long["measure"]):
        present = set(long.loc[long["measure"] == name, "time"])
        points = tuple(t for t in times if t in present)
        default = _DEFAULTS.get(name)
        model = "cumulative_logit" if name in ordinal else (default.model if default else "mmrm")
        specs.append(
            OutcomeSpec(
                name,
                default.label if default else name,
                points,
                model,
                unit="score 1-7" if model == "cumulative_logit" else "points",
            )
        )
    return tuple(specs)
