"""The REST API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``).

Token authentication for scripts: ``POST /api/v1/auth/login`` returns an API token (idle
timeout, revoked by logout or a new password); send it as ``Authorization: Bearer <token>``. The
browser's own session also works, as its cookie only (the page script's live scoring), with the
CSRF header on writes; it is refused as a bearer token. Every call goes through the same services
as the pages, so the same role checks and the same blind apply.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    alerts,
    assessments,
    audit,
    auth,
    blinding,
    bookings,
    esketamine,
    infusions,
    instruments,
    locks,
    maintenance,
    patients,
    pharmacy,
    protocols,
    queries,
    sdv,
    self_reports,
    users,
)

router = APIRouter()
for _module in (
    auth,
    patients,
    infusions,
    alerts,
    maintenance,
    assessments,
    blinding,
    instruments,
    users,
    protocols,
    queries,
    sdv,
    locks,
    audit,
    pharmacy,
    self_reports,
    esketamine,
    bookings,
):
    router.include_router(_module.router)
router.include_router(assessments.corrections)
router.include_router(infusions.adverse_events)
router.include_router(esketamine.forms)

__all__ = ["router"]
