"""The patient's self-report page, and the staff's link and retreatment forms (issue 13;
PROTOCOL.md §5, §7, §8; services/self_reports.py, services/retreatment.py).

The patient's page, ``/self-report/{token}``, is reached by the single-use link a staff member
issued. It is mobile-first and stands alone: no staff navigation, no study id, no staff data —
the patient's own questions, their own PCL-5 trajectory against the response's line, and, when
their answers raised an alert, the protocol's crisis text. Its form carries a CSRF token bound to
the link (an HMAC of the token under the app's secret), so another site cannot post it; an
unknown token counts against the client's throttle (429 after a few), and a used, replaced or
expired link answers 410 with no detail. The token travels in the path only; the pages are
``no-store`` and ``Referrer-Policy: no-referrer`` (security.py), so it leaks neither to a cache
nor to another site. The staff's forms are on the patient page (issuing shows the link once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.core.instruments import get_instrument
from ketamine_ptsd.services import ConflictError, NotFound, ValidationFailed
from ketamine_ptsd.services.self_reports import LinkUnusable

from ..deps import CheckedForm, CsrfRejected, Session, State, WebState, see_other
from ..params import DbId
from ..security import client_address
from .patients import parse_date, render_patient_page, text

router = APIRouter()

CSRF_PREFIX = "self-report:"
_YES_NO = {"yes": True, "no": False}


def _client(request: Request, state: WebState) -> str:
    return "self-report|" + client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        state.settings.trusted_proxies,
    )


def _standalone(
    request: Request, state: WebState, context: dict[str, Any], status_code: int = 200
) -> Response:
    """The patient's pages: their own template, no session, no navigation."""
    return state.templates.TemplateResponse(
        request, "self_report.html", {"today": state.now().date(), **context},
        status_code=status_code,
    )  # fmt: skip


def _refused(request: Request, state: WebState, status: int, title: str, detail: str) -> Response:
    return _standalone(request, state, {"refused": (title, detail)}, status)


def _throttled(request: Request, state: WebState) -> Response | None:
    wait = state.link_throttle.retry_after(_client(request, state))
    if wait is None:
        return None
    response = _refused(
        request, state, 429, "Please wait", f"Too many tries; wait {wait} seconds and try again."
    )
    response.headers["Retry-After"] = str(wait)
    return response


def _link_error(request: Request, state: WebState, exc: Exception) -> Response:
    if isinstance(exc, LinkUnusable):
        return _refused(
            request, state, 410, "This link cannot be used",
            "It has been used, replaced by a newer link, or has expired. Each link works once. "
            "Ask the clinic for a new one if you still need to answer.",
        )  # fmt: skip
    state.link_throttle.failed(_client(request, state))
    return _refused(request, state, 404, "Link not found", "Check that the whole link was copied.")


def _page_context(state: WebState, token: str, page: Any) -> dict[str, Any]:
    return {
        "page": page,
        "csrf_token": state.signer.csrf_token(CSRF_PREFIX + token),
        "action": f"/self-report/{token}",
        "cssrs": get_instrument("cssrs"),
    }


@router.get("/self-report/{token}")
def open_page(token: str, request: Request, state: State) -> Response:
    """The patient's form (opening the link does not use it)."""
    if (throttled := _throttled(request, state)) is not None:
        return throttled
    try:
        page = state.services.self_reports.open_link(token)
    except (NotFound, LinkUnusable) as exc:
        return _link_error(request, state, exc)
    return _standalone(request, state, _page_context(state, token, page))


def parse_answers(form: FormData | Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The PCL-5 items (0–4) and the C-SSRS screener's answers from the patient's form.

    The screener's skip logic is applied here: items 3–5 count only after a yes to item 2, and
    "recent" only after a yes to item 6 (the page asks them that way). A missing answer stays
    missing and the instrument refuses it by name.
    """
    pcl5: dict[str, Any] = {}
    for n in range(1, 21):
        raw = form.get(f"pcl5_{n}")
        if isinstance(raw, str) and raw.strip():
            try:
                pcl5[str(n)] = int(raw)
            except ValueError:
                raise ValidationFailed(f"pcl5.item_{n}", "a whole number 0–4", raw) from None
    cssrs: dict[str, Any] = {}
    for key in ("1", "2", "3", "4", "5", "6", "6_recent"):
        raw = form.get(f"cssrs_{key}")
        if isinstance(raw, str) and raw in _YES_NO:
            cssrs[key] = _YES_NO[raw]
    if cssrs.get("2") is not True:
        for key in ("3", "4", "5"):
            cssrs.pop(key, None)
    if cssrs.get("6") is not True:
        cssrs.pop("6_recent", None)
    return pcl5, cssrs


@router.post("/self-report/{token}")
async def submit(token: str, request: Request, state: State) -> Response:
    """Store the patient's answers (once) and show what follows: the crisis text when the answers
    raised an alert, and the trajectory."""
    if (throttled := _throttled(request, state)) is not None:
        return throttled
    form = await request.form(**state.settings.limits.form_limits())
    submitted = form.get("csrf_token")
    if not isinstance(submitted, str) or not state.signer.csrf_ok(CSRF_PREFIX + token, submitted):
        raise CsrfRejected()
    pcl5, cssrs = parse_answers(form)
    try:
        result = state.services.self_reports.submit(token, pcl5_items=pcl5, cssrs_items=cssrs)
    except (NotFound, LinkUnusable) as exc:
        return _link_error(request, state, exc)
    except ValidationFailed as exc:
        try:
            page = state.services.self_reports.open_link(token)
        except (NotFound, LinkUnusable) as again:
            return _link_error(request, state, again)
        context = _page_context(state, token, page)
        context.update(error=exc, values={k: v for k, v in form.items() if isinstance(v, str)})
        return _standalone(request, state, context, 422)
    return _standalone(request, state, {"done": result})


# --- the staff's forms on the patient page -------------------------------------------------------


@router.post("/patients/{patient_id}/self-report-link")
def issue_link(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    """Issue a link and show it once on the patient page (never in a redirect's URL)."""
    del form  # CSRF-checked; nothing else to read
    try:
        issued = state.services.self_reports.issue_link(session.actor, patient_id)
    except (ValidationFailed, ConflictError) as exc:
        return render_patient_page(
            request, session, state, patient_id, error=exc, form_name="self_report",
            status_code=422 if isinstance(exc, ValidationFailed) else 409,
        )  # fmt: skip
    url = str(request.base_url).rstrip("/") + f"/self-report/{issued.token}"
    return render_patient_page(
        request, session, state, patient_id, issued_link=(url, issued.expires_at),
        notice="Self-report link issued: give it to the patient now; it is shown only once.",
    )  # fmt: skip


@router.post("/patients/{patient_id}/retreatment")
def start_retreatment(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    values = {k: text(form, k) for k in ("starts_on", "reason")}
    try:
        state.services.retreatment.start(
            session.actor,
            patient_id,
            starts_on=parse_date(text(form, "starts_on"), "starts_on"),
            reason=text(form, "reason"),
        )
    except (ValidationFailed, ConflictError) as exc:
        return render_patient_page(
            request, session, state, patient_id, error=exc, form_name="retreatment",
            values=values, status_code=422 if isinstance(exc, ValidationFailed) else 409,
        )  # fmt: skip
    return see_other(f"/patients/{patient_id}?notice=Retreatment series started.#self-report")
