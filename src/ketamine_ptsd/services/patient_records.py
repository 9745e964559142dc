"""The audited forms of a patient's record, by table name: what data queries and source-data
verification point at (issue 17)."""

from __future__ import annotations

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from .errors import ValidationFailed
from .records import InfusionDay, Patient, Record

__all__ = ["form_class", "patient_of"]


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
