"""The coder's MedDRA page (issue 14): the adverse events still to code, and coding one.

``/meddra`` lists the protocol's live adverse events without a coding (``services.meddra.uncoded``:
the verbatim term, the patient, the onset, and the LLT whose name is the term as a suggestion,
with its PT, HLT, HLGT and primary SOC); the coder enters an LLT code of the loaded release and
``POST /meddra/code`` stores the LLT and its primary path through ``services.meddra.code``, so the
role (``adverse_event.code``: the study physician, as ``ketamine-ptsd meddra code``), the site
scope, the release check and the audit trail are the service's. The form carries the CSRF token
like every other form; a refusal (an unknown or non-current LLT, no release loaded) is shown with
the code kept.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import PermissionDenied, ValidationFailed

from ..deps import CheckedForm, PageSession, Session, State, render, see_other
from .patients import text

router = APIRouter()


def _coder(session: PageSession) -> None:
    if not session.can(Action.ADVERSE_EVENT_CODE):
        raise PermissionDenied(Action.ADVERSE_EVENT_CODE.value, session.role.value)


def _page(
    request: Request,
    session: PageSession,
    state: State,
    protocol_name: str,
    *,
    error: ValidationFailed | None = None,
    event_id: int | None = None,
    llt_code: str = "",
) -> Response:
    uncoded = state.services.meddra.uncoded(session.actor, protocol_name=protocol_name)
    return render(
        request,
        "meddra.html",
        {
            "protocol_name": protocol_name,
            "uncoded": uncoded,
            "error": error,
            "event_id": event_id,
            "llt_code": llt_code,
            "notice": request.query_params.get("notice"),
        },
        status_code=422 if error is not None else 200,
    )


@router.get("/meddra")
def meddra_page(request: Request, session: Session, state: State) -> Response:
    _coder(session)
    return _page(request, session, state, request.query_params.get("protocol", "rct"))


@router.post("/meddra/code")
def code_event(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    _coder(session)
    protocol_name = text(form, "protocol_name") or "rct"
    raw_event, raw_llt = text(form, "adverse_event_id"), text(form, "llt_code")
    event_id = int(raw_event) if raw_event.isdigit() else None
    try:
        if event_id is None:
            raise ValidationFailed("adverse_event_id", "choose an adverse event", raw_event)
        if not raw_llt.isdigit() or len(raw_llt) > 9:
            raise ValidationFailed("llt_code", "an LLT code is a number of up to 9 digits", raw_llt)
        coding = state.services.meddra.code(session.actor, event_id, int(raw_llt))
    except ValidationFailed as exc:
        return _page(
            request, session, state, protocol_name, error=exc, event_id=event_id, llt_code=raw_llt
        )
    notice = (
        f"Adverse event {event_id} coded to {coding.llt_name} ({coding.llt_code}): PT "
        f"{coding.pt_name}, SOC {coding.soc_name}"
    )
    return see_other(f"/meddra?protocol={quote(protocol_name)}&notice={quote(notice)}")
