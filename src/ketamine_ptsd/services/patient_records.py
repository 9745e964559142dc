"""The audited forms of a patient's record, by table name: what data queries and source-data
verification point at (issue 17), and the records of one patient's forms, for a monitor's picker
(:meth:`~.queries.QueryService.forms`)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ValidationFailed
from .records import InfusionDay, Patient, Record

__all__ = ["form_class", "form_classes", "patient_of", "patient_records", "record_label"]

#: What a record's label names, in order, when the record has it (e.g. "vital signs 12 ·
#: infusion 1 · minute 5", "assessments 3 · caps5_past_week · baseline").
_LABEL_PARTS = (
    ("infusion_number", "infusion {}"),
    ("minute", "minute {}"),
    ("instrument", "{}"),
    ("time_point", "{}"),
    ("term", "{}"),
    ("visit_date", "{}"),
)


def form_classes() -> Iterator[tuple[str, type[Record]]]:
    """(table name, class) of every audited form of a patient's record, in table-name order."""
    found: dict[str, type[Record]] = {}
    pending = list(Record.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        mapper = sa_inspect(cls, raiseerr=False)
        if mapper is None or not getattr(cls, "__audited__", False):
            continue
        columns = mapper.local_table.c
        if cls is Patient or "patient_id" in columns or "infusion_day_id" in columns:
            found[mapper.local_table.name] = cls
    yield from sorted(found.items())


def record_label(table_name: str, obj: Record) -> str:
    """How a page names one record of a form: its table, number and what tells it apart."""
    parts = [f"{table_name.replace('_', ' ')} {obj.id}"]
    for attr, shown in _LABEL_PARTS:
        value = getattr(obj, attr, None)
        if value is not None:
            parts.append(shown.format(value))
    return " · ".join(parts)


def patient_records(session: Session, patient: Patient) -> list[tuple[str, Record]]:
    """(table name, record) of every live (not voided) record of the patient's forms."""
    days = [
        d.id
        for d in session.scalars(select(InfusionDay).where(InfusionDay.patient_id == patient.id))
    ]
    found: list[tuple[str, Record]] = []
    for table_name, cls in form_classes():
        if cls is Patient:
            rows: list[Record] = [patient]
        else:
            columns = sa_inspect(cls).local_table.c
            owner = getattr(cls, "patient_id" if "patient_id" in columns else "infusion_day_id")
            key = owner == patient.id if "patient_id" in columns else owner.in_(days)
            rows = list(session.scalars(select(cls).where(key).order_by(cls.id)))  # type: ignore[attr-defined]
        found.extend((table_name, r) for r in rows if getattr(r, "voided_at", None) is None)
    return found


def form_class(table_name: str) -> type[Record]:
    """The audited record class of a patient's form stored in ``table_name``; ValidationFailed
    naming ``table_name`` for any other table (accounts, the audit trail, the list)."""
    pending = list(Record.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        mapper = sa_inspect(cls, raiseerr=False)
        if mapper is None or not getattr(cls, "__audited__", False):
            continue
        if mapper.local_table.name == table_name:
            columns = mapper.local_table.c
            if cls is Patient or "patient_id" in columns or "infusion_day_id" in columns:
                return cls
            break
    raise ValidationFailed(
        "table_name", "not a form of a patient's record that queries apply to", table_name
    )


def patient_of(session: Session, obj: Record) -> int | None:
    """The patient a record belongs to (directly, or through its infusion day)."""
    if isinstance(obj, Patient):
        return obj.id
    patient_id = getattr(obj, "patient_id", None)
    if patient_id is not None:
        return int(patient_id)
    day_id = getattr(obj, "infusion_day_id", None)
    if day_id is not None:
        day = session.get(InfusionDay, day_id)
        return None if day is None else day.patient_id
    return None
