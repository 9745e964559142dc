"""The research pharmacy (PROTOCOL.md §3): the sealed list and the allocations to prepare.

Only roles with ``randomization_list.read`` reach these pages; reading a list is an audit event
(``RandomizationService.read_list``). The pharmacist sees the drug of each allocated patient
because the services say it may (``allocation_visibility``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.workflow import Event
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed

from ..deps import CheckedForm, PageSession, Session, State, render
from ..params import form_int
from .patients import text

router = APIRouter()


def _require(session: PageSession) -> None:
    if not session.can(Action.RANDOMIZATION_LIST_READ):
        raise PermissionDenied(Action.RANDOMIZATION_LIST_READ.value, session.role.value)


def _page(request: Request, session: PageSession, state: State, **extra: object) -> Response:
    patients = state.services.patients.list(session.actor)
    context: dict[str, object] = {
        "to_prepare": [p for p in patients if Event.ALLOCATE in p.events and p.mode == "trial"],
        "allocated": [p for p in patients if p.treatment is not None],
        "values": {
            "list_version": "",
            "slots_per_stratum": "40",
            "block_sizes": "2,4",
            "strata": "",
            "protocol_name": "rct",
        },
        "summary": None,
        "sealed": None,
        "error": None,
    }
    context.update(extra)
    return render(
        request, "pharmacy.html", context, status_code=422 if context.get("error") else 200
    )


@router.get("/pharmacy")
def pharmacy(request: Request, session: Session, state: State) -> Response:
    _require(session)
    list_id = request.query_params.get("list_id", "")
    if list_id:
        number = form_int(list_id, "list_id", minimum=1)
        return _page(
            request,
            session,
            state,
            sealed=state.services.randomization.read_list(session.actor, number),
        )
    return _page(request, session, state)


@router.post("/pharmacy/lists")
def generate_list(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    _require(session)
    values = {
        k: text(form, k)
        for k in ("protocol_name", "list_version", "slots_per_stratum", "block_sizes", "strata")
    }
    try:
        try:
            slots = int(values["slots_per_stratum"])
        except ValueError:
            raise ValidationFailed(
                "slots_per_stratum", "a whole number", values["slots_per_stratum"]
            ) from None
        try:
            blocks = [int(b) for b in values["block_sizes"].split(",") if b.strip()]
        except ValueError:
            raise ValidationFailed(
                "block_sizes", "whole numbers, e.g. 2,4", values["block_sizes"]
            ) from None
        strata = [s.strip() for s in values["strata"].split(",") if s.strip()] or None
        summary = state.services.randomization.generate_list(
            session.actor,
            protocol_name=values["protocol_name"],
            list_version=values["list_version"],
            slots_per_stratum=slots,
            block_sizes=blocks,
            strata=strata,
        )
    except (ValidationFailed, ConflictError) as exc:
        return _page(request, session, state, error=exc, values=values)
    return _page(request, session, state, summary=summary)


@router.get("/pharmacy/accountability")
def accountability(request: Request, session: Session, state: State) -> Response:
    """Drug accountability (issue 12 item 4): every infusion's bag, given, wasted and who
    witnessed it; the drug and mg only where the blind allows (services decide)."""
    rows = state.services.infusions.accountability(session.actor)
    return render(request, "accountability.html", {"rows": rows})


@router.get("/pharmacy/accountability.csv")
def accountability_csv(session: Session, state: State) -> Response:
    """The same as spreadsheet-safe CSV (services/spreadsheet.py)."""
    return Response(
        state.services.infusions.accountability_csv(session.actor),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="drug-accountability.csv"'},
    )
