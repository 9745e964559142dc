"""Trial conduct (issue 17): data queries, the protocol's edit checks that raise them, and
source-data verification, as pure rules over states and roles."""

from .edit_checks import (
    EditFinding,
    assessment_window_finding,
    missing_items_finding,
    vitals_findings,
)
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
    "EditFinding",
    "QueryEvent",
    "QueryRefused",
    "QueryState",
    "QueryTransition",
    "SdvStatus",
    "assessment_window_finding",
    "missing_items_finding",
    "next_query_state",
    "sdv_status",
    "vitals_findings",
]
