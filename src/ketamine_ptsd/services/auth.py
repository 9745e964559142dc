"""Users, passwords, sessions and login throttling.

* Passwords are hashed with Argon2id (argon2-cffi; RFC 9106), never stored or audited in clear,
  and must meet the policy of :mod:`.passwords` (NIST SP 800-63B).
* A session is an opaque random token given to the client once; only its SHA-256 is stored, so a
  copy of the database does not yield usable sessions. A session has a kind — ``browser`` (the
  web app's cookie) or ``api`` (a bearer token) — and is accepted only as that kind. It expires
  after ``session_ttl`` and closes after ``session_idle`` without use (the last use is stamped
  at most once a minute). Logout revokes the session; a new password or a deactivation revokes
  every session of the account.
* After ``max_failed_logins`` consecutive failures an account backs off exponentially
  (``backoff_base`` doubling to ``backoff_max``, clock injected): attempts during the back-off
  are refused without looking at the password. Every login, failed login and back-off is an
  audit event; an administrator can clear a back-off (``UserService.unlock``).
* The caller cannot tell an unknown username, a wrong password, an inactive account or a
  back-off apart: each raises the same AuthenticationFailed after the same one Argon2
  verification (the real hash or a dummy one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketamine_ptsd.core.roles import Action, Role

from .access import Actor, require
from .audit import AuditEvent, encode_value
from .context import ServiceContext
from .errors import AuthenticationFailed, ConflictError, NotFound, ValidationFailed
from .passwords import check_password
from .records import User, UserSession, UserSite
from .uow import UnitOfWork

__all__ = ["AuthService", "LoginResult", "SessionKind", "UserService", "UserView", "hash_token"]

#: How stale a session's "last used" stamp may get before a request writes a new one.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


class SessionKind(StrEnum):
    """How a session's token travels: the web app's cookie, or an API bearer token."""

    BROWSER = "browser"
    API = "api"


USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


def hash_token(token: str) -> str:
    """SHA-256 of a session token (tokens have 256 bits of entropy: no salt or stretching needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Anonymous:
    """Who a failed login is audited as when the username is unknown."""

    username: str
    user_id: None = None
    role: str = "anonymous"


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    full_name: str
    role: str
    active: bool
    locked_until: dt.datetime | None
    version: int


@dataclass(frozen=True)
class LoginResult:
    """The token (give it to the client once), its expiry, and the actor it stands for."""

    token: str
    expires_at: dt.datetime
    actor: Actor


def _view(user: User) -> UserView:
    return UserView(
        user.id,
        user.username,
        user.full_name,
        user.role,
        user.active,
        user.locked_until,
        user.version,
    )


def _actor(user: User, session: Session, site: str | None = None) -> Actor:
    """The actor a user is (issue 17: a role per site, like REDCap's data access groups).

    Without memberships: the account's role at every site (central roles). With memberships
    that all give one role: that role at those sites. With different roles at different sites:
    the role of one site, at that site only — ``site`` (the session's choice) when the user
    belongs to it, else the first by code — so every check, list and redaction of the services
    reads one role for the patients it can see."""
    account = Role(user.role)
    rows = session.execute(
        select(UserSite.site, UserSite.role)
        .where(UserSite.user_id == user.id)
        .order_by(UserSite.site)
    ).all()
    if not rows:
        return Actor(user_id=user.id, username=user.username, role=account)
    roles = tuple((code, Role(role) if role else account) for code, role in rows)
    if len({r for _, r in roles}) == 1:
        return Actor(
            user_id=user.id,
            username=user.username,
            role=roles[0][1],
            sites=frozenset(code for code, _ in roles),
            site_roles=roles,
        )
    at, role = next(((c, r) for c, r in roles if c == site), roles[0])
    return Actor(
        user_id=user.id,
        username=user.username,
        role=role,
        sites=frozenset({at}),
        site_roles=roles,
    )


class UserService:
    """Administration of user accounts (``Action.USER_MANAGE``)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def _check_password(self, password: str, username: str) -> None:
        check_password(
            password, username=username, min_length=self._ctx.security.min_password_length
        )

    def add(
        self, actor: Actor, *, username: str, role: str, password: str, full_name: str
    ) -> UserView:
        """Create an account; the username is unique, the role one of ``core.roles.Role``."""
        require(actor, Action.USER_MANAGE)
        if not USERNAME_PATTERN.match(username):
            raise ValidationFailed(
                "username", "2-64 characters: lower-case letters, digits, '.', '_', '-'", username
            )
        try:
            role_value = Role(role)
        except ValueError:
            raise ValidationFailed(
                "role", f"one of {', '.join(r.value for r in Role)}", role
            ) from None
        if not full_name.strip():
            raise ValidationFailed("full_name", "must not be blank", full_name)
        self._check_password(password, username)
        with self._ctx.uow(actor, write=True) as uow:
            if uow.session.scalar(select(User.id).where(User.username == username)) is not None:
                raise ConflictError("user", username, "username already taken")
            user = User(
                username=username,
                full_name=full_name.strip(),
                role=role_value.value,
                password_hash=self._ctx.password_hasher.hash(password),
                active=True,
                failed_logins=0,
                locked_until=None,
                created_at=uow.now,
            )
            uow.session.add(user)
            uow.flush()
            view = _view(user)
            uow.commit()
            return view

    def list(self, actor: Actor) -> list[UserView]:
        require(actor, Action.USER_MANAGE)
        with self._ctx.uow(actor, write=False) as uow:
            return [_view(u) for u in uow.session.scalars(select(User).order_by(User.username))]

    def _edit(
        self, actor: Actor, user_id: int, expected_version: int, reason: str, **values: Any
    ) -> UserView:
        require(actor, Action.USER_MANAGE)
        if not reason.strip():
            raise ValidationFailed("reason", "an edit needs a reason", reason)
        with self._ctx.uow(actor, write=True) as uow:
            user = uow.session.get(User, user_id)
            if user is None:
                raise NotFound("user", user_id)
            if user.version != expected_version:
                raise ConflictError(
                    "user", user.username, "changed by someone else; reload and retry"
                )
            uow.reason = reason
            for name, value in values.items():
                setattr(user, name, value)
            if "password_hash" in values or values.get("active") is False:
                revoke_sessions(uow, user.id)
            uow.flush()
            view = _view(user)
            uow.commit()
            return view

    def set_password(
        self, actor: Actor, user_id: int, password: str, *, expected_version: int, reason: str
    ) -> UserView:
        require(actor, Action.USER_MANAGE)
        with self._ctx.uow(actor, write=False) as uow:
            user = uow.session.get(User, user_id)
            if user is None:
                raise NotFound("user", user_id)
            username = user.username
        self._check_password(password, username)
        return self._edit(
            actor,
            user_id,
            expected_version,
            reason,
            password_hash=self._ctx.password_hasher.hash(password),
            failed_logins=0,
            locked_until=None,
        )

    def set_active(
        self, actor: Actor, user_id: int, active: bool, *, expected_version: int, reason: str
    ) -> UserView:
        """Activate or deactivate an account (deactivation revokes its sessions)."""
        return self._edit(actor, user_id, expected_version, reason, active=active)

    def unlock(self, actor: Actor, user_id: int, *, expected_version: int, reason: str) -> UserView:
        """Clear the account's failed-login count and back-off."""
        return self._edit(
            actor, user_id, expected_version, reason, failed_logins=0, locked_until=None
        )

    def unlock_by_username(self, actor: Actor, username: str, *, reason: str) -> UserView:
        """:meth:`unlock` for an operator who names the account (the CLI)."""
        require(actor, Action.USER_MANAGE)
        with self._ctx.uow(actor, write=False) as uow:
            user = uow.session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound("user", username)
            user_id, version = user.id, user.version
        return self.unlock(actor, user_id, expected_version=version, reason=reason)


def revoke_sessions(uow: UnitOfWork, user_id: int) -> None:
    """Revoke every live session of ``user_id`` inside ``uow`` (new password, deactivation)."""
    uow.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=uow.now)
    )


