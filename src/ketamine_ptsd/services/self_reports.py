"""The patient's self-report between visits, and the relapse watch (issue 13; PROTOCOL.md §5,
§7, §8).

* **The link.** A staff member issues a link for one patient (an audited action: who, when, until
  when). The token is 32 random bytes from :mod:`secrets`; only its SHA-256 is stored (a secret
  nobody is shown), so a copy of the database opens no patient's page. A link expires after the
  protocol's ``self_report.link_valid_hours``, is used once (the submission marks it used in the
  same transaction as the report), and a newer link revokes an older unused one. A wrong, used,
  revoked or expired token opens nothing: :class:`LinkUnusable` says which (the web adapter adds
  a per-client throttle on unknown tokens).
* **The report.** The patient's PCL-5 (past week) and C-SSRS screener are scored by the
  instruments (an item out of range or against the screener's skip logic is refused by name,
  nothing stored). The audit trail names the link as the actor (``self-report link N``, role
  ``patient_link``), like a staff entry names its user.
* **Alerts.** A C-SSRS at the protocol's review level raises the same suicide-risk alert and
  physician task as a staff-entered screener (services/alerts.py; it holds the next infusion
  until a physician has reviewed it); a PCL-5 rise of the protocol's meaningful change over the
  patient's previous PCL-5 raises a ``symptom_rise`` task; either shows the patient the
  protocol's crisis text (core/rules/self_report.py).
* **Relapse watch.** For a responder (or a patient in maintenance), a PCL-5 above the response's
  line (baseline × (1 − 30 %), from the patient's own PCL-5 at the response's baseline) raises a
  ``relapse_watch`` task proposing the protocol's maintenance or retreatment options; so does
  the loss-of-response rule itself (:func:`raise_relapse_task`, called by services/followup.py).
* **The blind.** Self-report is offered only by a protocol with a ``self_report`` plan (the RCT
  has none: issuing a link is refused); where a blinded protocol has one, its blinded raters read
  the reports only if the protocol allows it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ketamine_ptsd.core.instruments import get_instrument, score
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, Role
from ketamine_ptsd.core.rules import (
    RelapseWatch,
    TrajectoryPoint,
    evaluate_self_report,
    relapse_watch_dates,
    self_report_plan,
    trajectory,
)
from ketamine_ptsd.core.workflow import ENROLLED, TERMINAL, Event, PatientState

from ._workflow import core_call, require_open
from .access import Actor, require_patient
from .alerts import (
    SYMPTOM_RISE,
    raise_alert,
    raise_relapse_task,
    raise_suicide_risk_alert,
    relapse_proposals,
)
from .context import ServiceContext
from .errors import ConflictError, NotFound, PermissionDenied
from .followup import response_facts
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import Assessment, Patient, SelfReport, SelfReportLink
from .uow import UnitOfWork
from .workflow import state_of, transition

__all__ = [
    "LINK_AUDIT_ROLE",
    "IssuedLink",
    "LinkUnusable",
    "PatientPage",
    "SelfReportDue",
    "SelfReportService",
    "SelfReportStatus",
    "SelfReportView",
    "Submitted",
    "link_actor",
    "token_hash",
]

#: The audit trail's role for a patient's link (the actor is the link, not a user).
LINK_AUDIT_ROLE = "patient_link"
#: Roles kept blind to a blinded protocol's self-reports unless the protocol allows (§3).
_BLINDED_RATERS = frozenset({Role.OUTCOME_RATER, Role.SAFETY_RATER})
_TOKEN_BYTES = 32
#: Patients whose response is watched for relapse (§8).
_WATCHED = frozenset({PatientState.RESPONDER, PatientState.IN_MAINTENANCE})


def token_hash(token: str) -> str:
    """The stored form of a link's token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_actor(link_id: int) -> Actor:
    """The actor the audit trail names for what a patient does through link ``link_id``.

    Its role carries no rights the service relies on (the link is checked instead); the
    monitor's read-only role means any role check on its behalf refuses a write.
    """
    return Actor(
        user_id=None,
        username=f"self-report link {link_id}",
        role=Role.MONITOR,
        audit_role=LINK_AUDIT_ROLE,
    )


