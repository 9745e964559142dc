"""The end-of-treatment blinding guesses of one patient (issue 15; PROTOCOL.md §3, §5): a page
of its own, linked from the patient page, so the patient page never carries a drug name.

The page says, per respondent (patient, outcome rater, infusion nurse), whether the guess is
recorded, when and by whom — the answer only to whoever entered it — and gives each respondent
the signed-in user records (core/workflow/guesses.py) one small form: the arms' drugs in a
fixed alphabetical order, then "don't know", identical for every patient whatever their arm;
a recorded guess is corrected there with the reason. A refused entry comes back on the page
with the field named and what was typed kept (services/blinding_guesses.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.services import ConflictError, ValidationFailed
from ketamine_ptsd.services.blinding_guesses import GuessInput

from ..deps import CheckedForm, Session, State, render, see_other
from ..params import DbId, form_int
from .patients import text

router = APIRouter()

FIELDS = ("respondent", "guess", "reason", "version")

# the form's words for the fields a refusal names (what the user reads beside the box)
FIELD_LABELS = {
    "respondent": "Respondent",
    "guess": "Guess",
    "reason": "Reason for the correction",
    "expected_version": "Version read",
    "version": "Version read",
}


@dataclass(frozen=True)
class ShownError:
    """A refusal as the page shows it: the field it belongs to (its box gets the message and
    the focus), the field's label on the form, and the message with its rule's source."""

    field: str | None
    label: str | None
    message: str


def _shown(exc: ValidationFailed | ConflictError, values: dict[str, str]) -> ShownError:
    """The core's "[rule, source]" suffix becomes "(source)"; a correction refused for want of
    a reason (a conflict: the guess is already recorded) is shown at the reason box."""
    message = re.sub(r"\s*\[[a-z0-9_]+, ([^\]]+)\]$", r" (\1)", exc.message)
    field: str | None = exc.field if isinstance(exc, ValidationFailed) else None
    if field is None and values.get("version") and not values.get("reason", "").strip():
        field = "reason"
    return ShownError(field or None, FIELD_LABELS.get(field or ""), message)


def _page(
    request: Request,
    session: Session,
    state: State,
    patient_id: int,
    *,
    error: ValidationFailed | ConflictError | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    services = state.services
    view = services.blinding_guesses.view(session.actor, patient_id)
    options: tuple[Any, ...] = ()
    if view.blinded and any(s.may_record for s in view.slots):
        options = services.blinding_guesses.options(session.actor, patient_id)
    return render(
        request,
        "blinding.html",
        {
            "patient": services.patients.get(session.actor, patient_id),
            "view": view,
            "options": options,
            "error": None if error is None else _shown(error, values or {}),
            "values": values or {},
            # the respondent's own form shows the error at its field; else the page's top
            "form_name": (values or {}).get("respondent")
            if (values or {}).get("respondent")
            in {s.respondent for s in view.slots if s.may_record}
            else None,
        },
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/blinding-guesses")
def page(patient_id: DbId, request: Request, session: Session, state: State) -> Response:
    return _page(request, session, state, patient_id)


@router.post("/patients/{patient_id}/blinding-guesses")
def record(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    values = {k: text(form, k) for k in FIELDS}
    try:
        version = values["version"]
        state.services.blinding_guesses.record(
            session.actor,
            patient_id,
            GuessInput(
                values["respondent"],
                values["guess"],
                values["reason"],
                form_int(version, "version") if version else None,
            ),
        )
    except (ValidationFailed, ConflictError) as exc:
        status = 422 if isinstance(exc, ValidationFailed) else 409
        return _page(
            request, session, state, patient_id, error=exc, values=values, status_code=status
        )
    return see_other(f"/patients/{patient_id}/blinding-guesses?notice=Guess+recorded.")


__all__ = ["router"]
