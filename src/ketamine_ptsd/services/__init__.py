"""Services: the use cases of the record, one transaction each, permission-checked and audited.

Build once in an entry point::

    db = open_database(url)                                   # adapters/db
    services = Services(ServiceContext(db.session_factory, protocols=load_protocol))
    login = services.auth.login("alice", password)
    services.patients.register(login.actor, protocol_name="rct", site="YAL")
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .access import Actor
from .analysis import AnalysisService
from .audit import AuditService
from .auth import AuthService, UserService
from .clock import Clock, FixedClock, SystemClock
from .context import SecurityPolicy, ServiceContext
from .errors import (
    AccountLocked,
    AuthenticationFailed,
    ConflictError,
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationFailed,
)
from .patients import PatientService
from .randomization import RandomizationService
from .signatures import SignatureService

__all__ = [
    "AccountLocked",
    "Actor",
    "AnalysisService",
    "AuditService",
    "AuthService",
    "AuthenticationFailed",
    "Clock",
    "ConflictError",
    "FixedClock",
    "NotFound",
    "PatientService",
    "PermissionDenied",
    "RandomizationService",
    "SecurityPolicy",
    "ServiceContext",
    "ServiceError",
    "Services",
    "SignatureService",
    "SystemClock",
    "UserService",
    "ValidationFailed",
]


@dataclass
class Services:
    """Every service over one context."""

    context: ServiceContext
    auth: AuthService = field(init=False)
    users: UserService = field(init=False)
    patients: PatientService = field(init=False)
    randomization: RandomizationService = field(init=False)
    signatures: SignatureService = field(init=False)
    audit: AuditService = field(init=False)
    analysis: AnalysisService = field(init=False)

    def __post_init__(self) -> None:
        ctx = self.context
        self.auth = AuthService(ctx)
        self.users = UserService(ctx)
        self.patients = PatientService(ctx)
        self.randomization = RandomizationService(ctx)
        self.signatures = SignatureService(ctx, self.auth)
        self.audit = AuditService(ctx)
        self.analysis = AnalysisService(ctx)
