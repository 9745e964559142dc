"""``/patients/{id}/blinding-guesses``: each blinded person's guess of the arm at the end of
treatment (issue 15; PROTOCOL.md §3, §5).

``GET`` says, for the patient, the protocol's three respondents (patient, outcome rater,
infusion nurse): whether each guess is recorded, when and by whom, and whether the caller may
record it now; the answer itself only to whoever entered it (``guess`` is null for everyone
else). It lists no answers to choose from: the values are a drug of the protocol's arms
(``GET /api/v1/protocols/{name}``) or ``dont_know``.

``POST`` records one respondent's guess (201). The core decides: an open-label protocol, a
patient not allocated or before the end of treatment → 409 naming the rule and §; the wrong
recorder (the outcome rater records the patient's guess and their own, the nurse her own) → 403;
an unknown respondent or answer → 422 naming the field. A second guess for the same respondent
is 409 unless it is a correction: ``reason`` and the ``expected_version`` read (audited, old and
new value).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, StringConstraints

from ketamine_ptsd.services.blinding_guesses import GuessInput

from ..deps import ApiAuth, State
from ..params import DbId, Version

router = APIRouter(prefix="/patients/{patient_id}", tags=["blinding"])

ShortText = Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00]*$")]
Reason = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]


class GuessCreate(BaseModel):
    respondent: ShortText
    guess: ShortText
    reason: Reason = ""
    expected_version: Version | None = None


class GuessSlotRead(BaseModel):
    respondent: str
    label: str
    recorded: bool
    recorded_at: dt.datetime | None
    recorded_by: str | None
    guess: str | None
    version: int | None
    may_record: bool


class GuessesRead(BaseModel):
    patient_id: int
    study_id: str
    blinded: bool
    due: bool
    not_due: str | None
    slots: list[GuessSlotRead]


@router.get("/blinding-guesses", response_model=GuessesRead)
def guesses(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    view = state.services.blinding_guesses.view(auth.actor, patient_id)
    return GuessesRead.model_validate(view, from_attributes=True)


@router.post("/blinding-guesses", response_model=GuessSlotRead, status_code=201)
def record(patient_id: DbId, body: GuessCreate, auth: ApiAuth, state: State) -> Any:
    slot = state.services.blinding_guesses.record(
        auth.actor,
        patient_id,
        GuessInput(body.respondent, body.guess, body.reason, body.expected_version),
    )
    return GuessSlotRead.model_validate(slot, from_attributes=True)