class LinkUnusable(ConflictError):
    """The link was used, replaced by a newer one, or expired (``why``)."""

    def __init__(self, why: str, message: str) -> None:
        self.why = why
        super().__init__("self-report link", None, message)


@dataclass(frozen=True)
class IssuedLink:
    """A new link: ``token`` is shown once (to give to the patient) and never stored."""

    link_id: int
    patient_id: int
    study_id: str
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class SelfReportView:
    id: int
    patient_id: int
    study_id: str
    reported_on: dt.date
    submitted_at: dt.datetime
    pcl5_total: int
    pcl5_subscales: dict[str, Any]
    pcl5_items: dict[str, Any]
    risk_level: str
    cssrs_items: dict[str, Any]
    previous_pcl5_total: int | None
    baseline_pcl5_total: int | None
    findings: tuple[str, ...]
    submitted_by: str  # the link, as the audit trail names it


@dataclass(frozen=True)
class PatientPage:
    """What the patient's page shows: their own questions and scores, no staff data."""

    expires_at: dt.datetime
    pcl5_items: tuple[tuple[str, str], ...]  # (key, short label)
    pcl5_anchors: tuple[tuple[int, str], ...]
    cssrs_items: tuple[tuple[str, str], ...]
    crisis_text: str
    points: tuple[TrajectoryPoint, ...]
    response_line: float | None


@dataclass(frozen=True)
class Submitted:
    """The answer to a submission: whether to show the crisis text, and the trajectory."""

    show_crisis_text: bool
    crisis_text: str
    pcl5_total: int
    points: tuple[TrajectoryPoint, ...]
    response_line: float | None
    relapse_flagged: bool


@dataclass(frozen=True)
class SelfReportDue:
    """A patient whose next self-report is due (or late) and who holds no usable link."""

    patient_id: int
    study_id: str
    next_due: dt.date
    last_reported_on: dt.date | None


@dataclass(frozen=True)
class SelfReportStatus:
    """The staff's view of a patient's self-report schedule and relapse watch."""

    interval_days: int
    last_reported_on: dt.date | None
    next_due: dt.date
    live_link_expires_at: dt.datetime | None
    points: tuple[TrajectoryPoint, ...]
    response_line: float | None
    watch: tuple[RelapseWatch, ...]
    proposals: tuple[str, ...]


def _view(r: SelfReport, study_id: str) -> SelfReportView:
    return SelfReportView(
        r.id,
        r.patient_id,
        study_id,
        r.reported_on,
        r.submitted_at,
        r.pcl5_total,
        dict(r.pcl5_subscales),
        dict(r.pcl5_items),
        r.risk_level,
        dict(r.cssrs_items),
        r.previous_pcl5_total,
        r.baseline_pcl5_total,
        tuple(r.findings),
        f"self-report link {r.link_id}",
    )


def _baseline_pcl5(uow: UnitOfWork, protocol: Protocol, patient: Patient) -> int | None:
    """The patient's PCL-5 at the response's baseline time point (§8), the latest recorded."""
    total = uow.session.scalars(
        select(Assessment.total)
        .where(
            Assessment.patient_id == patient.id,
            Assessment.instrument == "pcl5",
            Assessment.time_point == protocol.response.baseline_assessment,
            Assessment.voided_at.is_(None),
        )
        .order_by(Assessment.id.desc())
    ).first()
    return None if total is None else int(total)


