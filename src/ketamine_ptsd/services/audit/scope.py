"""Which audit rows belong to which patients: the audit listing's site scope and its patient
filter (issue 17: "a member sees only their sites' patients", the audit trail included).

An audit row names a table and a record id, not a patient, so the patient is found through the
record: the ``patients`` row itself, a form with a ``patient_id`` (or an adverse event's coding,
through the event), and a signature through the record it signs. The rule is an allow-list, as
the lock guard's is: a row of a table that is not listed in :data:`OPEN_TABLES` and cannot be
traced to one of the reader's patients is left out, so a table added later is scoped by default,
and a row whose record is gone (nothing to trace it by) is hidden from a site's user rather than
shown to every site.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, Table, and_, cast, false, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.sql.elements import ColumnElement

from ..records import AuditEntry, Patient, Record

__all__ = ["OPEN_TABLES", "of_patients", "visible_to_sites"]

#: Tables whose audit rows name no patient: accounts, sites, protocol versions, the sealed list's
#: header (never its slots), analysis sanctions, data freezes, the MedDRA release.
OPEN_TABLES = frozenset(
    {
        "users",
        "sites",
        "user_sites",
        "protocol_versions",
        "randomization_lists",
        "analysis_sanctions",
        "data_freezes",
        "meddra_terms",
    }
)


def _tables() -> dict[str, Table]:
    """Every audited table of a mapped record class, by name."""
    found: dict[str, Table] = {}
    pending = list(Record.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        mapper = sa_inspect(cls, raiseerr=False)
        if mapper is not None and getattr(cls, "__audited__", False):
            table = mapper.local_table
            if isinstance(table, Table):
                found[table.name] = table
    return found


def _owned(tables: dict[str, Table], patient_ids: Any) -> dict[str, Any]:
    """Table name → a SELECT of the ids (as text, as the audit stores them) of its records that
    belong to ``patient_ids`` (a SELECT of patient ids)."""
    owned: dict[str, Any] = {}
    for name, table in tables.items():
        if name == "patients":
            owned[name] = select(cast(table.c.id, String)).where(table.c.id.in_(patient_ids))
        elif "patient_id" in table.c:
            owned[name] = select(cast(table.c.id, String)).where(
                table.c.patient_id.in_(patient_ids)
            )
    events = tables.get("adverse_events")
    codings = tables.get("adverse_event_codings")
    if events is not None and codings is not None:
        owned[codings.name] = select(cast(codings.c.id, String)).where(
            codings.c.adverse_event_id.in_(
                select(events.c.id).where(events.c.patient_id.in_(patient_ids))
            )
        )
    signatures = tables.get("signatures")
    if signatures is not None:
        signed = [
            and_(signatures.c.table_name == name, signatures.c.record_id.in_(ids))
            for name, ids in owned.items()
        ]
        owned[signatures.name] = select(cast(signatures.c.id, String)).where(or_(false(), *signed))
    return owned


def of_patients(patient_ids: Any) -> ColumnElement[bool]:
    """Audit rows of the records of ``patient_ids`` (a SELECT of patient ids)."""
    owned = _owned(_tables(), patient_ids)
    return or_(
        false(),
        *(
            and_(AuditEntry.table_name == name, AuditEntry.record_id.in_(ids))  # type: ignore[attr-defined]
            for name, ids in owned.items()
        ),
    )


def visible_to_sites(sites: frozenset[str]) -> ColumnElement[bool]:
    """Audit rows a member of ``sites`` may see: rows naming no patient, and the rows of their
    sites' patients. The database lock (no patient) is everyone's; a patient's or a form's lock
    belongs to its patient."""
    tables = _tables()
    locks = tables.get("database_locks")
    mine = select(Patient.id).where(Patient.site.in_(sorted(sites)))  # type: ignore[attr-defined]
    clauses: list[ColumnElement[bool]] = [
        AuditEntry.table_name.is_(None),  # type: ignore[attr-defined]
        AuditEntry.table_name.in_(sorted(OPEN_TABLES)),  # type: ignore[attr-defined]
        of_patients(mine),
    ]
    if locks is not None:
        clauses.append(
            and_(
                AuditEntry.table_name == locks.name,
                AuditEntry.record_id.in_(  # type: ignore[attr-defined]
                    select(cast(locks.c.id, String)).where(locks.c.patient_id.is_(None))
                ),
            )
        )
    return or_(*clauses)
