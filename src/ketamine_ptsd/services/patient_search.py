"""Finding a patient in the clinic's list (issue 13, "what a clinic uses every day").

The list a role may read (:meth:`PatientService.list`: site scope, the clinician's clinic-mode
patients, the blind) searched by study id, and by name for a role that may read identities
(``identity.read``; a blinded rater or the pharmacy never matches on a name it may not see);
filtered by status and protocol; sorted; paged. The record's lists are clinic-sized (hundreds),
so the page is cut from the one query :meth:`PatientService.list` already makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.core.workflow import PatientState

from .access import Actor
from .errors import ValidationFailed
from .patient_views import PatientView
from .records import PatientIdentity

if TYPE_CHECKING:
    from .context import ServiceContext
    from .patients import PatientService

__all__ = ["SORTS", "PatientPage", "PatientQuery", "search_patients"]

#: How the list may be sorted (a leading "-" reverses it).
SORTS = ("study_id", "registered", "status", "protocol")
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class PatientQuery:
    text: str = ""
    status: str | None = None
    protocol: str | None = None
    sort: str = "study_id"
    page: int = 1
    per_page: int | None = 50  # None: every match on one page (the REST list without paging)


@dataclass(frozen=True)
class PatientPage:
    items: tuple[PatientView, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _check(query: PatientQuery) -> None:
    if query.sort.removeprefix("-") not in SORTS:
        raise ValidationFailed(
            "sort", f"one of {', '.join(SORTS)} (a leading - reverses)", query.sort
        )
    if query.status is not None and query.status not in {s.value for s in PatientState}:
        raise ValidationFailed(
            "status", f"one of {', '.join(s.value for s in PatientState)}", query.status
        )
    checks: list[tuple[str, object, int]] = [("page", query.page, 10**6)]
    if query.per_page is not None:
        checks.append(("per_page", query.per_page, MAX_PER_PAGE))
    for name, value, high in checks:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ValidationFailed(name, f"a whole number 1–{high}", value)
    if len(query.text) > 100:
        raise ValidationFailed("text", "at most 100 characters", query.text)


def _names(ctx: ServiceContext, actor: Actor, ids: list[int]) -> dict[int, str]:
    """``patient id → "given family"`` for the patients that have an identity."""
    if not ids:
        return {}
    with ctx.uow(actor, write=False) as uow:
        rows = uow.session.execute(
            select(
                PatientIdentity.patient_id, PatientIdentity.given_name, PatientIdentity.family_name
            ).where(PatientIdentity.patient_id.in_(ids))
        ).all()
    return {pid: f"{given} {family}" for pid, given, family in rows}


def search_patients(
    service: PatientService, ctx: ServiceContext, actor: Actor, query: PatientQuery
) -> PatientPage:
    _check(query)
    rows = [
        p
        for p in service.list(actor)
        if (query.status is None or p.status == query.status)
        and (query.protocol is None or p.protocol_name == query.protocol)
    ]
    needle = " ".join(query.text.split()).casefold()
    if needle:
        names = (
            _names(ctx, actor, [p.id for p in rows])
            if is_allowed(actor.role, Action.IDENTITY_READ)
            else {}
        )
        rows = [
            p
            for p in rows
            if needle in p.study_id.casefold() or needle in names.get(p.id, "").casefold()
        ]
    key = query.sort.removeprefix("-")
    order = {
        "study_id": lambda p: (p.study_id,),
        "registered": lambda p: (p.registered_at, p.study_id),
        "status": lambda p: (p.status, p.study_id),
        "protocol": lambda p: (p.protocol_name, p.study_id),
    }[key]
    rows.sort(key=order, reverse=query.sort.startswith("-"))  # type: ignore[arg-type]
    per_page = query.per_page or max(len(rows), 1)
    start = (query.page - 1) * per_page
    return PatientPage(tuple(rows[start : start + per_page]), len(rows), query.page, per_page)
