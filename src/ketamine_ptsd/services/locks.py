"""Locking the record before the blind is broken, and the audited unlock (issue 17).

An investigator locks the database with a reason and their password again (as for an electronic
signature). From then on :mod:`.lock_guard` refuses every write of patient data; the final
(unblinded) analysis runs only on a locked record and reports the lock's digest — the audit
chain's head when the lock was taken, which seals every change before it. Unlocking is the same
audited decision, with its own reason; the lock row keeps both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketamine_ptsd.core.conduct import SdvStatus, sdv_status
from ketamine_ptsd.core.roles import Action, is_allowed

from .access import Actor, require, require_patient
from .audit import read_head
from .auth import AuthService
from .context import ServiceContext
from .errors import ConflictError, NotFound, PermissionDenied, ValidationFailed
from .lock_guard import active_lock, locked_forms, locked_patients
from .patient_records import form_class
from .records import AuditEntry, DatabaseLock, DataQuery, Patient, SdvMark, User
from .uow import UnitOfWork

__all__ = ["LockService", "LockView"]

MIN_REASON = 10


@dataclass(frozen=True)
class LockView:
    """A lock, open (``unlocked_at`` None) or lifted."""

    id: int
    patient: str | None  # the study id of a patient lock; None for the database lock
    form: str | None  # "table record" of a form lock
    locked_at: dt.datetime
    locked_by: str
    reason: str
    digest: str
    unlocked_at: dt.datetime | None
    unlocked_by: str | None
    unlock_reason: str | None

    @property
    def open(self) -> bool:
        return self.unlocked_at is None

    def describe(self) -> str:
        """One line for a report or a terminal."""
        what = f"patient {self.patient} " if self.patient else ""
        if self.form:
            what = f"{what}form {self.form} "
        return (
            f"{what}locked {self.locked_at:%Y-%m-%d %H:%M} UTC by {self.locked_by} "
            f"({self.reason}); audit head {self.digest}"
        )


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise ValidationFailed("reason", f"state why (at least {MIN_REASON} characters)", reason)
    return text


class LockService:
    """``status`` (anyone signed in), ``lock`` and ``unlock`` (investigator, re-authenticated)."""

    def __init__(self, ctx: ServiceContext, auth: AuthService) -> None:
        self._ctx = ctx
        self._auth = auth

    def status(self, actor: Actor) -> LockView | None:
        """The lock in force, or None."""
        with self._ctx.uow(actor, write=False) as uow:
            lock = active_lock(uow.session)
            if lock is None:
                return None
            row = uow.session.get(DatabaseLock, lock.id)
            assert row is not None
            return self._view(uow.session, row)

    def history(self, actor: Actor) -> list[LockView]:
        """Every lock, newest first: for those who take locks (investigator, monitor) and those
        who read the audit trail. A member of sites sees the database's locks and their own
        sites' patients' and forms' locks only (issue 17)."""
        if not any(
            is_allowed(actor.role, a)
            for a in (Action.DATABASE_LOCK, Action.SDV_RECORD, Action.AUDIT_READ)
        ):
            raise PermissionDenied("lock.read", actor.role.value)
        with self._ctx.uow(actor, write=False) as uow:
            query = select(DatabaseLock).order_by(DatabaseLock.id.desc())  # type: ignore[attr-defined]
            if actor.sites is not None:
                query = query.where(
                    DatabaseLock.patient_id.is_(None)  # type: ignore[attr-defined]
                    | DatabaseLock.patient_id.in_(  # type: ignore[attr-defined]
                        select(Patient.id).where(Patient.site.in_(sorted(actor.sites)))  # type: ignore[attr-defined]
                    )
                )
            rows = uow.session.scalars(query).all()
            return [self._view(uow.session, r) for r in rows]

    def patient_lock(self, actor: Actor, patient_id: int) -> LockView | None:
        """The lock in force on the whole record of a patient the actor may read, or None."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            lock = locked_patients(uow.session).get(patient_id)
            if lock is None:
                return None
            row = uow.session.get(DatabaseLock, lock.id)
            assert row is not None
            return self._view(uow.session, row)

    def form_locks(self, actor: Actor, patient_id: int) -> dict[tuple[str, str], LockView]:
        """(table, record id) → the lock in force on that form of a patient the actor may
        read (the monitoring visit shows it beside each verified record)."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            rows = uow.session.scalars(
                select(DatabaseLock).where(
                    DatabaseLock.patient_id == patient_id,
                    DatabaseLock.table_name.is_not(None),  # type: ignore[union-attr]
                    DatabaseLock.unlocked_at.is_(None),  # type: ignore[union-attr]
                )
            ).all()
            return {(str(r.table_name), str(r.record_id)): self._view(uow.session, r) for r in rows}

    def lock(
        self, actor: Actor, *, reason: str, password: str, patient_id: int | None = None
    ) -> LockView:
        """Lock the record (every query closed), or one patient's record (``patient_id``: after
        the last visit, with every query on it closed); ConflictError when it is locked already
        or a query is still open or answered."""
        require(actor, Action.DATABASE_LOCK)
        text = _reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            self._auth.reauthenticate(uow, password)  # nothing of ours is pending yet
            if patient_id is None:
                if actor.sites is not None:
                    # One site's investigator cannot freeze every site's record (issue 17).
                    raise PermissionDenied("database.lock", "site investigator")
                if active_lock(uow.session) is not None:
                    raise ConflictError("database", None, "is locked already")
                pending_by_form = dict(
                    uow.session.execute(
                        select(DataQuery.table_name, func.count())
                        .where(DataQuery.state != "closed")
                        .group_by(DataQuery.table_name)
                        .order_by(DataQuery.table_name)
                    ).all()
                )
                if pending_by_form:
                    listed = ", ".join(f"{n} on {t}" for t, n in pending_by_form.items())
                    raise ConflictError(
                        "database",
                        None,
                        f"has {sum(pending_by_form.values())} query(ies) not closed ({listed}); "
                        "the database is locked only when every query is resolved (ICH E6(R3) "
                        "data lock; the /queries page lists them)",
                    )
            else:
                patient = uow.session.get(Patient, patient_id)
                if patient is None:
                    raise NotFound("patient", patient_id)
                require_patient(actor, Action.DATABASE_LOCK, patient)
                if patient_id in locked_patients(uow.session):
                    raise ConflictError("patient", patient.study_id, "is locked already")
                pending = uow.session.scalar(
                    select(func.count())
                    .select_from(DataQuery)
                    .where(DataQuery.patient_id == patient_id, DataQuery.state != "closed")
                )
                if pending:
                    raise ConflictError(
                        "patient",
                        patient.study_id,
                        f"has {pending} query(ies) not closed; a record is locked only when "
                        "every query on it is resolved",
                    )
            return self._take(uow, actor, text, patient_id)

    def unlock(
        self, actor: Actor, *, reason: str, password: str, patient_id: int | None = None
    ) -> LockView:
        """Lift the lock in force (of the record, or of one patient); ConflictError when
        there is none."""
        require(actor, Action.DATABASE_LOCK)
        text = _reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            self._auth.reauthenticate(uow, password)
            if patient_id is None:
                if actor.sites is not None:
                    raise PermissionDenied("database.unlock", "site investigator")
                lock = active_lock(uow.session)
                if lock is None:
                    raise ConflictError("database", None, "is not locked")
            else:
                patient = uow.session.get(Patient, patient_id)
                if patient is None:
                    raise NotFound("patient", patient_id)
                require_patient(actor, Action.DATABASE_LOCK, patient)
                lock = locked_patients(uow.session).get(patient_id)
                if lock is None:
                    raise ConflictError("patient", patient.study_id, "is not locked")
            return self._lift(uow, actor, text, lock.id)

    def lock_form(
        self,
        actor: Actor,
        patient_id: int,
        *,
        table_name: str,
        record_id: str,
        reason: str,
        password: str,
    ) -> LockView:
        """Lock one form of a patient once it is verified against source (monitor or
        investigator): from then on it cannot change until unlocked with a reason."""
        if not (
            is_allowed(actor.role, Action.SDV_RECORD)
            or is_allowed(actor.role, Action.DATABASE_LOCK)
        ):
            raise PermissionDenied("form.lock", actor.role.value)
        text = _reason(reason)
        form_class(table_name)  # a form of a patient's record, or ValidationFailed
        with self._ctx.uow(actor, write=True) as uow:
            self._auth.reauthenticate(uow, password)
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            if (table_name, record_id) in locked_forms(uow.session):
                raise ConflictError(table_name, record_id, "is locked already")
            mark = uow.session.scalar(
                select(func.max(SdvMark.audit_seq)).where(
                    SdvMark.patient_id == patient_id,
                    SdvMark.table_name == table_name,
                    SdvMark.record_id == record_id,
                )
            )
            changed = uow.session.scalar(
                select(func.max(AuditEntry.seq)).where(
                    AuditEntry.table_name == table_name, AuditEntry.record_id == record_id
                )
            )
            if sdv_status(mark, changed) is not SdvStatus.VERIFIED:
                raise ConflictError(
                    table_name,
                    record_id,
                    "is not verified against source as it stands; verify it before locking it",
                )
            return self._take(uow, actor, text, patient_id, table_name, record_id)

    def unlock_form(
        self,
        actor: Actor,
        *,
        table_name: str,
        record_id: str,
        reason: str,
        password: str,
        patient_id: int | None = None,
    ) -> LockView:
        """Lift a form lock (audited, with the reason). The form's patient must be one the
        actor may read (another site's is "not found"); with ``patient_id``, it must be that
        patient's form."""
        if not (
            is_allowed(actor.role, Action.SDV_RECORD)
            or is_allowed(actor.role, Action.DATABASE_LOCK)
        ):
            raise PermissionDenied("form.unlock", actor.role.value)
        text = _reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            self._auth.reauthenticate(uow, password)
            if patient_id is not None:
                asked = uow.session.get(Patient, patient_id)
                if asked is None:
                    raise NotFound("patient", patient_id)
                require_patient(actor, Action.PATIENT_READ, asked)
            lock = locked_forms(uow.session).get((table_name, record_id))
            row = None if lock is None else uow.session.get(DatabaseLock, lock.id)
            owner = None if row is None or row.patient_id is None else row.patient_id
            if owner is not None:
                patient = uow.session.get(Patient, owner)
                if patient is not None:
                    require_patient(actor, Action.PATIENT_READ, patient)
            if lock is None or (patient_id is not None and owner != patient_id):
                raise ConflictError(table_name, record_id, "is not locked")
            return self._lift(uow, actor, text, lock.id)

    def _take(
        self,
        uow: UnitOfWork,
        actor: Actor,
        text: str,
        patient_id: int | None,
        table_name: str | None = None,
        record_id: str | None = None,
    ) -> LockView:
        """Store a lock (of the record, a patient or a form) sealing the audit head now."""
        seq, head = read_head(uow.session)
        row = DatabaseLock(
            patient_id=patient_id,
            table_name=table_name,
            record_id=record_id,
            locked_at=uow.now,
            locked_by=actor.user_id,
            reason=text,
            digest=f"#{seq} {head}",
            unlocked_at=None,
            unlocked_by=None,
            unlock_reason=None,
            version=1,
        )
        uow.session.add(row)
        uow.flush()
        view = self._view(uow.session, row)
        uow.commit()
        return view

    def _lift(self, uow: UnitOfWork, actor: Actor, text: str, lock_id: int) -> LockView:
        """Lift lock ``lock_id``: the audited unlock with its reason."""
        row = uow.session.get(DatabaseLock, lock_id)
        assert row is not None
        uow.reason = text
        row.unlocked_at = uow.now
        row.unlocked_by = actor.user_id
        row.unlock_reason = text
        uow.flush()
        view = self._view(uow.session, row)
        uow.commit()
        return view

    @staticmethod
    def _view(session: Session, row: DatabaseLock) -> LockView:
        def name(user_id: int | None) -> str | None:
            if user_id is None:
                return None
            user = session.get(User, user_id)
            return user.username if user is not None else f"user {user_id}"

        patient = None if row.patient_id is None else session.get(Patient, row.patient_id)
        return LockView(
            id=row.id,
            patient=None if patient is None else patient.study_id,
            form=None if row.table_name is None else f"{row.table_name} {row.record_id}",
            locked_at=row.locked_at,
            locked_by=name(row.locked_by) or "",
            reason=row.reason,
            digest=row.digest,
            unlocked_at=row.unlocked_at,
            unlocked_by=name(row.unlocked_by),
            unlock_reason=row.unlock_reason,
        )
