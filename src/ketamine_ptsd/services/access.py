"""Who is acting, and the deny-by-default checks every service runs before it reads or writes.

The matrix itself is declared once in :mod:`ketamine_ptsd.core.roles`; this module applies it
to an actor and, for record-level rules, to a patient:

* a clinician works in clinic mode only (open label): a patient of a blinded protocol is refused;
* a user who belongs to sites sees only those sites' patients; another site's patient is "not
  found" (issue 17);
* whether an actor may see a patient's allocation (PROTOCOL.md §3) depends on stored facts — an
  emergency unblinding of that patient, or a statistician's sanctioned analysis — so it is
  decided here, with the session, by :func:`allocation_visibility`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketamine_ptsd.core.roles import Action, AnalysisUnblinding, Role, is_allowed
from ketamine_ptsd.core.workflow import Treatment, treatment_visibility

from .errors import NotFound, PermissionDenied
from .records import AnalysisSanction, Patient, Unblinding

__all__ = [
    "Actor",
    "allocation_visibility",
    "analysis_unblinding",
    "require",
    "require_patient",
    "treatment_of",
]


@dataclass(frozen=True)
class Actor:
    """The authenticated user on whose behalf a service acts."""

    user_id: int | None
    username: str
    role: Role
    #: The sites whose patients this user works with (issue 17, like REDCap's data access
    #: groups); None: every site (central roles, and every user of a one-site installation).
    sites: frozenset[str] | None = None
    #: What the audit trail names as the actor's role when it is not a user's (issue 13: a
    #: patient's self-report link, ``patient_link``); None: the role's value.
    audit_role: str | None = None
    #: Every site the user belongs to, with the role there (sorted by site): a user whose sites
    #: give different roles works at one of them at a time (``role`` and ``sites`` are that
    #: site's; services/auth.py), and may switch (``AuthService.switch_site``).
    site_roles: tuple[tuple[str, Role], ...] = ()

    def sees_site(self, site: str) -> bool:
        return self.sites is None or site in self.sites

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The operator at the command line (``users add``, ``db upgrade``): an administrator
        without a user row; its changes are audited under ``name``."""
        return cls(user_id=None, username=name, role=Role.ADMINISTRATOR)


def require(actor: Actor, action: Action, record: str | None = None) -> None:
    """Refuse unless the actor's role allows ``action`` (deny by default)."""
    if not is_allowed(actor.role, action):
        raise PermissionDenied(action.value, actor.role.value, record)


def require_patient(actor: Actor, action: Action, patient: Patient) -> None:
    """:func:`require`, plus the record-level rules for one patient."""
    if not actor.sees_site(patient.site):
        # Another site's patient does not exist for this user: not even a 403 (issue 17).
        raise NotFound("patient", patient.id)
    require(actor, action, patient.study_id)
    if actor.role is Role.CLINICIAN and patient.blinded:
        raise PermissionDenied(action.value, actor.role.value, patient.study_id)


def analysis_unblinding(session: Session, actor: Actor, now: dt.datetime) -> AnalysisUnblinding:
    """The strongest live sanction a statistician holds (PROTOCOL.md §3 interim: partial)."""
    if actor.role is not Role.STATISTICIAN or actor.user_id is None:
        return AnalysisUnblinding.NONE
    levels = session.scalars(
        select(AnalysisSanction.level).where(
            AnalysisSanction.statistician_user_id == actor.user_id,
            AnalysisSanction.revoked_at.is_(None),
            AnalysisSanction.granted_at <= now,
            AnalysisSanction.expires_at > now,
        )
    ).all()
    if AnalysisUnblinding.FULL.value in levels:
        return AnalysisUnblinding.FULL
    if AnalysisUnblinding.PARTIAL.value in levels:
        return AnalysisUnblinding.PARTIAL
    return AnalysisUnblinding.NONE


def treatment_of(session: Session, actor: Actor, patient: Patient) -> Treatment:
    """How ``actor`` reads the drug ``patient`` receives, by the one policy of the blind
    (:func:`ketamine_ptsd.core.workflow.treatment_visibility`, PROTOCOL.md §3), given an
    allocation: an open-label protocol hides nothing; in a blinded one the pharmacy sees it, an
    investigator after an emergency unblinding of this patient, nobody else. A statistician's
    sanction opens the analysis dataset (services/analysis.py), never the record's views."""
    unblinded = (
        actor.role is Role.INVESTIGATOR
        and patient.blinded
        and session.scalar(select(Unblinding.id).where(Unblinding.patient_id == patient.id))
        is not None
    )
    return treatment_visibility(
        actor.role, blinded=patient.blinded, allocated=True, emergency_unblinded=unblinded
    )


def allocation_visibility(session: Session, actor: Actor, patient: Patient) -> bool:
    """May ``actor`` see which drug ``patient`` receives? (:func:`treatment_of` names it.)"""
    return treatment_of(session, actor, patient) is Treatment.NAMED
