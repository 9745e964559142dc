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
from .analysis_runs import AnalysisRunService
from .assessments import AssessmentService
from .audit import AuditService
from .auth import AuthService, SessionKind, UserService
from .blinding_guesses import BlindingGuessService
from .bookings import BookingService
from .clinic import ClinicService
from .clock import Clock, FixedClock, SystemClock
from .context import SecurityPolicy, ServiceContext
from .datasets import DatasetService
from .edit_checks import EditCheckService
from .errors import (
    AccountLocked,
    AuthenticationFailed,
    ConflictError,
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationFailed,
)
from .esketamine import EsketamineService
from .exports import ExportService
from .followup import FollowUpService
from .infusions import InfusionHeld, InfusionService
from .locks import LockService, LockView
from .maintenance import MaintenanceService
from .meddra import MeddraService
from .patients import PatientService
from .protocol_versions import ProtocolVersionService
from .queries import QueryService
from .randomization import RandomizationService
from .retreatment import RetreatmentService
from .screening import ScreeningService
from .sdv import SdvService
from .self_reports import SelfReportService
from .signatures import SignatureService
from .sites import SiteService

__all__ = [
    "AccountLocked",
    "Actor",
    "AnalysisService",
    "AssessmentService",
    "AuditService",
    "AuthService",
    "AuthenticationFailed",
    "BlindingGuessService",
    "ClinicService",
    "Clock",
    "ConflictError",
    "DatasetService",
    "EditCheckService",
    "ExportService",
    "FixedClock",
    "FollowUpService",
    "InfusionHeld",
    "InfusionService",
    "LockService",
    "LockView",
    "MaintenanceService",
    "NotFound",
    "PatientService",
    "PermissionDenied",
    "QueryService",
    "RandomizationService",
    "ScreeningService",
    "SecurityPolicy",
    "ServiceContext",
    "ServiceError",
    "Services",
    "SessionKind",
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
    screening: ScreeningService = field(init=False)
    infusions: InfusionService = field(init=False)
    assessments: AssessmentService = field(init=False)
    blinding_guesses: BlindingGuessService = field(init=False)
    followup: FollowUpService = field(init=False)
    clinic: ClinicService = field(init=False)
    maintenance: MaintenanceService = field(init=False)
    esketamine: EsketamineService = field(init=False)
    datasets: DatasetService = field(init=False)
    exports: ExportService = field(init=False)
    analysis_runs: AnalysisRunService = field(init=False)
    protocol_versions: ProtocolVersionService = field(init=False)
    meddra: MeddraService = field(init=False)
    locks: LockService = field(init=False)
    queries: QueryService = field(init=False)
    edit_checks: EditCheckService = field(init=False)
    sdv: SdvService = field(init=False)
    sites: SiteService = field(init=False)
    bookings: BookingService = field(init=False)

    def __post_init__(self) -> None:
        ctx = self.context
        self.auth = AuthService(ctx)
        self.users = UserService(ctx)
        self.patients = PatientService(ctx)
        self.randomization = RandomizationService(ctx, self.auth)
        self.signatures = SignatureService(ctx, self.auth)
        self.audit = AuditService(ctx)
        self.analysis = AnalysisService(ctx)
        self.screening = ScreeningService(ctx, self.patients)
        self.infusions = InfusionService(ctx, self.randomization, self.auth)
        self.assessments = AssessmentService(ctx)
        self.blinding_guesses = BlindingGuessService(ctx)
        self.followup = FollowUpService(ctx)
        self.clinic = ClinicService(ctx, self.screening)
        self.maintenance = MaintenanceService(ctx)
        self.esketamine = EsketamineService(ctx, self.auth)
        self.datasets = DatasetService(ctx)
        self.exports = ExportService(ctx, self.datasets, self.audit)
        self.analysis_runs = AnalysisRunService(ctx, self.datasets)
        self.protocol_versions = ProtocolVersionService(ctx)
        self.meddra = MeddraService(ctx)
        self.locks = LockService(ctx, self.auth)
        self.queries = QueryService(ctx)
        self.edit_checks = EditCheckService(ctx)
        self.sdv = SdvService(ctx, self.audit)
        self.sites = SiteService(ctx)
        self.self_reports = SelfReportService(ctx)
        self.retreatment = RetreatmentService(ctx)
        self.bookings = BookingService(ctx)
