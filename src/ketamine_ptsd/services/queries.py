"""Data queries: a question on one field of one record, answered by the site (issue 17).

The life of a query is :mod:`ketamine_ptsd.core.conduct.queries`; this module binds it to the
record. A query names a stored, audited field of a record that belongs to one patient, keeps the
value it was raised on (encoded as the audit trail encodes values), and is shown only as far as
the reader's role may see that field (a query cannot be raised on what the raiser may not see,
so it never carries the allocation to a blinded monitor). An answer "corrected" is accepted only
when the value has changed since the query was raised — the correction itself goes through the
usual audited edit, with its reason. Every step is an audited change of the query's row.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketamine_ptsd.core.conduct import QueryEvent, QueryRefused, QueryState, next_query_state
from ketamine_ptsd.core.roles import Action, Role, Sensitivity, can_see

from .access import Actor, require, require_patient
from .audit import REDACTED
from .audit.hooks import AuditedColumn, audited_columns, stored_value
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .patient_records import form_class, patient_of, patient_records, record_label
from .records import DataQuery, Patient, Record, User

__all__ = [
    "FormFieldView",
    "FormRecordView",
    "QueryCounts",
    "QueryService",
    "QueryView",
    "raise_rule_query",
]

MIN_TEXT = 5
#: Fields no query is raised on: the blind and secrets (PROTOCOL.md §3).
_NEVER = frozenset({Sensitivity.ALLOCATION.value, Sensitivity.SECRET.value})
#: A row's keys and its bookkeeping (who entered or voided it, when): not questions for the site.
_BOOKKEEPING = frozenset(
    {
        "id",
        "patient_id",
        "infusion_day_id",
        "version",
        "voided_at",
        "voided_by",
        "void_reason",
        "recorded_by",
        "recorded_at",
        "entered_by",
        "entered_at",
        "created_by",
        "created_at",
    }
)


@dataclass(frozen=True)
class QueryView:
    id: int
    patient_id: int
    study_id: str
    table_name: str
    record_id: str
    field: str
    value_raised: Any  # decoded, or REDACTED for a reader who may not see the field
    question: str
    origin: str
    state: str
    raised_by: str | None
    raised_at: dt.datetime
    answer: str | None
    corrected: bool | None
    answered_by: str | None
    answered_at: dt.datetime | None
    closed_by: str | None
    closed_at: dt.datetime | None
    reopen_count: int
    age_days: int
    version: int


@dataclass(frozen=True)
class QueryCounts:
    """Open (and answered, awaiting the raiser) queries by state, form and age."""

    by_state: dict[str, int]
    open_by_form: dict[str, int]
    open_by_age: dict[str, int]  # "0-7 days", "8-30 days", "over 30 days"


@dataclass(frozen=True)
class FormRecordView:
    """One record of a patient's forms a query may be raised on (the monitor's picker)."""

    table_name: str
    record_id: str
    label: str


@dataclass(frozen=True)
class FormFieldView:
    """One field of that record, with the value it holds now (decoded as the audit trail
    encodes it; a structured value stays a mapping or a list)."""

    field: str
    label: str
    value: Any


def _askable(actor: Actor, cls: type[Record]) -> list[AuditedColumn]:
    """The fields of ``cls`` a query may be raised on by ``actor``: audited, not bookkeeping,
    never the blind or a secret, and only what the actor's role may see (PROTOCOL.md §3)."""
    return [
        c
        for c in audited_columns(cls)
        if c.audited
        and c.key not in _BOOKKEEPING
        and c.sensitivity not in _NEVER
        and can_see(actor.role, c.sensitivity)
    ]


def _text(field: str, value: str) -> str:
    text = (value or "").strip()
    if len(text) < MIN_TEXT:
        raise ValidationFailed(field, f"write it out (at least {MIN_TEXT} characters)", value)
    return text


