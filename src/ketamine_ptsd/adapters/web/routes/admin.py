"""User administration (``user.manage``): accounts, roles, activation, unlock, password reset.

Every change goes through ``UserService`` (audited, optimistic locking by version, a reason for
each edit). Passwords are never echoed back into a form.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action, Role
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed

from ..deps import CheckedForm, PageSession, Session, State, render, see_other
from ..params import DbId, form_int
from ..signin import account_key
from .patients import text

router = APIRouter()


def _require(session: PageSession) -> None:
    if not session.can(Action.USER_MANAGE):
        raise PermissionDenied(Action.USER_MANAGE.value, session.role.value)


def _page(request: Request, session: PageSession, state: State, **extra: object) -> Response:
    context: dict[str, object] = {
        "users": state.services.users.list(session.actor),
        "roles": [r.value for r in Role],
        "values": {},
        "error": None,
        "now": state.now(),
        "notice": request.query_params.get("notice"),
    }
    context.update(extra)
    return render(request, "users.html", context, status_code=422 if context["error"] else 200)


@router.get("/admin/users")
def users(request: Request, session: Session, state: State) -> Response:
    _require(session)
    return _page(request, session, state)


@router.post("/admin/users")
def add_user(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    _require(session)
    values = {k: text(form, k) for k in ("username", "full_name", "role")}
    try:
        state.services.users.add(
            session.actor,
            username=values["username"],
            role=values["role"],
            password=str(form.get("password") or ""),
            full_name=values["full_name"],
        )
    except (ValidationFailed, ConflictError) as exc:
        return _page(request, session, state, error=exc, values=values)
    return see_other("/admin/users?notice=user+added")


@router.post("/admin/users/{user_id}")
def edit_user(
    user_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    _require(session)
    change = text(form, "change")
    reason = text(form, "reason")
    try:
        version = form_int(text(form, "version"), "version", minimum=1)
        users_service = state.services.users
        if change == "deactivate":
            users_service.set_active(
                session.actor, user_id, False, expected_version=version, reason=reason
            )
        elif change == "activate":
            users_service.set_active(
                session.actor, user_id, True, expected_version=version, reason=reason
            )
        elif change == "unlock":
            view = users_service.unlock(
                session.actor, user_id, expected_version=version, reason=reason
            )
            state.account_throttle.forget_matching(account_key("", view.username))
        elif change == "password":
            users_service.set_password(
                session.actor,
                user_id,
                str(form.get("password") or ""),
                expected_version=version,
                reason=reason,
            )
        else:
            raise ValidationFailed("change", "deactivate, activate, unlock or password", change)
    except (ValidationFailed, ConflictError) as exc:
        return _page(request, session, state, error=exc)
    return see_other(f"/admin/users?notice={change}+done")
