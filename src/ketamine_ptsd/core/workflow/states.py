"""Where a patient stands, and what can happen to them: the workflow's two vocabularies.

The values are the strings the record stores in ``patients.status`` (the database refuses any
other: a CHECK constraint on PostgreSQL and triggers on SQLite, built from this enum), so a value
is never renamed; a new state needs a migration that widens the constraint.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ENROLLED",
    "MAINTENANCE",
    "PRE_RESPONSE",
    "RESPONSE_STATES",
    "SCREENING_OPEN",
    "SERIES_OPEN",
    "TERMINAL",
    "Event",
    "PatientState",
]


class PatientState(StrEnum):
    """A patient's place in the protocol, for both the trial and the clinical pathway."""

    REGISTERED = "registered"  # pseudonym issued; consent not yet given
    SCREENING = "screening"  # consented (§1, §2); the screening visit and its decision under way
    ELIGIBLE = "eligible"  # the rules (or an audited override) found the patient eligible (§1, §2)
    SCREEN_FAILED = "screen_failed"  # ineligible, with the criteria that failed (CONSORT)
    DECLINED = "declined"  # refused to take part, with the reason (CONSORT)
    RANDOMIZED = "randomized"  # allocated from the sealed list on the morning of infusion 1 (§3)
    IN_TREATMENT = "in_treatment"  # at least one infusion started (§5)
    COMPLETED_SERIES = "completed_series"  # the series' last infusion discharged; response due
    RESPONDER = "responder"  # ≥ the protocol's reduction at the primary time point (§8)
    NON_RESPONDER = "non_responder"
    LOST_RESPONSE = "lost_response"  # a follow-up visit below the response threshold (§8)
    IN_MAINTENANCE = "in_maintenance"  # periodic IV infusions after the series (§8, §11)
    WITHDRAWN = "withdrawn"  # by the patient or the team, with the reason (§10 CONSORT)


class Event(StrEnum):
    """What can happen to a patient; each is a row of :data:`~.table.TRANSITIONS`."""

    CONSENT = "consent"
    RENEW_CONSENT = "renew_consent"
    DECIDE_ELIGIBILITY = "decide_eligibility"
    OVERRIDE_ELIGIBILITY = "override_eligibility"
    SCREEN_FAIL = "screen_fail"
    DECLINE = "decline"
    EDIT_STRATUM = "edit_stratum"
    VOID_REGISTRATION = "void_registration"
    ALLOCATE = "allocate"
    START_INFUSION = "start_infusion"
    DISCHARGE = "discharge"
    COMPLETE_SERIES = "complete_series"
    RECORD_ASSESSMENT = "record_assessment"
    RECORD_PRIMARY_OUTCOME = "record_primary_outcome"
    LOSE_RESPONSE = "lose_response"
    REVISE_RESPONSE = "revise_response"
    START_MAINTENANCE = "start_maintenance"
    STOP_MAINTENANCE = "stop_maintenance"
    START_RETREATMENT = "start_retreatment"
    WITHDRAW = "withdraw"
    RECORD_BLINDING_GUESS = "record_blinding_guess"


#: Screening is still open: consent, screening visits and eligibility decisions are recorded.
SCREENING_OPEN = frozenset({PatientState.REGISTERED, PatientState.SCREENING, PatientState.ELIGIBLE})

#: States that end the patient's course in the record (no treatment, no outcomes).
TERMINAL = frozenset({PatientState.SCREEN_FAILED, PatientState.DECLINED, PatientState.WITHDRAWN})

#: Where the response at the primary time point is not yet known.
PRE_RESPONSE = frozenset(
    {
        PatientState.ELIGIBLE,
        PatientState.RANDOMIZED,
        PatientState.IN_TREATMENT,
        PatientState.COMPLETED_SERIES,
    }
)

#: Where an infusion of the acute series may start (§5): not after the series is complete.
SERIES_OPEN = PRE_RESPONSE - {PatientState.COMPLETED_SERIES}

#: Where the response at the primary time point decided the state (§8).
RESPONSE_STATES = frozenset(
    {PatientState.RESPONDER, PatientState.NON_RESPONDER, PatientState.LOST_RESPONSE}
)

#: Periodic IV infusions after the series, on the physician's schedule (§8, §11).
MAINTENANCE = frozenset({PatientState.IN_MAINTENANCE})

#: Enrolled and not withdrawn: treatment and outcome data may be recorded.
ENROLLED = PRE_RESPONSE | RESPONSE_STATES | MAINTENANCE
