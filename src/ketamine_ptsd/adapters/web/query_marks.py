"""Queries shown where the value is shown (issue 17).

A page that shows a patient's recorded values (the infusion day's vitals and the day itself, the
screening visit) asks :func:`query_marks` for the patient's open and answered queries once, and
its cells and sections ask :meth:`QueryMarks.on` (one field of one record) or
:meth:`QueryMarks.of` (the queries on some records) what to mark. The queries come from
:meth:`~ketamine_ptsd.services.queries.QueryService.list`, so a query shows only to a role that may
read queries, and its value only as far as the reader's role may see that field (a query is never
raised on the blind: services/queries.py). The site's roles get a link to answer it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import Services
from ketamine_ptsd.services.queries import QueryView

from .deps import PageSession

__all__ = ["QueryMarks", "query_marks"]

#: The states a page marks: the query still waits for the site (open) or for its raiser.
_MARKED = ("open", "answered")


@dataclass(frozen=True)
class QueryMarks:
    """The open and answered queries on a patient's record, by (table, record id, field)."""

    by_field: dict[tuple[str, str, str], list[QueryView]] = field(default_factory=dict)
    can_answer: bool = False

    def on(self, table_name: str, record_id: object, field_name: str) -> list[QueryView]:
        """The queries on one field of one record (a table cell, a form box)."""
        return self.by_field.get((table_name, str(record_id), field_name), [])

    def of(self, table_name: str, record_ids: Iterable[object] | None = None) -> list[QueryView]:
        """The queries on records of ``table_name`` (only ``record_ids`` when given), oldest
        first."""
        wanted = None if record_ids is None else {str(r) for r in record_ids}
        found = [
            q
            for (table, record, _), queries in self.by_field.items()
            if table == table_name and (wanted is None or record in wanted)
            for q in queries
        ]
        return sorted(found, key=lambda q: q.id)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def query_marks(services: Services, session: PageSession, patient_id: int) -> QueryMarks:
    """The marks for one patient's pages; none for a role that may not read queries."""
    if not session.can(Action.QUERY_READ):
        return QueryMarks()
    by_field: dict[tuple[str, str, str], list[QueryView]] = {}
    for q in services.queries.list(session.actor, patient_id=patient_id):
        if q.state in _MARKED:
            by_field.setdefault((q.table_name, q.record_id, q.field), []).append(q)
    return QueryMarks(by_field, session.can(Action.QUERY_ANSWER))
