"""The trial dashboard (blinded by default) and the analysis page (PROTOCOL.md §3, §9).

The dashboard (``..dashboard``: enrolment against target, CONSORT counts, visit completeness,
overdue visits, safety events) reads counts through the services and never shows an arm.

The analysis page shows the analysis dataset through ``AnalysisService.dataset`` (the arms
"A"/"B" under a partial sanction, named only under a full one; without a sanction the group
column is empty) and, on "Run analysis", runs the protocol's analysis as the signed-in
statistician (``..analysis_runs``: the CLI report's path) and shows the report's tables and
figures in the page, with the PDF and a zip of the HTML report to download. Without a live
sanction nothing runs and the page says it needs a sanctioned analysis. The report files are
served only to the user who built them, only while their sanction still holds, never cached
(``no-store``, as every page). Reading the data is audited by the services.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import ConflictError, NotFound, PermissionDenied
from ketamine_ptsd.services.analysis_runs import INTERIM_CONFIRMATION

from ..analysis_runs import AnalysisRun, RunStore, live_sanction, run_analysis
from ..dashboard import trial_dashboard
from ..deps import CheckedForm, PageSession, Session, State, WebState, render, see_other

router = APIRouter()

NEEDS_SANCTION = (
    "This needs a sanctioned analysis: the analysis compares the arms, and your account holds "
    "no live unblinding sanction. An administrator records one (partial: the DSMB packet with "
    "arms coded A/B; full: the final report) — PROTOCOL.md §3."
)


NOT_CONFIRMED = "Not run: tick the confirmation first. " + INTERIM_CONFIRMATION


@router.get("/dashboard")
def dashboard(request: Request, session: Session, state: State) -> Response:
    if not session.can(Action.PATIENT_READ):
        raise PermissionDenied(Action.PATIENT_READ.value, session.role.value)
    protocol_name = request.query_params.get("protocol", "rct")
    today = state.now().date()
    # The dashboard shows no arm and depends only on the role (what it may read), the protocol,
    # the day and the record; key it on the record's version so a write shows at once.
    version = state.services.audit.record_version(session.actor)
    # ... and on the user's sites: a site's member never gets a board built for the whole trial
    sites = None if session.actor.sites is None else tuple(sorted(session.actor.sites))
    key = (session.role.value, sites, protocol_name, today, version)
    board = state.dashboards.get(key)
    if board is None:
        board = trial_dashboard(state.services, session.actor, protocol_name, today)
        if len(state.dashboards) > 64:
            state.dashboards.clear()
        state.dashboards[key] = board
    return render(request, "dashboard.html", {"board": board})


def _runs(request: Request) -> RunStore:
    store: RunStore = request.app.state.analysis_runs  # made by create_app, cleared at shutdown
    return store


def _analyst(session: PageSession) -> None:
    if not session.can(Action.ANALYSIS_DATASET_READ):
        raise PermissionDenied(Action.ANALYSIS_DATASET_READ.value, session.role.value)


def _current_run(request: Request, session: PageSession, state: WebState) -> AnalysisRun | None:
    """The user's last report, only while their live sanction is still the level it was built
    under (a revoked or expired sanction hides it, and it is deleted)."""
    user_id = session.actor.user_id
    if user_id is None:
        return None
    run = _runs(request).get(user_id)
    if run is None:
        return None
    if run.level != "open_label" and live_sanction(state.services, session.actor) != run.level:
        _runs(request).drop(user_id)
        return None
    return run


def _page(
    request: Request,
    session: PageSession,
    state: WebState,
    protocol_name: str,
    *,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    rows = state.services.analysis.dataset(session.actor, protocol_name=protocol_name)
    groups = Counter(r.group for r in rows if r.allocated)
    run = _current_run(request, session, state)
    return render(
        request,
        "analysis.html",
        {
            "rows": rows,
            "groups": groups,
            "protocol_name": protocol_name,
            "unblinded": any(r.group for r in rows),
            "sanction": live_sanction(state.services, session.actor),
            "run": run,
            "report_body": run.body_html() if run is not None else None,
            "message": message,
            "interim_confirmation": INTERIM_CONFIRMATION,
        },
        status_code=status_code,
    )


@router.get("/analysis")
def analysis(request: Request, session: Session, state: State) -> Response:
    _analyst(session)
    return _page(request, session, state, request.query_params.get("protocol", "rct"))


@router.post("/analysis/run")
def run(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    """Run the protocol's analysis now (seconds): the report the live sanction allows."""
    _analyst(session)
    protocol_name = str(form.get("protocol_name") or "rct")
    sanction = live_sanction(state.services, session.actor)
    if sanction == "none":
        return _page(
            request, session, state, protocol_name, message=NEEDS_SANCTION, status_code=409
        )
    if sanction == "partial" and form.get("confirm") != "yes":
        # The coded results are revealed only once the DSMB statistician has confirmed.
        return _page(request, session, state, protocol_name, message=NOT_CONFIRMED, status_code=400)
    try:
        built = run_analysis(state.services, session.actor, protocol_name, state.now().date())
    except ConflictError as exc:  # the final analysis waits for patients still in their window
        return _page(request, session, state, protocol_name, message=exc.message, status_code=409)
    if built is None:
        return _page(
            request, session, state, protocol_name, message=NEEDS_SANCTION, status_code=409
        )
    _runs(request).put(built)
    return see_other(f"/analysis?protocol={quote(protocol_name)}")


def _run_or_404(request: Request, session: PageSession, state: WebState) -> AnalysisRun:
    _analyst(session)
    run = _current_run(request, session, state)
    if run is None:
        raise NotFound("analysis report", session.actor.username)
    return run


@router.get("/analysis/report/figures/{name}")
def report_figure(request: Request, name: str, session: Session, state: State) -> Response:
    figure = _run_or_404(request, session, state).figure(name)
    if figure is None:
        raise NotFound("figure", name)
    return FileResponse(figure, media_type="image/png")


@router.get("/analysis/report/report.pdf")
def report_pdf(request: Request, session: Session, state: State) -> Response:
    run = _run_or_404(request, session, state)
    kind = "dsmb-interim" if run.interim else "trial-report"
    return FileResponse(
        run.path / "report.pdf",
        media_type="application/pdf",
        filename=f"{run.protocol_name}-{kind}-{run.built_at.date().isoformat()}.pdf",
    )


@router.get("/analysis/report.zip")
def report_zip(request: Request, session: Session, state: State) -> Response:
    """The whole report folder (index.html, figures, PDF) as one download."""
    run = _run_or_404(request, session, state)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(run.path.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(run.path).as_posix())
    kind = "dsmb-interim" if run.interim else "trial-report"
    name = f"{run.protocol_name}-{kind}-{run.built_at.date().isoformat()}.zip"
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
