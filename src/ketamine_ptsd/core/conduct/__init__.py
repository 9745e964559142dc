"""Trial conduct (issue 17): data queries — later source-data verification and locks — as pure
rules over states and roles."""

from .queries import (
    QUERY_TRANSITIONS,
    QueryEvent,
    QueryRefused,
    QueryState,
    QueryTransition,
    next_query_state,
)

__all__ = [
    "QUERY_TRANSITIONS",
    "QueryEvent",
    "QueryRefused",
    "QueryState",
    "QueryTransition",
    "next_query_state",
]
