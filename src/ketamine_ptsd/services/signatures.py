"""Electronic signatures: name, time, meaning; re-authentication; void on a later edit.

The primitive the workflows use to sign an infusion record, an assessment or a discharge. The
signer re-enters the password (21 CFR 11.200(a)(1): a signature uses two components, here the
logged-in identity and the password); the signature binds the record's table, id and *version*;
any later edit of that record invalidates it in the same transaction (services/audit.py), so a
signed value can never silently change. Signing is an audit event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import inspect, select

from ketamine_ptsd.core.roles import Action

from .access import Actor, require, require_patient
from .audit import AuditEvent, encode_value
from .auth import AuthService
from .context import ServiceContext
from .errors import NotFound, ValidationFailed
from .records import Patient, Record, Signature
from .uow import UnitOfWork

__all__ = ["SignatureService", "SignatureView"]


@dataclass(frozen=True)
class SignatureView:
    id: int
    table_name: str
    record_id: str
    record_version: int
    signer_name: str
    meaning: str
    signed_at: dt.datetime
    valid: bool
    invalidated_reason: str | None


def _entity_for(table_name: str) -> type[Record]:
    for cls in Record.__subclasses__():
        mapper = inspect(cls, raiseerr=False)
        if (
            mapper is not None
            and mapper.local_table.name == table_name
            and getattr(cls, "__audited__", False)
        ):
            return cls
    raise ValidationFailed("table_name", "not a signable record", table_name)


class SignatureService:
    def __init__(self, ctx: ServiceContext, auth: AuthService) -> None:
        self._ctx = ctx
        self._auth = auth

    def _load(self, uow: UnitOfWork, actor: Actor, table_name: str, record_id: int) -> Record:
        cls = _entity_for(table_name)
        if cls is Signature:
            raise ValidationFailed("table_name", "a signature cannot be signed", table_name)
        record = uow.session.get(cls, record_id)
        if record is None:
            raise NotFound(table_name, record_id)
        patient_id = (
            record.id if isinstance(record, Patient) else getattr(record, "patient_id", None)
        )
        if patient_id is not None:
            patient = uow.session.get(Patient, patient_id)
            assert patient is not None
            require_patient(actor, Action.PATIENT_READ, patient)
        return record

    def sign(
        self, actor: Actor, *, password: str, table_name: str, record_id: int, meaning: str
    ) -> SignatureView:
        """Sign the current version of a record after re-checking the password."""
        require(actor, Action.SIGN)
        if not meaning.strip():
            raise ValidationFailed(
                "meaning", "say what the signature means (e.g. 'reviewed')", meaning
            )
        with self._ctx.uow(actor, write=True) as uow:
            record = self._load(uow, actor, table_name, record_id)
            version = int(getattr(record, "version", 0))
            user = self._auth.reauthenticate(uow, password)
            signature = Signature(
                table_name=table_name,
                record_id=str(record_id),
                record_version=version,
                signer_user_id=user.id,
                signer_name=user.full_name,
                meaning=meaning.strip(),
                signed_at=uow.now,
                invalidated_at=None,
                invalidated_reason=None,
            )
            uow.session.add(signature)
            uow.flush()
            uow.events(
                [
                    AuditEvent(
                        "sign",
                        table_name,
                        str(record_id),
                        None,
                        None,
                        encode_value({"meaning": meaning.strip(), "version": version}),
                    )
                ]
            )
            view = self._view(signature, version)
            uow.commit()
            return view

    @staticmethod
    def _view(signature: Signature, current_version: int | None) -> SignatureView:
        valid = signature.invalidated_at is None and signature.record_version == current_version
        return SignatureView(
            signature.id,
            signature.table_name,
            signature.record_id,
            signature.record_version,
            signature.signer_name,
            signature.meaning,
            signature.signed_at,
            valid,
            signature.invalidated_reason,
        )

    def signatures(self, actor: Actor, *, table_name: str, record_id: int) -> list[SignatureView]:
        """Signatures of a record, each marked valid only while the signed version is current."""
        with self._ctx.uow(actor, write=False) as uow:
            record = self._load(uow, actor, table_name, record_id)
            current = getattr(record, "version", None)
            rows = uow.session.scalars(
                select(Signature)
                .where(Signature.table_name == table_name, Signature.record_id == str(record_id))
                .order_by(Signature.id)
            )
            return [self._view(s, current) for s in rows]