class AuthService:
    """Login, session lookup, logout and re-authentication (for signatures)."""

    _DUMMY_HASH: str | None = None

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def _dummy_verify(self, password: str) -> None:
        """As long as a real verification, for an answer that takes the same time."""
        if AuthService._DUMMY_HASH is None:
            AuthService._DUMMY_HASH = self._ctx.password_hasher.hash("not-a-real-password")
        with contextlib.suppress(VerificationError):
            self._ctx.password_hasher.verify(AuthService._DUMMY_HASH, password)

    def backoff(self, failed_logins: int) -> dt.timedelta | None:
        """The back-off after ``failed_logins`` consecutive failures (None: none yet)."""
        policy = self._ctx.security
        beyond = failed_logins - policy.max_failed_logins
        if beyond < 0:
            return None
        return min(policy.backoff_max, policy.backoff_base * 2 ** min(beyond, 30))

    def check_password(self, uow: UnitOfWork, user: User, password: str) -> bool:
        """Verify ``password``; count a failure and back off after too many.

        Runs inside the caller's write unit of work, which must commit even when this returns
        False (so that the failure is counted and audited). During a back-off the password is
        not checked (a dummy verification keeps the time the same) and the attempt not counted.
        """
        now = uow.now
        if user.locked_until is not None and user.locked_until > now:
            self._dummy_verify(password)
            uow.events([AuditEvent("login_failed", "users", str(user.id), reason="backing off")])
            return False
        try:
            ok = self._ctx.password_hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if ok and user.active:
            if user.failed_logins or user.locked_until is not None:
                self._set_throttle(uow, user, failed_logins=0, locked_until=None)
            if self._ctx.password_hasher.check_needs_rehash(user.password_hash):
                uow.reason = "password re-hashed with current parameters"
                user.password_hash = self._ctx.password_hasher.hash(password)
            return True
        failed = user.failed_logins + 1
        events = [
            AuditEvent(
                "login_failed",
                "users",
                str(user.id),
                reason="account inactive" if not user.active else "wrong password",
            )
        ]
        delay = self.backoff(failed)
        locked_until = None if delay is None else now + delay
        if locked_until is not None:
            events.append(
                AuditEvent(
                    "account_locked",
                    "users",
                    str(user.id),
                    "locked_until",
                    None,
                    encode_value(locked_until),
                    reason=f"back-off after {failed} failed logins",
                )
            )
        self._set_throttle(uow, user, failed_logins=failed, locked_until=locked_until)
        uow.events(events)
        return False

    @staticmethod
    def _set_throttle(
        uow: UnitOfWork, user: User, *, failed_logins: int, locked_until: dt.datetime | None
    ) -> None:
        """Bookkeeping of failed logins: a plain UPDATE, so the account's version (the optimistic
        lock an administrator's edit relies on) does not move on every failed login."""
        uow.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=failed_logins, locked_until=locked_until)
        )

    def login(
        self,
        username: str,
        password: str,
        *,
        kind: SessionKind = SessionKind.BROWSER,
        site: str | None = None,
    ) -> LoginResult:
        """Check the password and open a session of ``kind``, or raise AuthenticationFailed
        (the same for an unknown username, a wrong password, an inactive account, a back-off).
        ``site``: the site to work at, for a user with different roles at different sites
        (ignored for a site the user does not belong to: the first site is taken)."""
        with self._ctx.uow(Anonymous(username[:64]), write=True) as uow:  # type: ignore[arg-type]
            user = uow.session.scalar(select(User).where(User.username == username))
            if user is None:
                self._dummy_verify(password)
                uow.events([AuditEvent("login_failed", reason="unknown username")])
                uow.commit()
                raise AuthenticationFailed()
            actor = _actor(user, uow.session, site)
            uow.act_as(actor)
            if not self.check_password(uow, user, password):
                uow.commit()
                raise AuthenticationFailed()
            token = self._ctx.token_source()
            expires_at = uow.now + self._ctx.security.session_ttl
            uow.session.add(
                UserSession(
                    user_id=user.id,
                    token_hash=hash_token(token),
                    kind=SessionKind(kind).value,
                    created_at=uow.now,
                    last_used_at=uow.now,
                    expires_at=expires_at,
                    revoked_at=None,
                    site=site if site in {c for c, _ in actor.site_roles} else None,
                )
            )
            uow.events([AuditEvent("login", "users", str(user.id), reason=f"{kind} session")])
            uow.commit()
            return LoginResult(token, expires_at, actor)

    def authenticate(self, token: str, *, kind: SessionKind = SessionKind.BROWSER) -> Actor:
        """The actor behind a live session token of ``kind``; AuthenticationFailed otherwise.

        A session unused for ``session_idle`` is closed; a use stamps it (at most once a
        minute, so a burst of requests costs one write)."""
        idle = self._ctx.security.session_idle
        with self._ctx.uow(Anonymous("session"), write=False) as uow:  # type: ignore[arg-type]
            row = uow.session.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == hash_token(token))
            ).one_or_none()
            if row is None:
                raise AuthenticationFailed("session unknown or expired")
            session, user = row
            now = uow.now
            last_used = session.last_used_at or session.created_at
            actor, session_id = _actor(user, uow.session, session.site), session.id
            live = session.revoked_at is None and session.expires_at > now and user.active
            idled_out = live and last_used + idle <= now
            if session.kind != SessionKind(kind).value or not live:
                raise AuthenticationFailed("session unknown or expired")
            stale = now - last_used >= TOUCH_INTERVAL
        if idled_out or stale:
            with self._ctx.uow(actor, write=True) as uow:
                column = "revoked_at" if idled_out else "last_used_at"  # closed for good
                uow.session.execute(
                    update(UserSession)
                    .where(UserSession.id == session_id)
                    .values({column: uow.now})
                )
                uow.commit()
        if idled_out:
            raise AuthenticationFailed("session unknown or expired")
        return actor

    def switch_site(self, token: str, site: str) -> Actor:
        """Work at ``site`` from now on in this session (a user with a role per site: REDCap's
        data access group switcher); audited. NotFound for a site the user does not belong to."""
        with self._ctx.uow(Anonymous("session"), write=True) as uow:  # type: ignore[arg-type]
            row = uow.session.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == hash_token(token))
            ).one_or_none()
            if row is None or row[0].revoked_at is not None or row[0].expires_at <= uow.now:
                raise AuthenticationFailed("session unknown or expired")
            session, user = row
            actor = _actor(user, uow.session, site)
            if site not in {c for c, _ in actor.site_roles}:
                raise NotFound("site", site)
            uow.act_as(actor)
            uow.session.execute(
                update(UserSession).where(UserSession.id == session.id).values(site=site)
            )
            uow.events(
                [
                    AuditEvent(
                        "site_switched",
                        "users",
                        str(user.id),
                        reason=f"works at {site} as {actor.role.value}",
                    )
                ]
            )
            uow.commit()
            return actor

    def logout(self, token: str) -> None:
        """Revoke the session (idempotent; a closed or unknown session is left as it is)."""
        with self._ctx.uow(Anonymous("session"), write=True) as uow:  # type: ignore[arg-type]
            row = uow.session.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == hash_token(token))
            ).one_or_none()
            if row is None or row[0].revoked_at is not None:
                return
            session, user = row
            uow.act_as(_actor(user, uow.session))
            session.revoked_at = uow.now
            uow.events([AuditEvent("logout", "users", str(user.id))])
            uow.commit()

    def reauthenticate(self, uow: UnitOfWork, password: str) -> User:
        """Re-check the acting user's password inside ``uow`` (electronic signatures).

        On failure the attempt is counted and audited and AuthenticationFailed is raised after
        committing that record — the caller's other changes must not be pending.
        """
        actor = uow.actor
        user = uow.session.get(User, actor.user_id) if actor.user_id is not None else None
        if user is None:
            raise AuthenticationFailed("re-authentication needs a user account")
        if not self.check_password(uow, user, password):
            uow.commit()
            raise AuthenticationFailed("password not accepted; signature not applied")
        return user