def _pcl5_points(uow: UnitOfWork, patient: Patient) -> list[tuple[dt.date, int, str, int]]:
    """Every live PCL-5 total of the patient, staff-recorded and self-reported: (day, total,
    source, order) — the order breaks ties of one day (staff first, then by id)."""
    staff = [
        (a.assessed_on, int(a.total), a.time_point, a.id)
        for a in uow.session.scalars(
            select(Assessment).where(
                Assessment.patient_id == patient.id,
                Assessment.instrument == "pcl5",
                Assessment.voided_at.is_(None),
            )
        )
        if a.total is not None
    ]
    own = [
        (r.reported_on, r.pcl5_total, "self_report", 10**9 + r.id)
        for r in uow.session.scalars(select(SelfReport).where(SelfReport.patient_id == patient.id))
    ]
    return sorted(staff + own, key=lambda p: (p[0], p[3]))


def _trajectory(
    uow: UnitOfWork, protocol: Protocol, patient: Patient
) -> tuple[tuple[TrajectoryPoint, ...], float | None]:
    points = [(d, t, s) for d, t, s, _ in _pcl5_points(uow, patient)]
    return core_call(trajectory, protocol, points, _baseline_pcl5(uow, protocol, patient))


def _score(instrument: str, items: Mapping[str, Any]) -> Any:
    return core_call(score, instrument, items)


