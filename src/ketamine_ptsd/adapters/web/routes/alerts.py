"""The physician's and the nurse's safety forms of the bedside (issue 12 items 1, 2, 6, 8, 10):
acknowledging an alert by name (who was called, at what site time, what was done; PROTOCOL.md
§12; a suicide-risk alert is the physician's review, §7), the physician's release of a held
morning (§6) and a day moved outside the schedule (§5), each with the reason and the password.
A refused form comes back on the screen it was sent from, its field named and its input kept.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.services import AuthenticationFailed, ConflictError, ValidationFailed

from ..deps import CheckedForm, Session, State, WebState, see_other
from ..params import DbId, InfusionNumber
from .infusion import _int, _page, _submit, _values, site_time
from .patients import text

router = APIRouter()


def _back(patient_id: int, back: str) -> tuple[str, int | None]:
    """Where an alert form returns: the infusion screen ``infusion/<n>`` or the patient page."""
    kind, _, n = back.partition("/")
    if kind == "infusion" and n.isdigit() and 1 <= int(n) <= 99:
        return f"/patients/{patient_id}/infusion/{n}", int(n)
    return f"/patients/{patient_id}", None


@router.post("/patients/{patient_id}/alerts/{alert_id}/acknowledge")
def acknowledge_alert(
    patient_id: DbId,
    alert_id: DbId,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """Acknowledge an alert by name: the physician called, at what site time, the action
    (PROTOCOL.md §12); a suicide-risk alert is the physician's own review (§7)."""
    url, number = _back(patient_id, text(form, "back"))
    values = _values(form)
    try:
        typed = text(form, "called_at")
        state.services.infusions.acknowledge_alert(
            session.actor,
            patient_id,
            alert_id,
            physician_called=text(form, "physician_called") or None,
            called_at=site_time(state, "called_at", typed) if typed else None,
            action_taken=text(form, "action_taken"),
            expected_version=_int(form, "alert_version", required=True) or 0,
        )
    except (ValidationFailed, ConflictError) as exc:
        code = 409 if isinstance(exc, ConflictError) else 422
        if number is not None:
            return _page(
                request, session, state, patient_id, number, form_name=f"alert-{alert_id}",
                error=exc, values=values, status_code=code,
            )  # fmt: skip
        from .patients import render_patient_page

        return render_patient_page(
            request, session, state, patient_id, error=exc, form_name=f"alert-{alert_id}",
            values=values, status_code=code,
        )  # fmt: skip
    return see_other(f"{url}?saved=alert#alerts" if number else f"{url}#alerts")


def _decision(
    state: WebState, form: FormData, decide: Callable[[str, str], object]
) -> Callable[[], object]:
    def act() -> object:
        password = form.get("password")
        try:
            return decide(text(form, "reason"), password if isinstance(password, str) else "")
        except AuthenticationFailed as exc:  # counted and audited by the service
            raise ValidationFailed("password", exc.message, "") from None

    return act


@router.post("/patients/{patient_id}/infusion/{number}/release-hold")
def release_hold(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """The physician releases today's hold, with the reason and their password (§6)."""
    act = _decision(
        state,
        form,
        lambda reason, password: state.services.infusions.release_hold(
            session.actor, patient_id, number, reason=reason, password=password
        ),
    )
    return _submit(request, session, state, patient_id, number, form, "release", "checklist", act)


@router.post("/patients/{patient_id}/infusion/{number}/move")
def move_day(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """The physician gives infusion ``number`` today outside the schedule (§5)."""
    act = _decision(
        state,
        form,
        lambda reason, password: state.services.infusions.move_day(
            session.actor, patient_id, number, day=state.now().date(), reason=reason,
            password=password,
        ),
    )  # fmt: skip
    return _submit(request, session, state, patient_id, number, form, "move", "checklist", act)
