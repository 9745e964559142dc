"""Outcomes and coding: assessments, withdrawals, blinding guesses, MedDRA terms and adverse-event codings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .base import Record

__all__ = ["AdverseEventCoding", "Assessment", "BlindingGuess", "MeddraTerm", "Withdrawal"]


class Assessment(Record):
    """An outcome assessment at a time point, scored by its instrument (PROTOCOL.md §5, §7)."""

    patient_id: int
    time_point: str
    instrument: str
    assessed_on: dt.date
    target_date: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    in_window: bool
    items: dict[str, Any]
    total: float | None
    subscales: dict[str, Any]
    derived: dict[str, Any]
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class Withdrawal(Record):
    """Withdrawal from the series with its reason and who decided (PROTOCOL.md §10 CONSORT)."""

    patient_id: int
    withdrawn_on: dt.date
    decided_by: str
    decided_by_name: str
    reason: str
    infusions_received: int
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class BlindingGuess(Record):
    """A blinded person's guess of the patient's arm at the end of treatment (issue 15;
    PROTOCOL.md §3): ``respondent`` (core.workflow.Respondent), ``guess`` a drug of the
    protocol's arms or "dont_know" — as sensitive as the allocation."""

    patient_id: int
    respondent: str
    guess: str
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class MeddraTerm(Record):
    """One LLT of a site-loaded MedDRA release with its primary path (core/meddra.py)."""

    release: str
    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str
    hlt_code: int
    hlt_name: str
    hlgt_code: int
    hlgt_name: str
    soc_code: int
    soc_name: str
    current: bool
    loaded_by: int | None
    loaded_at: dt.datetime


class AdverseEventCoding(Record):
    """The MedDRA coding of an adverse event: the LLT chosen and its path, who coded it, when.
    A recoding updates the row (the audit trail keeps every earlier value)."""

    adverse_event_id: int
    release: str
    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str
    hlt_code: int
    hlt_name: str
    hlgt_code: int
    hlgt_name: str
    soc_code: int
    soc_name: str
    coded_by: int | None
    coded_at: dt.datetime
    version: int
