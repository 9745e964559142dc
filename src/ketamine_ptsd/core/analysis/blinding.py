"""Blinding integrity for the reports: the end-of-treatment guesses tallied per respondent type
and true arm, and Bang's and James' indices from the tallies (issue 15; SYSTEM.md capability 14;
CONSORT 2010 item 11b).

Input: the ``blinding_guesses`` frame (``subject, arm, respondent, guess``), arms and guesses in
the same labels — arm ids in the final report, the DSMB's codes "A"/"B" in the interim packet
(the guess of a drug is coded as the arm that gives it, so the packet names no drug). The
tallies go to :func:`ketamine_ptsd.core.stats.blinding.blinding_indices` unchanged, so the report
gives what ``ketamine-ptsd stats blinding --counts`` gives on the same counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.blinding import BlindingIndices, blinding_indices
from ketamine_ptsd.core.workflow.guesses import GuessTally, tally_guesses

__all__ = ["GUESS_COLUMNS", "BlindingAssessment", "BlindingRow", "assess_blinding"]

#: The ``blinding_guesses`` frame's columns (services/datasets.py extracts it).
GUESS_COLUMNS = ("subject", "arm", "respondent", "guess")


@dataclass(frozen=True)
class BlindingRow:
    """One respondent type: its tallies and the indices (None, with ``note``, where the
    indices are not defined: an arm with no answer, or a trial that is not two-armed)."""

    tally: GuessTally
    indices: BlindingIndices | None
    note: str = ""


@dataclass(frozen=True)
class BlindingAssessment:
    arms: tuple[str, ...]
    rows: tuple[BlindingRow, ...]

    @property
    def empty(self) -> bool:
        return not self.rows


def assess_blinding(frame: pd.DataFrame | None, arms: tuple[str, ...]) -> BlindingAssessment:
    """Tally ``frame`` per respondent type (patient, outcome rater, infusion nurse) and compute
    Bang's index per arm and James' index for each. No frame, or no guess: an empty assessment
    (the report says so plainly)."""
    if frame is None or frame.empty:
        return BlindingAssessment(arms, ())
    rows = (
        (str(r), str(a), str(g))
        for r, a, g in frame[["respondent", "arm", "guess"]].itertuples(index=False)
        if isinstance(a, str) and isinstance(g, str)
    )
    out = []
    for tally in tally_guesses(rows, arms):
        if len(arms) != 2:
            out.append(BlindingRow(tally, None, "the indices are defined for two arms"))
            continue
        try:
            out.append(BlindingRow(tally, blinding_indices(arms, tally.counts)))
        except InvalidInput as exc:
            out.append(BlindingRow(tally, None, f"not computed: {exc.message}"))
    return BlindingAssessment(arms, tuple(out))
