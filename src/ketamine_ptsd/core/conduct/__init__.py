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
from .sdv import CRITICAL_FORMS, SdvStatus, sdv_status

__all__ = [
    "CRITICAL_FORMS",
    "QUERY_TRANSITIONS",
    "QueryEvent",
    "QueryRefused",
    "QueryState",
    "QueryTransition",
    "SdvStatus",
    "next_query_state",
    "sdv_status",
]
