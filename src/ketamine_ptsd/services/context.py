"""What every service needs, built once in an entry point and passed down (STYLE.md §6).

Nothing here reads the environment or opens a database: the adapters build a
:class:`ServiceContext` (session factory from ``adapters/db``, the wall clock, the protocol
store's loader) and the tests build one with a fixed clock and cheap password hashing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from ketamine_ptsd.core.errors import DomainError

from .access import Actor
from .audit import AuditAnchor
from .clock import Clock, SystemClock
from .errors import ValidationFailed
from .uow import UnitOfWork

__all__ = ["ArmFacts", "ProtocolFacts", "SecurityPolicy", "ServiceContext"]


class ArmFacts(Protocol):
    """The part of a protocol arm the record needs (``core.protocol.Arm`` satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def drug(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def allocation_ratio(self) -> int: ...


class ProtocolFacts(Protocol):
    """The part of a protocol the record needs (``core.protocol.Protocol`` satisfies it)."""

    @property
    def name(self) -> str: ...
    @property
    def mode(self) -> str: ...  # "trial" | "clinic"
    @property
    def blinded(self) -> bool: ...
    @property
    def arms(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class SecurityPolicy:
    """Login and session rules (services/auth.py).

    A session lives at most ``session_ttl`` and closes after ``session_idle`` unused. After
    ``max_failed_logins`` consecutive failures an account's logins back off: the next attempt is
    refused for ``backoff_base``, doubling with each further failure up to ``backoff_max`` — short,
    so that a stranger who knows a username cannot lock its owner out for long.
    """

    session_ttl: dt.timedelta = dt.timedelta(hours=12)
    session_idle: dt.timedelta = dt.timedelta(minutes=30)
    max_failed_logins: int = 5
    backoff_base: dt.timedelta = dt.timedelta(seconds=2)
    backoff_max: dt.timedelta = dt.timedelta(minutes=1)
    min_password_length: int = 10


def _random_seed() -> int:
    return secrets.randbits(63)


@dataclass
class ServiceContext:
    """Dependencies of the services: sessions, clock, protocols, hashing, seeds, policy."""

    session_factory: Callable[..., Session]
    protocols: Callable[[str], ProtocolFacts]
    clock: Clock = field(default_factory=SystemClock)
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)
    security: SecurityPolicy = field(default_factory=SecurityPolicy)
    seed_source: Callable[[], int] = _random_seed
    token_source: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(32))
    #: The audit keys and checkpoint store kept outside the database (None: unkeyed chain).
    audit_anchor: AuditAnchor | None = None

    def uow(self, actor: Actor, *, write: bool) -> UnitOfWork:
        """A unit of work for one use case."""
        return UnitOfWork(
            self.session_factory, self.clock, actor, write=write, anchor=self.audit_anchor
        )

    def protocol(self, name: str) -> ProtocolFacts:
        """The protocol called ``name``, or ValidationFailed naming ``protocol_name``."""
        try:
            return self.protocols(name)
        except (KeyError, LookupError, FileNotFoundError, ValueError, DomainError) as exc:
            raise ValidationFailed("protocol_name", "unknown protocol", name) from exc
