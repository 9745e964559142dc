"""The trial dashboard (blinded by default) and the analysis page (PROTOCOL.md §3, §9).

The dashboard counts the CONSORT flow from the record (registered → screened → eligible →
randomized, with screen failures and refusals) per protocol and never shows an arm. The
analysis page reads the analysis dataset through ``AnalysisService.dataset``, which codes the
arms "A"/"B" under a partial sanction and names them only under a full one; without a sanction
the group column is empty. Reading the dataset is itself audited by the service.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import PermissionDenied

from ..deps import Session, State, render
from ..views import patient_schedule

router = APIRouter()

CONSORT_STATUSES = ("registered", "eligible", "screen_failed", "declined", "randomized")


@router.get("/dashboard")
def dashboard(request: Request, session: Session, state: State) -> Response:
    if not session.can(Action.PATIENT_READ):
        raise PermissionDenied(Action.PATIENT_READ.value, session.role.value)
    patients = state.services.patients.list(session.actor)
    today = state.now().date()
    by_protocol: dict[str, Counter[str]] = {}
    windows_open = 0
    windows_passed = 0
    for patient in patients:
        by_protocol.setdefault(patient.protocol_name, Counter())[patient.status] += 1
        plan = patient_schedule(state, session.actor, patient)
        if plan is None:
            continue
        for planned in plan.assessments:
            if planned.window_start <= today <= planned.window_end:
                windows_open += 1
            elif planned.window_end < today:
                windows_passed += 1
    return render(
        request,
        "dashboard.html",
        {
            "by_protocol": by_protocol,
            "statuses": CONSORT_STATUSES,
            "windows_open": windows_open,
            "windows_passed": windows_passed,
        },
    )


@router.get("/analysis")
def analysis(request: Request, session: Session, state: State) -> Response:
    if not session.can(Action.ANALYSIS_DATASET_READ):
        raise PermissionDenied(Action.ANALYSIS_DATASET_READ.value, session.role.value)
    protocol_name = request.query_params.get("protocol", "rct")
    rows = state.services.analysis.dataset(session.actor, protocol_name=protocol_name)
    groups = Counter(r.group for r in rows if r.allocated)
    return render(
        request,
        "analysis.html",
        {
            "rows": rows,
            "groups": groups,
            "protocol_name": protocol_name,
            "unblinded": any(r.group for r in rows),
        },
    )
