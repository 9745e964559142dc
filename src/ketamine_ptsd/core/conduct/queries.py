"""The life of a data query (data clarification), as EDCs and ICH E6(R3) know it.

A monitor or a statistician raises a query on one field of one record, with a question and the
value it was raised on: **open**. The site (investigator or nurse, or a clinician in the clinic)
answers it — by correcting the value through the usual audited edit, or by explaining it:
**answered**. Whoever may raise queries closes it when satisfied (**closed**), or re-opens it
with a further question (back to **open**); a closed query may be re-opened too. An answer is
refused on a closed query, a close on an open one: the table below is the whole of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..roles import Action

__all__ = [
    "QUERY_TRANSITIONS",
    "QueryEvent",
    "QueryRefused",
    "QueryState",
    "QueryTransition",
    "next_query_state",
]


class QueryState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class QueryEvent(StrEnum):
    RAISE = "raise"
    ANSWER = "answer"
    CLOSE = "close"
    REOPEN = "reopen"


@dataclass(frozen=True)
class QueryTransition:
    event: QueryEvent
    from_states: frozenset[QueryState | None]  # None: the query does not exist yet
    action: Action
    to: QueryState


QUERY_TRANSITIONS: dict[QueryEvent, QueryTransition] = {
    t.event: t
    for t in (
        QueryTransition(QueryEvent.RAISE, frozenset({None}), Action.QUERY_RAISE, QueryState.OPEN),
        QueryTransition(
            QueryEvent.ANSWER,
            frozenset({QueryState.OPEN}),
            Action.QUERY_ANSWER,
            QueryState.ANSWERED,
        ),
        QueryTransition(
            QueryEvent.CLOSE,
            frozenset({QueryState.ANSWERED}),
            Action.QUERY_RAISE,
            QueryState.CLOSED,
        ),
        QueryTransition(
            QueryEvent.REOPEN,
            frozenset({QueryState.ANSWERED, QueryState.CLOSED}),
            Action.QUERY_RAISE,
            QueryState.OPEN,
        ),
    )
}


class QueryRefused(ValueError):
    """The event does not apply to a query in this state (the message says which would)."""

    def __init__(self, event: QueryEvent, state: QueryState | None) -> None:
        self.event = event
        self.state = state
        allowed = sorted(s.value for s in QUERY_TRANSITIONS[event].from_states if s is not None)
        where = "a new query" if state is None else f"a query that is {state.value}"
        wanted = " or ".join(allowed) if allowed else "not yet raised"
        super().__init__(f"cannot {event.value} {where}; only a query that is {wanted}")


def next_query_state(state: QueryState | None, event: QueryEvent) -> QueryState:
    """The state after ``event``; :class:`QueryRefused` when it does not apply."""
    transition = QUERY_TRANSITIONS[event]
    if state not in transition.from_states:
        raise QueryRefused(event, state)
    return transition.to
