"""The patient workflow as a typed state machine: states, events, guards, the blind's policy.

Pure: the services load the facts, call :func:`decide`, and persist the new state — they are the
only code that writes a status. See ``docs/workflow.md`` (generated from :mod:`.table`).
"""

from __future__ import annotations

from .facts import Refusal, WorkflowFacts
from .guesses import (
    DONT_KNOW,
    RECORDERS,
    GuessOption,
    GuessTally,
    Respondent,
    check_correction,
    check_guess,
    check_recorder,
    guess_options,
    respondents_recorded_by,
    tally_guesses,
)
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
    SERIES_OPEN,
    TERMINAL,
    Event,
    PatientState,
)
from .table import TRANSITIONS, Transition, pre_response_state
from .visibility import BLINDED_LABEL, Treatment, treatment_visibility

__all__ = [
    "BLINDED_LABEL",
    "DONT_KNOW",
    "ENROLLED",
    "MAINTENANCE",
    "PRE_RESPONSE",
    "RECORDERS",
    "RESPONSE_STATES",
    "SCREENING_OPEN",
    "SERIES_OPEN",
    "TERMINAL",
    "TRANSITIONS",
    "Decision",
    "Event",
    "GuessOption",
    "GuessTally",
    "PatientState",
    "Refusal",
    "Respondent",
    "Transition",
    "TransitionRefused",
    "Treatment",
    "WorkflowFacts",
    "allowed_events",
    "apply",
    "check_correction",
    "check_guess",
    "check_recorder",
    "decide",
    "guess_options",
    "pre_response_state",
    "respondents_recorded_by",
    "response_event",
    "tally_guesses",
    "treatment_visibility",
]
