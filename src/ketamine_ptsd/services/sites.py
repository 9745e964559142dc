"""Sites as data, and who works at which (issue 17: "more than one site").

An administrator declares the trial's sites (code — the study ids' prefix —, name, time zone,
active dates) and makes users members of sites. A user with memberships sees only those sites'
patients, everywhere the services answer (:func:`~.access.require_patient` says "not found" for
any other; lists leave them out); a user without any — the central monitor, statistician and
pharmacy, and everyone in a one-site installation — sees every site. Once sites are declared, a
patient is registered only at a declared site that is active that day, and a site's user only at
their own sites.

A membership may carry a role at that site (REDCap's data access groups with a role each): an
investigator at one site may be a nurse at another. A user whose sites give different roles works
at one site at a time, with that site's role (services/auth.py: the session's site, switched in
the page header or at sign-in), so every check, list and redaction reads that one role. The
central roles (monitor, statistician, the central pharmacy) have no membership: they work across
sites with their account's role.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketamine_ptsd.core.roles import Action, Role

from .access import Actor, require
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .records import Site, User, UserSite

__all__ = ["SiteService", "SiteView", "check_registration_site"]


@dataclass(frozen=True)
class SiteView:
    code: str
    name: str
    time_zone: str
    active_from: dt.date | None
    active_to: dt.date | None
    members: tuple[str, ...]
    #: each member's role at this site (username → role; the account's own role when none)
    roles: dict[str, str] = field(default_factory=dict)


def _site_role(role: str | None) -> str | None:
    """A role a member may hold at a site (None: the account's own role)."""
    if role is None:
        return None
    try:
        parsed = Role(role)
    except ValueError:
        names = ", ".join(r.value for r in Role if r is not Role.ADMINISTRATOR)
        raise ValidationFailed("role", f"one of {names}", role) from None
    if parsed is Role.ADMINISTRATOR:
        raise ValidationFailed("role", "administration is not a site's role", role)
    return parsed.value


def check_registration_site(session: Session, actor: Actor, site: str, today: dt.date) -> None:
    """Refuse a registration at a site the actor does not belong to, or — once sites are
    declared — at an undeclared or inactive one (ValidationFailed naming ``site``)."""
    if not actor.sees_site(site):
        raise ValidationFailed("site", "you register patients at your own sites only", site)
    declared = session.scalars(select(Site)).all()
    if not declared:
        return
    match = next((s for s in declared if s.code == site), None)
    if match is None:
        codes = ", ".join(sorted(s.code for s in declared))
        raise ValidationFailed("site", f"not a site of this record ({codes})", site)
    if (match.active_from and today < match.active_from) or (
        match.active_to and today > match.active_to
    ):
        raise ValidationFailed("site", "the site is not active today", site)


class SiteService:
    """Declare sites and memberships (administrator); list them (anyone signed in)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def add(
        self,
        actor: Actor,
        *,
        code: str,
        name: str,
        time_zone: str,
        active_from: dt.date | None = None,
        active_to: dt.date | None = None,
    ) -> SiteView:
        require(actor, Action.USER_MANAGE)
        from .patients import SITE_PATTERN

        if not SITE_PATTERN.match(code):
            raise ValidationFailed("code", "2-8 upper-case letters or digits", code)
        if not name.strip():
            raise ValidationFailed("name", "give the site's name", name)
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(
                "time_zone", "an IANA time zone, e.g. America/New_York", time_zone
            ) from None
        if active_from and active_to and active_to < active_from:
            raise ValidationFailed("active_to", "is before active_from", active_to.isoformat())
        with self._ctx.uow(actor, write=True) as uow:
            if uow.session.scalar(select(Site).where(Site.code == code)) is not None:
                raise ConflictError("site", code, "exists already")
            site = Site(
                code=code,
                name=name.strip(),
                time_zone=time_zone,
                active_from=active_from,
                active_to=active_to,
                version=1,
            )
            uow.session.add(site)
            uow.flush()
            view = SiteView(code, site.name, time_zone, active_from, active_to, ())
            uow.commit()
            return view

    def add_member(
        self, actor: Actor, *, username: str, site: str, role: str | None = None
    ) -> SiteView:
        """Make ``username`` a member of ``site`` (as ``role`` there; None: their account's
        role): from now on they see its patients only (with their other sites')."""
        require(actor, Action.USER_MANAGE)
        role = _site_role(role)
        with self._ctx.uow(actor, write=True) as uow:
            row = uow.session.scalar(select(Site).where(Site.code == site))
            if row is None:
                raise NotFound("site", site)
            user = uow.session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound("user", username)
            exists = uow.session.scalar(
                select(UserSite).where(UserSite.user_id == user.id, UserSite.site == site)
            )
            if exists is not None:
                raise ConflictError("user", username, f"is a member of {site} already")
            uow.session.add(UserSite(user_id=user.id, site=site, added_at=uow.now, role=role))
            uow.flush()
            view = self._view(uow.session, row)
            uow.commit()
            return view

    def set_member_role(
        self, actor: Actor, *, username: str, site: str, role: str | None, reason: str
    ) -> SiteView:
        """Change ``username``'s role at ``site`` (None: their account's role); audited with
        the reason."""
        require(actor, Action.USER_MANAGE)
        role = _site_role(role)
        if not (reason or "").strip():
            raise ValidationFailed("reason", "say why the role changes", reason)
        with self._ctx.uow(actor, write=True) as uow:
            uow.reason = reason.strip()
            row = uow.session.scalar(select(Site).where(Site.code == site))
            if row is None:
                raise NotFound("site", site)
            membership = uow.session.scalar(
                select(UserSite)
                .join(User, User.id == UserSite.user_id)
                .where(User.username == username, UserSite.site == site)
            )
            if membership is None:
                raise NotFound(f"member of {site}", username)
            membership.role = role
            uow.flush()
            view = self._view(uow.session, row)
            uow.commit()
            return view

    def list(self, actor: Actor) -> list[SiteView]:
        with self._ctx.uow(actor, write=False) as uow:
            rows = uow.session.scalars(select(Site).order_by(Site.code)).all()
            return [self._view(uow.session, r) for r in rows if actor.sees_site(r.code)]

    @staticmethod
    def _view(session: Session, site: Site) -> SiteView:
        members = session.execute(
            select(User.username, User.role, UserSite.role)
            .join(UserSite, UserSite.user_id == User.id)
            .where(UserSite.site == site.code)
            .order_by(User.username)
        ).all()
        return SiteView(
            site.code,
            site.name,
            site.time_zone,
            site.active_from,
            site.active_to,
            tuple(name for name, _, _ in members),
            {name: here or account for name, account, here in members},
        )
