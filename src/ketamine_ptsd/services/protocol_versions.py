"""The protocol versions the record uses, and the version each patient is bound to (issue 11).

A protocol file can change; a patient's care must not change under them without their consent.
So the record keeps every version of a protocol it has used — its content (the validated model
as canonical JSON) and digest — and binds each patient, at consent, to the version then in
force (``patients.protocol_version``):

* the first time a protocol is used, its file's version is stored (audited as its first use);
* an amendment is published by an administrator (:meth:`ProtocolVersionService.publish`,
  audited with the reason): the file's new version becomes the one new consents bind to; a
  changed file that kept its version number is refused (an amendment needs a new version);
* a patient keeps the version they consented under — every workflow service reads the patient's
  protocol through :func:`patient_protocol` — until they re-consent, which binds them to the
  version in force; :func:`reconsent_due` says when a re-consent is due.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from ketamine_ptsd.core.errors import DomainError
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action

from ._workflow import core_protocol
from .access import Actor, require
from .audit import AuditEvent, encode_value
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .records import Patient, ProtocolVersion
from .uow import UnitOfWork

__all__ = [
    "ProtocolVersionService",
    "ProtocolVersionView",
    "in_force",
    "patient_protocol",
    "reconsent_due",
]


@dataclass(frozen=True)
class ProtocolVersionView:
    name: str
    version: str
    digest: str
    published_at: dt.datetime
    reason: str


def _content(protocol: Protocol) -> tuple[str, str]:
    content = protocol.model_dump_json()
    return content, hashlib.sha256(content.encode()).hexdigest()


@functools.lru_cache(maxsize=32)
def _parsed(digest: str, content: str) -> Protocol:
    return Protocol.model_validate_json(content)


def _latest(uow: UnitOfWork, name: str) -> ProtocolVersion | None:
    return uow.session.scalars(
        select(ProtocolVersion)
        .where(ProtocolVersion.name == name)
        .order_by(ProtocolVersion.id.desc())
        .limit(1)
    ).first()


def _store(uow: UnitOfWork, protocol: Protocol, reason: str, event: str) -> ProtocolVersion:
    content, digest = _content(protocol)
    record = ProtocolVersion(
        name=protocol.name,
        protocol_version=protocol.version,
        digest=digest,
        content=content,
        published_at=uow.now,
        published_by=uow.actor.user_id,
        reason=reason,
    )
    uow.session.add(record)
    uow.flush()
    uow.events(
        [
            AuditEvent(
                event,
                "protocol_versions",
                str(record.id),
                "protocol_version",
                None,
                encode_value(f"{protocol.name} {protocol.version} sha256:{digest}"),
                reason,
            )
        ]
    )
    return record


def in_force(ctx: ServiceContext, uow: UnitOfWork, name: str) -> str:
    """The version new consents bind to: the latest the record holds, or — the first time the
    protocol is used — the file's version, stored now."""
    latest = _latest(uow, name)
    if latest is not None:
        return latest.protocol_version
    protocol = core_protocol(ctx, name)
    _store(uow, protocol, "first use of the protocol by the record", "protocol.first_use")
    return protocol.version


def patient_protocol(ctx: ServiceContext, uow: UnitOfWork, patient: Patient) -> Protocol:
    """The protocol version ``patient`` is bound to (the file's, until they have consented)."""
    current = core_protocol(ctx, patient.protocol_name)
    bound = patient.protocol_version
    if bound is None or bound == current.version:
        return current
    record = uow.session.scalar(
        select(ProtocolVersion).where(
            ProtocolVersion.name == patient.protocol_name,
            ProtocolVersion.protocol_version == bound,
        )
    )
    if record is None:
        raise ConflictError(
            "patient",
            patient.study_id,
            f"bound to protocol {patient.protocol_name} {bound}, which the record does not hold",
        )
    return _parsed(record.digest, record.content)


def reconsent_due(uow: UnitOfWork, patient: Patient) -> str | None:
    """The version in force when the patient consented under an older one, else None."""
    if patient.protocol_version is None:
        return None
    latest = _latest(uow, patient.protocol_name)
    if latest is None or latest.protocol_version == patient.protocol_version:
        return None
    return latest.protocol_version


class ProtocolVersionService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def publish(self, actor: Actor, name: str, *, reason: str) -> ProtocolVersionView:
        """Publish the protocol file's version as an amendment (administrator; audited)."""
        require(actor, Action.PROTOCOL_PUBLISH, name)
        if len(reason.strip()) < 10:
            raise ValidationFailed("reason", "say what the amendment changes and why", reason)
        try:
            protocol = core_protocol(self._ctx, name)
        except (DomainError, KeyError):
            raise NotFound("protocol", name) from None
        digest = _content(protocol)[1]
        with self._ctx.uow(actor, write=True) as uow:
            same = uow.session.scalar(
                select(ProtocolVersion).where(
                    ProtocolVersion.name == name,
                    ProtocolVersion.protocol_version == protocol.version,
                )
            )
            if same is not None:
                if same.digest == digest:
                    raise ConflictError(
                        "protocol", f"{name} {protocol.version}", "already the version in force"
                    )
                raise ValidationFailed(
                    "version",
                    f"the file of {name} changed but kept version {protocol.version}; an "
                    "amendment needs a new version",
                    protocol.version,
                )
            uow.reason = reason.strip()
            record = _store(uow, protocol, reason.strip(), "protocol.amendment")
            view = _view(record)
            uow.commit()
            return view

    def versions(self, actor: Actor, name: str) -> list[ProtocolVersionView]:
        """Every version of ``name`` the record holds, oldest first."""
        require(actor, Action.PATIENT_READ, name)
        with self._ctx.uow(actor, write=False) as uow:
            rows = uow.session.scalars(
                select(ProtocolVersion)
                .where(ProtocolVersion.name == name)
                .order_by(ProtocolVersion.id)
            ).all()
            if not rows:
                raise NotFound("protocol versions of", name)
            return [_view(r) for r in rows]


def _view(record: ProtocolVersion) -> ProtocolVersionView:
    return ProtocolVersionView(
        record.name, record.protocol_version, record.digest, record.published_at, record.reason
    )