class SelfReportService:
    """Links, the patient's page and submission, and the staff's reads."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    # --- staff ---------------------------------------------------------------------------------

    def issue_link(self, actor: Actor, patient_id: int) -> IssuedLink:
        """Issue a single-use, expiring link for the patient (audited; an older unused link of
        the patient is revoked). Refused where the protocol offers no self-report."""
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.ASSESSMENT_RECORD, patient)
            require_open(patient)
            protocol = patient_protocol(self._ctx, uow, patient)
            plan = core_call(self_report_plan, protocol)
            transition(uow, patient, Event.RECORD_ASSESSMENT)  # enrolled, not withdrawn
            now = uow.now
            for old in uow.session.scalars(
                select(SelfReportLink).where(
                    SelfReportLink.patient_id == patient.id,
                    SelfReportLink.used_at.is_(None),
                    SelfReportLink.revoked_at.is_(None),
                )
            ):
                old.revoked_at = now
            token = secrets.token_urlsafe(_TOKEN_BYTES)
            expires = now + dt.timedelta(hours=plan.link_valid_hours)
            link = SelfReportLink(
                patient_id=patient.id,
                token_hash=token_hash(token),
                issued_by=actor.user_id,
                issued_at=now,
                expires_at=expires,
                used_at=None,
                revoked_at=None,
            )
            uow.reason = (
                f"self-report link issued, single use, until {expires:%Y-%m-%d %H:%M} UTC "
                "(issue 13)"
            )
            uow.session.add(link)
            uow.flush()
            issued = IssuedLink(link.id, patient.id, patient.study_id, token, expires)
            uow.commit()
            return issued

    def _readable(self, uow: UnitOfWork, actor: Actor, patient_id: int) -> tuple[Patient, Protocol]:
        patient = load_patient(uow, patient_id)
        require_patient(actor, Action.ASSESSMENT_READ, patient)
        protocol = patient_protocol(self._ctx, uow, patient)
        plan = protocol.self_report
        blind = patient.blinded and actor.role in _BLINDED_RATERS
        if blind and (plan is None or not plan.blinded_raters_may_read):
            raise PermissionDenied("self_report.read", actor.role.value, patient.study_id)
        return patient, protocol

    def list(self, actor: Actor, patient_id: int) -> list[SelfReportView]:
        """The patient's self-reports, newest first."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._readable(uow, actor, patient_id)
            rows = uow.session.scalars(
                select(SelfReport)
                .where(SelfReport.patient_id == patient.id)
                .order_by(SelfReport.id.desc())
            )
            return [_view(r, patient.study_id) for r in rows]

    def status(self, actor: Actor, patient_id: int) -> SelfReportStatus:
        """The schedule (last report, next due, a live link), the trajectory against the
        response's line, the relapse-watch dates and the options the relapse task proposes."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._readable(uow, actor, patient_id)
            plan = core_call(self_report_plan, protocol)
            last = uow.session.scalars(
                select(SelfReport.reported_on)
                .where(SelfReport.patient_id == patient.id)
                .order_by(SelfReport.id.desc())
            ).first()
            today = uow.now.date()
            next_due = today if last is None else last + dt.timedelta(days=plan.interval_days)
            live = uow.session.scalars(
                select(SelfReportLink.expires_at)
                .where(
                    SelfReportLink.patient_id == patient.id,
                    SelfReportLink.used_at.is_(None),
                    SelfReportLink.revoked_at.is_(None),
                    SelfReportLink.expires_at > uow.now,
                )
                .order_by(SelfReportLink.id.desc())
            ).first()
            points, line = _trajectory(uow, protocol, patient)
            watch: tuple[RelapseWatch, ...] = ()
            response, _ = response_facts(uow, protocol, patient)
            if response is not None and response.responder and protocol.durability is not None:
                watch = core_call(relapse_watch_dates, protocol, response.primary_day)
            return SelfReportStatus(
                plan.interval_days,
                last,
                next_due,
                live,
                points,
                line,
                watch,
                relapse_proposals(protocol),
            )

    def due(self, actor: Actor) -> list[SelfReportDue]:
        """The staff's list (the Today page): enrolled patients of a protocol with a self-report
        plan whose next report is due today or earlier and who hold no usable link (§5)."""
        with self._ctx.uow(actor, write=False) as uow:
            now = uow.now
            today = now.date()
            last = dict(
                uow.session.execute(
                    select(SelfReport.patient_id, func.max(SelfReport.reported_on)).group_by(
                        SelfReport.patient_id
                    )
                ).all()
            )
            live = set(
                uow.session.scalars(
                    select(SelfReportLink.patient_id).where(
                        SelfReportLink.used_at.is_(None),
                        SelfReportLink.revoked_at.is_(None),
                        SelfReportLink.expires_at > now,
                    )
                )
            )
            out = []
            patients = uow.session.scalars(
                select(Patient)
                .where(
                    Patient.mode == "clinic",
                    Patient.voided_at.is_(None),
                    # between visits: once the series has begun, not while awaiting it
                    Patient.status.in_([s.value for s in ENROLLED - {PatientState.ELIGIBLE}]),
                )
                .order_by(Patient.id)
            )
            for patient in patients:
                if patient.id in live or not actor.sees_site(patient.site):
                    continue
                try:
                    require_patient(actor, Action.ASSESSMENT_RECORD, patient)
                except (PermissionDenied, NotFound):
                    continue
                plan = patient_protocol(self._ctx, uow, patient).self_report
                if plan is None:
                    continue
                before = last.get(patient.id)
                next_due = (
                    today if before is None else before + dt.timedelta(days=plan.interval_days)
                )
                if next_due <= today:
                    out.append(SelfReportDue(patient.id, patient.study_id, next_due, before))
            return out

    # --- the patient, through the link ----------------------------------------------------------

    def _usable_link(self, uow: UnitOfWork, token: str, *, lock: bool) -> SelfReportLink:
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            raise NotFound("self-report link", None)
        query = select(SelfReportLink).where(SelfReportLink.token_hash == token_hash(token))
        if lock:
            query = query.with_for_update()
        link = uow.session.scalar(query)
        if link is None:
            raise NotFound("self-report link", None)
        if link.used_at is not None:
            raise LinkUnusable("used", "this link has been used; each link works once")
        if link.revoked_at is not None:
            raise LinkUnusable("revoked", "this link was replaced by a newer one")
        if uow.now >= link.expires_at:
            raise LinkUnusable("expired", "this link has expired")
        return link

    def link_patient(self, token: str) -> int:
        """The patient a usable link belongs to (NotFound, or LinkUnusable)."""
        with self._ctx.uow(Actor.system("self-report link"), write=False) as uow:
            return int(self._usable_link(uow, token, lock=False).patient_id)

    def open_link(self, token: str) -> PatientPage:
        """The patient's page for a usable link (a read: the link stays usable)."""
        with self._ctx.uow(Actor.system("self-report link"), write=False) as uow:
            link = self._usable_link(uow, token, lock=False)
            patient = load_patient(uow, link.patient_id)
            if patient.voided_at is not None or state_of(patient) in TERMINAL:
                raise LinkUnusable("closed", "this link is no longer in use")
            protocol = patient_protocol(self._ctx, uow, patient)
            plan = core_call(self_report_plan, protocol)
            points, line = _trajectory(uow, protocol, patient)
            pcl5, cssrs = get_instrument("pcl5"), get_instrument("cssrs")
            anchors = next(iter(pcl5.items)).anchors or {}
            return PatientPage(
                link.expires_at,
                tuple((i.key, i.label) for i in pcl5.items),
                tuple(sorted(anchors.items())),
                tuple((i.key, i.label) for i in cssrs.items),
                plan.crisis_text,
                points,
                line,
            )

    def submit(
        self,
        token: str,
        *,
        pcl5_items: Mapping[str, Any],
        cssrs_items: Mapping[str, Any],
    ) -> Submitted:
        """Store the patient's report through the link (once), raising its alerts and tasks."""
        pcl5 = _score("pcl5", pcl5_items)
        cssrs = _score("cssrs", cssrs_items)
        with self._ctx.uow(Actor.system("self-report link"), write=True) as uow:
            link = self._usable_link(uow, token, lock=True)
            uow.act_as(link_actor(link.id))
            patient = load_patient(uow, link.patient_id, lock=True)
            if patient.voided_at is not None or state_of(patient) in TERMINAL:
                raise LinkUnusable("closed", "this link is no longer in use")
            protocol = patient_protocol(self._ctx, uow, patient)
            plan = core_call(self_report_plan, protocol)
            points = _pcl5_points(uow, patient)
            previous = points[-1][1] if points else None
            baseline = _baseline_pcl5(uow, protocol, patient)
            today = uow.now.date()
            where = f"self-report on {today:%Y-%m-%d}"
            findings = core_call(
                evaluate_self_report,
                protocol,
                cssrs_derived=cssrs.derived,
                pcl5_total=int(pcl5.total),
                previous_pcl5_total=previous,
                baseline_pcl5_total=baseline,
                watching_response=state_of(patient) in _WATCHED,
                where=where,
            )
            messages = [*findings.alerts]
            if findings.relapse_alert is not None:
                messages.append(findings.relapse_alert)
            report = SelfReport(
                patient_id=patient.id,
                link_id=link.id,
                reported_on=today,
                submitted_at=uow.now,
                pcl5_items=dict(pcl5.items),
                pcl5_total=int(pcl5.total),
                pcl5_subscales=dict(pcl5.subscales),
                cssrs_items=dict(cssrs.items),
                cssrs_derived=dict(cssrs.derived),
                risk_level=findings.risk_level,
                previous_pcl5_total=previous,
                baseline_pcl5_total=baseline,
                findings=messages,
            )
            uow.session.add(report)
            link.used_at = uow.now
            uow.reason = "the patient's self-report, through a single-use link (issue 13)"
            uow.flush()
            raise_suicide_risk_alert(
                uow,
                protocol,
                patient,
                derived=cssrs.derived,
                where=where,
                source_table="self_reports",
                source_id=report.id,
                raised_by=None,
            )
            if findings.rise_alert is not None:
                raise_alert(
                    uow,
                    patient,
                    infusion_number=None,
                    kind=SYMPTOM_RISE,
                    source_table="self_reports",
                    source_id=report.id,
                    messages=[findings.rise_alert],
                    raised_by=None,
                )
            if findings.relapse_alert is not None:
                raise_relapse_task(
                    uow,
                    protocol,
                    patient,
                    message=findings.relapse_alert,
                    source_table="self_reports",
                    source_id=report.id,
                    raised_by=None,
                )
            uow.flush()
            traj, line = _trajectory(uow, protocol, patient)
            result = Submitted(
                findings.show_crisis_text,
                plan.crisis_text,
                int(pcl5.total),
                traj,
                line,
                findings.relapse_alert is not None,
            )
            uow.commit()
            return result
