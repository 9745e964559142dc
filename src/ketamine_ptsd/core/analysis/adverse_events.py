"""The safety summary a statistician publishes (issue 14; ICH E3 §12.2): patients with at least
one adverse event by arm, overall, serious, related to the study drug and leading to
discontinuation, then by MedDRA system organ class (SOC) and preferred term (PT).

Counts are of patients, not events: a patient is counted once in a row however many of their
events fall in it, so the arm's N is the denominator of every row. Only randomized patients
count (an adverse event of a screen failure has no arm). The MedDRA coding comes from the
site's own release (services/meddra.py: one row per coded event, keyed by the patient and the
event's place among that patient's events, as the analysis extract orders them); an event not
coded yet is listed under "Not yet coded" by its verbatim term, never guessed.

Leading to discontinuation: the record keeps the action taken as free text (SDTM AEACNOTH) and
no structured action on the study drug (AEACN), so an event counts when its action says the
study treatment was stopped for good (:data:`DISCONTINUATION`), or when its patient was withdrawn
from treatment with a withdrawal reason that names the event's verbatim term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "DISCONTINUATION",
    "NOT_CODED",
    "AdverseEventRow",
    "AdverseEventSummary",
    "summarise_adverse_events",
]

NOT_CODED = "Not yet coded"
#: An action that ends the study treatment (case-insensitive search in the action's text).
DISCONTINUATION = re.compile(
    r"discontinu|withdrawn|withdrew|withdrawal|treatment (?:permanently )?stopped|"
    r"study drug (?:permanently )?stopped|no further infusions",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AdverseEventRow:
    """One row of the summary: its label, its level and the patients counted per arm."""

    label: str
    level: str  # "overall" | "soc" | "pt"
    patients: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.patients.values())


@dataclass(frozen=True)
class AdverseEventSummary:
    arms: tuple[str, ...]
    n: dict[str, int]  # randomized patients per arm
    rows: tuple[AdverseEventRow, ...]
    events: int  # adverse events of randomized patients
    coded_events: int
    releases: tuple[str, ...]  # the MedDRA releases the codings come from

    @property
    def uncoded_events(self) -> int:
        return self.events - self.coded_events


def _norm(term: Any) -> str:
    return " ".join(str(term).split()).lower()


def _flags(values: Any, index: pd.Index) -> pd.Series:
    """A boolean column: true where the value is true (missing counts as false)."""
    return pd.Series([bool(v) and not pd.isna(v) for v in values], index=index, dtype=bool)


def _with_codings(ae: pd.DataFrame, codings: pd.DataFrame | None) -> pd.DataFrame:
    """``ae`` with ``pt_name``, ``soc_name`` and ``release`` (None when not coded)."""
    frame = ae.reset_index(drop=True).copy()
    frame["seq"] = frame.groupby("subject", sort=False).cumcount() + 1
    if codings is None or codings.empty:
        for col in ("pt_name", "soc_name", "release"):
            frame[col] = None
        return frame
    keep = codings[["subject", "seq", "pt_name", "soc_name", "release"]].copy()
    keep["subject"] = keep["subject"].astype(str)
    keep["seq"] = keep["seq"].astype(int)
    frame["subject"] = frame["subject"].astype(str)
    return frame.merge(keep, on=["subject", "seq"], how="left")


def summarise_adverse_events(
    adverse_events: pd.DataFrame,
    subjects: pd.DataFrame,
    arms: tuple[str, ...],
    *,
    codings: pd.DataFrame | None = None,
) -> AdverseEventSummary:
    """Patients with at least one adverse event per arm (see the module docstring)."""
    n = {arm: int((subjects["arm"] == arm).sum()) for arm in arms}
    ae = _with_codings(adverse_events, codings)
    ae = ae[ae["arm"].isin(arms)].copy()
    withdrawn = subjects[subjects["withdrawn"].astype(bool)] if "withdrawn" in subjects else None
    reasons: dict[str, str] = {}
    if withdrawn is not None and "withdrawal_reason" in withdrawn:
        reasons = {
            str(s): _norm(r)
            for s, r in zip(withdrawn["subject"], withdrawn["withdrawal_reason"], strict=True)
            if isinstance(r, str) and r.strip()
        }
    term = ae["term"].map(_norm)
    named = [
        bool(t) and t in reasons.get(str(s), "") for s, t in zip(ae["subject"], term, strict=True)
    ]
    stopped = [isinstance(a, str) and DISCONTINUATION.search(a) is not None for a in ae["action"]]
    ae["discontinued"] = _flags(stopped, ae.index) | _flags(named, ae.index)
    ae["term_norm"] = term

    def count(mask: pd.Series) -> dict[str, int]:
        chosen = ae[mask]
        return {arm: int(chosen.loc[chosen["arm"] == arm, "subject"].nunique()) for arm in arms}

    everything = pd.Series(True, index=ae.index)
    rows = [
        AdverseEventRow("Any adverse event", "overall", count(everything)),
        AdverseEventRow("Serious", "overall", count(_flags(ae["serious"], ae.index))),
        AdverseEventRow("Related to study drug", "overall", count(_flags(ae["related"], ae.index))),
        AdverseEventRow("Leading to discontinuation", "overall", count(ae["discontinued"])),
    ]
    coded = ae["soc_name"].notna()
    for soc in sorted(ae.loc[coded, "soc_name"].astype(str).unique()):
        in_soc = coded & (ae["soc_name"] == soc)
        rows.append(AdverseEventRow(soc, "soc", count(in_soc)))
        pts = [
            AdverseEventRow(pt, "pt", count(in_soc & (ae["pt_name"] == pt)))
            for pt in ae.loc[in_soc, "pt_name"].astype(str).unique()
        ]
        rows += sorted(pts, key=lambda r: (-r.total, r.label))
    if (~coded).any():
        rows.append(AdverseEventRow(NOT_CODED, "soc", count(~coded)))
        terms = [
            AdverseEventRow(t, "pt", count(~coded & (ae["term_norm"] == t)))
            for t in ae.loc[~coded, "term_norm"].unique()
        ]
        rows += sorted(terms, key=lambda r: (-r.total, r.label))
    releases = tuple(sorted({str(r) for r in ae["release"].dropna()}))
    return AdverseEventSummary(
        arms=arms,
        n=n,
        rows=tuple(rows),
        events=len(ae),
        coded_events=int(coded.sum()),
        releases=releases,
    )