def raise_rule_query(
    session: Session,
    now: dt.datetime,
    *,
    patient_id: int,
    record: Record,
    table_name: str,
    field: str,
    question: str,
    rule: str,
) -> DataQuery:
    """An automatic query, raised by a protocol rule inside the writing unit of work (issue 17:
    "automatic queries from the protocol's own rules"); origin ``rule:<rule>``, no raiser."""
    column = next(c for c in audited_columns(type(record)) if c.key == field)
    row = DataQuery(
        patient_id=patient_id,
        table_name=table_name,
        record_id=str(record.id),
        field=field,
        value_raised=stored_value(getattr(record, field), column.sensitivity),
        sensitivity=column.sensitivity,
        question=question,
        origin=f"rule:{rule}",
        state=next_query_state(None, QueryEvent.RAISE).value,
        raised_by=None,
        raised_at=now,
        answer=None,
        corrected=None,
        answered_by=None,
        answered_at=None,
        closed_by=None,
        closed_at=None,
        reopen_count=0,
        version=1,
    )
    session.add(row)
    return row


class QueryService:
    """Raise, answer, close and re-open queries; list and count them."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    # --- reading ---------------------------------------------------------------------------

    def list(
        self,
        actor: Actor,
        *,
        state: str | None = None,
        patient_id: int | None = None,
        table_name: str | None = None,
        record_id: str | None = None,
    ) -> list[QueryView]:
        """Queries, oldest first, filtered; each as far as the actor's role may see it."""
        require(actor, Action.QUERY_READ)
        if state is not None and state not in {s.value for s in QueryState}:
            raise ValidationFailed("state", "is open, answered or closed", state)
        with self._ctx.uow(actor, write=False) as uow:
            query = select(DataQuery, Patient).join(Patient, Patient.id == DataQuery.patient_id)
            if state is not None:
                query = query.where(DataQuery.state == state)
            if patient_id is not None:
                query = query.where(DataQuery.patient_id == patient_id)
            if table_name is not None:
                query = query.where(DataQuery.table_name == table_name)
            if record_id is not None:
                query = query.where(DataQuery.record_id == record_id)
            rows = uow.session.execute(query.order_by(DataQuery.id)).all()
            views = []
            for row, patient in rows:
                if actor.role is Role.CLINICIAN and patient.blinded:
                    continue  # a clinician never sees a trial patient (services/access.py)
                if not actor.sees_site(patient.site):
                    continue  # another site's patient (issue 17)
                views.append(self._view(uow.session, actor, row, patient, uow.now))
            return views

    def get(self, actor: Actor, query_id: int) -> QueryView:
        require(actor, Action.QUERY_READ)
        with self._ctx.uow(actor, write=False) as uow:
            row, patient = self._load(uow.session, actor, query_id, Action.QUERY_READ)
            return self._view(uow.session, actor, row, patient, uow.now)

    def counts(self, actor: Actor) -> QueryCounts:
        views = self.list(actor)
        by_state = {s.value: 0 for s in QueryState}
        by_form: dict[str, int] = {}
        by_age = {"0-7 days": 0, "8-30 days": 0, "over 30 days": 0}
        for v in views:
            by_state[v.state] += 1
            if v.state != QueryState.OPEN.value:
                continue
            by_form[v.table_name] = by_form.get(v.table_name, 0) + 1
            bucket = (
                "0-7 days"
                if v.age_days <= 7
                else "8-30 days"
                if v.age_days <= 30
                else "over 30 days"
            )
            by_age[bucket] += 1
        return QueryCounts(by_state, dict(sorted(by_form.items())), by_age)

    # --- the monitor's picker ------------------------------------------------------------------

    def forms(self, actor: Actor, patient_id: int) -> list[FormRecordView]:
        """Every live record of the patient's forms that has a field the actor may raise a
        query on, by table then record: the first step of raising one without typing names."""
        require(actor, Action.QUERY_RAISE)
        with self._ctx.uow(actor, write=False) as uow:
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.QUERY_RAISE, patient)
            return [
                FormRecordView(table, str(row.id), record_label(table, row))  # type: ignore[attr-defined]
                for table, row in patient_records(uow.session, patient)
                if _askable(actor, type(row))
            ]

    def fields(
        self, actor: Actor, patient_id: int, *, table_name: str, record_id: str
    ) -> list[FormFieldView]:
        """The fields of one of the patient's records a query may be raised on, each with its
        value now (what the query would be raised on)."""
        require(actor, Action.QUERY_RAISE)
        cls = form_class(table_name)
        try:
            key = int(record_id)
        except (TypeError, ValueError):
            raise ValidationFailed("record_id", "a record number", record_id) from None
        with self._ctx.uow(actor, write=False) as uow:
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.QUERY_RAISE, patient)
            obj = uow.session.get(cls, key)
            if obj is None or patient_of(uow.session, obj) != patient.id:
                raise NotFound(f"{table_name} record of patient {patient.study_id}", record_id)
            views = []
            for c in _askable(actor, cls):
                stored = stored_value(getattr(obj, c.key), c.sensitivity)
                value = None if stored is None else json.loads(stored)
                views.append(FormFieldView(c.key, c.key.replace("_", " "), value))
            return views

    # --- the events ------------------------------------------------------------------------

    def raise_query(
        self,
        actor: Actor,
        *,
        patient_id: int,
        table_name: str,
        record_id: str,
        field: str,
        question: str,
        origin: str = "manual",
    ) -> QueryView:
        """Raise a query on ``table_name``/``record_id``/``field`` of one patient's record."""
        require(actor, Action.QUERY_RAISE)
        text = _text("question", question)
        cls = form_class(table_name)
        columns = {c.key: c for c in audited_columns(cls) if c.audited}
        column = columns.get(field)
        if column is None:
            raise ValidationFailed("field", f"not a recorded field of {table_name}", field)
        if column.sensitivity in _NEVER or not can_see(actor.role, column.sensitivity):
            raise ValidationFailed(
                "field", "a query cannot be raised on a field you may not see", field
            )
        try:
            key = int(record_id)
        except (TypeError, ValueError):
            raise ValidationFailed("record_id", "a record number", record_id) from None
        with self._ctx.uow(actor, write=True) as uow:
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.QUERY_RAISE, patient)
            obj = uow.session.get(cls, key)
            if obj is None or patient_of(uow.session, obj) != patient.id:
                raise NotFound(f"{table_name} record of patient {patient.study_id}", record_id)
            row = DataQuery(
                patient_id=patient.id,
                table_name=table_name,
                record_id=str(key),
                field=field,
                value_raised=stored_value(getattr(obj, field), column.sensitivity),
                sensitivity=column.sensitivity,
                question=text,
                origin=origin,
                state=next_query_state(None, QueryEvent.RAISE).value,
                raised_by=actor.user_id,
                raised_at=uow.now,
                answer=None,
                corrected=None,
                answered_by=None,
                answered_at=None,
                closed_by=None,
                closed_at=None,
                reopen_count=0,
                version=1,
            )
            uow.session.add(row)
            uow.flush()
            view = self._view(uow.session, actor, row, patient, uow.now)
            uow.commit()
            return view

    def answer(
        self, actor: Actor, query_id: int, *, answer: str, corrected: bool, expected_version: int
    ) -> QueryView:
        """The site's answer: the value was corrected (it must differ now), or an explanation."""
        require(actor, Action.QUERY_ANSWER)
        text = _text("answer", answer)
        with self._ctx.uow(actor, write=True) as uow:
            row, patient = self._load(uow.session, actor, query_id, Action.QUERY_ANSWER)
            if corrected and QueryState(row.state) is QueryState.OPEN:
                current = self._current_value(uow.session, row)
                if current == row.value_raised:
                    raise ValidationFailed(
                        "corrected",
                        f"{row.field} still holds the value the query was raised on; correct it "
                        "first (with its reason), or answer with an explanation",
                        corrected,
                    )
            self._step(row, QueryEvent.ANSWER, expected_version)
            uow.reason = f"query answered: {text}"
            row.answer = text
            row.corrected = bool(corrected)
            row.answered_by = actor.user_id
            row.answered_at = uow.now
            return self._save(uow, actor, row, patient)

    def close(self, actor: Actor, query_id: int, *, expected_version: int) -> QueryView:
        """The raiser is satisfied with the answer."""
        require(actor, Action.QUERY_RAISE)
        with self._ctx.uow(actor, write=True) as uow:
            row, patient = self._load(uow.session, actor, query_id, Action.QUERY_RAISE)
            self._step(row, QueryEvent.CLOSE, expected_version)
            uow.reason = "query closed: the answer is accepted"
            row.closed_by = actor.user_id
            row.closed_at = uow.now
            return self._save(uow, actor, row, patient)

    def reopen(
        self, actor: Actor, query_id: int, *, question: str, expected_version: int
    ) -> QueryView:
        """Not satisfied: open again with a further question (the earlier ones stay audited)."""
        require(actor, Action.QUERY_RAISE)
        text = _text("question", question)
        with self._ctx.uow(actor, write=True) as uow:
            row, patient = self._load(uow.session, actor, query_id, Action.QUERY_RAISE)
            self._step(row, QueryEvent.REOPEN, expected_version)
            uow.reason = f"query re-opened: {text}"
            row.question = text
            row.answer = None
            row.corrected = None
            row.answered_by = None
            row.answered_at = None
            row.closed_by = None
            row.closed_at = None
            row.reopen_count += 1
            return self._save(uow, actor, row, patient)

    # --- helpers -----------------------------------------------------------------------------

    def _load(
        self, session: Session, actor: Actor, query_id: int, action: Action
    ) -> tuple[DataQuery, Patient]:
        row = session.get(DataQuery, query_id)
        if row is None:
            raise NotFound("query", query_id)
        patient = session.get(Patient, row.patient_id)
        assert patient is not None
        require_patient(actor, action, patient)
        return row, patient

    @staticmethod
    def _step(row: DataQuery, event: QueryEvent, expected_version: int) -> None:
        if row.version != expected_version:
            raise ConflictError("query", row.id, "changed by someone else; reload and retry")
        try:
            row.state = next_query_state(QueryState(row.state), event).value
        except QueryRefused as exc:
            raise ConflictError("query", row.id, str(exc)) from None

    def _save(self, uow: Any, actor: Actor, row: DataQuery, patient: Patient) -> QueryView:
        uow.flush()
        view = self._view(uow.session, actor, row, patient, uow.now)
        uow.commit()
        return view

    @staticmethod
    def _current_value(session: Session, row: DataQuery) -> str | None:
        cls = form_class(row.table_name)
        obj = session.get(cls, int(row.record_id))
        return None if obj is None else stored_value(getattr(obj, row.field), row.sensitivity)

    @staticmethod
    def _view(
        session: Session, actor: Actor, row: DataQuery, patient: Patient, now: dt.datetime
    ) -> QueryView:
        def name(user_id: int | None) -> str | None:
            if user_id is None:
                return None
            user = session.get(User, user_id)
            return None if user is None else user.username

        visible = can_see(actor.role, row.sensitivity)
        value: Any = REDACTED
        if visible:
            value = None if row.value_raised is None else json.loads(row.value_raised)
        return QueryView(
            id=row.id,
            patient_id=patient.id,
            study_id=patient.study_id,
            table_name=row.table_name,
            record_id=row.record_id,
            field=row.field,
            value_raised=value,
            question=row.question,
            origin=row.origin,
            state=row.state,
            raised_by=name(row.raised_by),
            raised_at=row.raised_at,
            answer=row.answer,
            corrected=row.corrected,
            answered_by=name(row.answered_by),
            answered_at=row.answered_at,
            closed_by=name(row.closed_by),
            closed_at=row.closed_at,
            reopen_count=row.reopen_count,
            age_days=max(0, (now - row.raised_at).days),
            version=row.version,
        )
