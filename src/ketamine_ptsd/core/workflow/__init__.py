"""The patient workflow as a typed state machine: states, events, guards, the blind's policy.

Pure: the services load the facts, call :func:`decide`, and persist the new state — they are the
only code that writes a status. See ``docs/workflow.md`` (generated from :mod:`.table`).
"""

from __future__ import annotations

from .facts import Refusal, WorkflowFacts
from .machine import (
    Decision,
    TransitionRefused,
    allowed_events,
    apply,
    decide,
    response_event,
)
from .states import (
    ENROLLED,
    MAINTENANCE,
    PRE_RESPONSE,
    RESPONSE_STATES,
    SCREENING_OPEN,
    TERMINAL,
    Event,
    PatientState,
)
from .table import TRANSITIONS, Transition, pre_response_state
from .visibility import BLINDED_LABEL, Treatment, treatment_visibility

__all__ = [
    "BLINDED_LABEL",
    "ENROLLED",
    "MAINTENANCE",
    "PRE_RESPONSE",
    "RESPONSE_STATES",
    "SCREENING_OPEN",
    "TERMINAL",
    "TRANSITIONS",
    "Decision",
    "Event",
    "PatientState",
    "Refusal",
    "Transition",
    "TransitionRefused",
    "Treatment",
    "WorkflowFacts",
    "allowed_events",
    "apply",
    "decide",
    "pre_response_state",
    "response_event",
    "treatment_visibility",
]
