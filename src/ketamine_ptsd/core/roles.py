"""Roles, actions and the blind: the permission matrix, declared once.

Everything the service layer allows is listed here; anything not listed is refused (deny by
default). The blind of PROTOCOL.md §3 is expressed twice, on purpose:

* per action — a role that must not learn the allocation has no action that reads it;
* per field — every stored value carries a :class:`Sensitivity`, and :func:`can_see` decides
  whether a role may see a value of that sensitivity (used for audit views, exports and any
  record that mixes blind-breaking and ordinary fields, such as an infusion dose in mg, which
  reveals the drug through PROTOCOL.md §4's different mg/kg doses).

PROTOCOL.md §3: allocation known only to the pharmacy; patients and all study staff blinded;
outcome raters are blind to the allocation *and* to the infusion-day ratings; the interim
analysis was partially unblinded ("drug A / drug B") and run by an independent statistician.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = [
    "PERMISSIONS",
    "Action",
    "AnalysisUnblinding",
    "Role",
    "Sensitivity",
    "allowed_actions",
    "can_see",
    "is_allowed",
    "is_read_only_action",
]


class Role(StrEnum):
    """The people who use the record (PROTOCOL.md §3 for the rater groups and the pharmacy)."""

    ADMINISTRATOR = "administrator"
    INVESTIGATOR = "investigator"  # study physician
    NURSE = "nurse"
    SAFETY_RATER = "safety_rater"  # infusion-day ratings during and after infusions
    OUTCOME_RATER = "outcome_rater"  # CAPS-5, MADRS; blind to allocation and infusion-day ratings
    PHARMACIST = "pharmacist"  # makes the list, knows the allocation
    STATISTICIAN = "statistician"  # blinded unless a sanctioned interim/final analysis
    MONITOR = "monitor"  # read-only source-data verification
    CLINICIAN = "clinician"  # clinic mode, open label


class Action(StrEnum):
    """Every use case a service offers, named ``<object>.<verb>``."""

    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    PROTOCOL_PUBLISH = "protocol.publish"  # an amendment: a new protocol version in force
    ANALYSIS_SANCTION = "analysis.sanction"
    DATABASE_LOCK = "database.lock"  # lock and unlock the record before unblinding (issue 17)
    QUERY_READ = "query.read"  # data queries (issue 17): see them where the value is shown
    QUERY_RAISE = "query.raise"  # raise, close and re-open a query (monitor, statistician)
    QUERY_ANSWER = "query.answer"  # the site answers: a correction or an explanation
    SDV_RECORD = "sdv.record"  # a monitor marks a record verified against source (issue 17)
    ANALYSIS_DATASET_READ = "analysis_dataset.read"
    EXPORT_DATA = "data.export"

    PATIENT_REGISTER = "patient.register"
    PATIENT_READ = "patient.read"
    PATIENT_EDIT = "patient.edit"
    PATIENT_VOID = "patient.void"
    IDENTITY_READ = "identity.read"
    IDENTITY_EDIT = "identity.edit"
    # The treating nurse's two-identifier check before the drug is given (PROTOCOL.md §12): name
    # and date of birth shown on the infusion day only, never to blinded raters or the pharmacy.
    IDENTITY_CONFIRM = "identity.confirm"
    CONSENT_RECORD = "consent.record"
    CONSENT_READ = "consent.read"
    SCREENING_RECORD = "screening.record"
    SCREENING_READ = "screening.read"
    ELIGIBILITY_OVERRIDE = "eligibility.override"  # an investigator's audited decision (§1, §2)

    RANDOMIZATION_LIST_GENERATE = "randomization_list.generate"
    RANDOMIZATION_LIST_READ = "randomization_list.read"
    ALLOCATE = "allocation.allocate"
    ALLOCATION_READ = "allocation.read"  # the drug behind "study drug"
    UNBLIND_EMERGENCY = "allocation.unblind_emergency"

    INFUSION_RECORD = "infusion.record"
    INFUSION_READ = "infusion.read"
    INFUSION_RATING_RECORD = "infusion_rating.record"
    INFUSION_RATING_READ = "infusion_rating.read"
    ADVERSE_EVENT_RECORD = "adverse_event.record"
    ADVERSE_EVENT_READ = "adverse_event.read"
    ASSESSMENT_RECORD = "assessment.record"
    ASSESSMENT_READ = "assessment.read"
    WITHDRAWAL_RECORD = "withdrawal.record"
    SIGN = "record.sign"
    # Phase 2 workflows: the physician's discharge sign-off (PROTOCOL.md §6) and the clinic's
    # treatment-resistance, safety and maintenance documents (§2, §8).
    DISCHARGE_SIGNOFF = "infusion.discharge_signoff"
    CLINIC_PLAN_RECORD = "clinic_plan.record"
    CLINIC_PLAN_READ = "clinic_plan.read"
    # Issue 14: a site's MedDRA release (loaded by an administrator) and the coding of adverse
    # events to it (the study physician, who judges the verbatim term).
    MEDDRA_LOAD = "meddra.load"
    ADVERSE_EVENT_CODE = "adverse_event.code"
    # Drug accountability of a Schedule III/IV drug: the pharmacy's reconciliation of bags,
    # volumes given and wasted (issue 12 item 4); the drug and mg only where the blind allows.
    DRUG_ACCOUNTABILITY_READ = "drug_accountability.read"
    # Issue 12: an alert acknowledged by name (who was called, when, what was done; PROTOCOL.md
    # §12), and a physician's recorded decisions on the infusion day: releasing a held morning
    # (§6), moving an infusion's day (§5), reviewing a C-SSRS result at the review level (§7).
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    PHYSICIAN_DECISION = "infusion.physician_decision"
    # Issue 15: a blinded person's guess of the arm at the end of treatment (the outcome rater
    # records the patient's and their own, the infusion nurse her own; core/workflow/guesses.py).
    # There is no action to read the guesses: they reach a statistician's sanctioned analysis
    # only, and each recorder sees what they entered.
    BLINDING_GUESS_RECORD = "blinding_guess.record"
    # Issue 13: book, move and cancel a patient's infusion, esketamine session or assessment
    # visit in a room with a nurse (those who give infusions; read with infusion.read).
    BOOKING_RECORD = "booking.record"


class Sensitivity(StrEnum):
    """What a stored value could reveal, for field-level redaction."""

    NONE = "none"
    IDENTITY = "identity"  # name, date of birth, contact
    ALLOCATION = "allocation"  # arm, drug, slot, mg dose: breaks the blind (§3)
    INFUSION_RATING = "infusion_rating"  # hidden from outcome raters (§3)
    SECRET = "secret"  # password hashes, session tokens: never shown to anyone


class AnalysisUnblinding(StrEnum):
    """How far a sanctioned analysis lifts the blind for a statistician (§3 interim: partial)."""

    NONE = "none"
    PARTIAL = "partial"  # arms coded "A" / "B"
    FULL = "full"  # drug names


_READ_ACTIONS = frozenset(
    {
        Action.AUDIT_READ,
        Action.AUDIT_VERIFY,
        Action.ANALYSIS_DATASET_READ,
        Action.PATIENT_READ,
        Action.IDENTITY_READ,
        Action.CONSENT_READ,
        Action.SCREENING_READ,
        Action.RANDOMIZATION_LIST_READ,
        Action.ALLOCATION_READ,
        Action.INFUSION_READ,
        Action.INFUSION_RATING_READ,
        Action.ADVERSE_EVENT_READ,
        Action.ASSESSMENT_READ,
        Action.CLINIC_PLAN_READ,
        Action.DRUG_ACCOUNTABILITY_READ,
        Action.QUERY_READ,
    }
)

_CLINICAL_RECORDING = frozenset(
    {
        Action.PATIENT_REGISTER,
        Action.PATIENT_READ,
        Action.PATIENT_EDIT,
        Action.PATIENT_VOID,
        Action.IDENTITY_READ,
        Action.IDENTITY_EDIT,
        Action.CONSENT_RECORD,
        Action.CONSENT_READ,
        Action.SCREENING_RECORD,
        Action.SCREENING_READ,
        Action.INFUSION_RECORD,
        Action.INFUSION_READ,
        Action.INFUSION_RATING_READ,
        Action.ADVERSE_EVENT_RECORD,
        Action.ADVERSE_EVENT_READ,
        Action.ASSESSMENT_RECORD,
        Action.ASSESSMENT_READ,
        Action.WITHDRAWAL_RECORD,
        Action.SIGN,
        Action.IDENTITY_CONFIRM,
        Action.QUERY_READ,
        Action.QUERY_ANSWER,
        Action.ALERT_ACKNOWLEDGE,
    }
)

#: The one declaration of who may do what. Anything absent is refused.
PERMISSIONS: Mapping[Role, frozenset[Action]] = {
    Role.ADMINISTRATOR: frozenset(
        {
            Action.USER_MANAGE,
            Action.PROTOCOL_PUBLISH,
            Action.AUDIT_READ,
            Action.AUDIT_VERIFY,
            Action.ANALYSIS_SANCTION,
            Action.EXPORT_DATA,
            Action.PATIENT_REGISTER,
            Action.PATIENT_READ,
            Action.PATIENT_EDIT,
            Action.PATIENT_VOID,
            Action.IDENTITY_READ,
            Action.IDENTITY_EDIT,
            Action.CONSENT_READ,
            Action.SCREENING_READ,
            Action.MEDDRA_LOAD,
        }
    ),
    Role.INVESTIGATOR: _CLINICAL_RECORDING
    | {
        Action.ADVERSE_EVENT_CODE,
        Action.ELIGIBILITY_OVERRIDE,
        Action.ALLOCATE,
        Action.UNBLIND_EMERGENCY,
        Action.AUDIT_READ,
        Action.DISCHARGE_SIGNOFF,
        Action.PHYSICIAN_DECISION,
        Action.DRUG_ACCOUNTABILITY_READ,
        Action.DATABASE_LOCK,
        Action.BOOKING_RECORD,
    },
    Role.NURSE: frozenset(
        {
            Action.PATIENT_READ,
            Action.IDENTITY_CONFIRM,
            Action.CONSENT_READ,
            Action.SCREENING_READ,
            Action.INFUSION_RECORD,
            Action.INFUSION_READ,
            Action.INFUSION_RATING_READ,
            Action.ADVERSE_EVENT_RECORD,
            Action.ADVERSE_EVENT_READ,
            Action.SIGN,
            Action.CLINIC_PLAN_READ,
            Action.QUERY_READ,
            Action.QUERY_ANSWER,
            Action.ALERT_ACKNOWLEDGE,
            Action.BLINDING_GUESS_RECORD,
            Action.BOOKING_RECORD,
        }
    ),
    Role.SAFETY_RATER: frozenset(
        {
            Action.PATIENT_READ,
            Action.INFUSION_READ,
            Action.INFUSION_RATING_RECORD,
            Action.INFUSION_RATING_READ,
            Action.ADVERSE_EVENT_READ,
            Action.SIGN,
        }
    ),
    Role.OUTCOME_RATER: frozenset(
        {
            Action.PATIENT_READ,
            Action.SCREENING_READ,
            Action.ASSESSMENT_RECORD,
            Action.ASSESSMENT_READ,
            Action.SIGN,
            Action.BLINDING_GUESS_RECORD,
        }
    ),
    Role.PHARMACIST: frozenset(
        {
            Action.PATIENT_READ,
            Action.RANDOMIZATION_LIST_GENERATE,
            Action.RANDOMIZATION_LIST_READ,
            Action.ALLOCATE,
            Action.ALLOCATION_READ,
            Action.INFUSION_READ,
            Action.DRUG_ACCOUNTABILITY_READ,
            Action.SIGN,
        }
    ),
    Role.STATISTICIAN: frozenset(
        {
            Action.PATIENT_READ,
            Action.SCREENING_READ,
            Action.ASSESSMENT_READ,
            Action.INFUSION_RATING_READ,
            Action.ADVERSE_EVENT_READ,
            Action.ANALYSIS_DATASET_READ,
            Action.EXPORT_DATA,
            Action.QUERY_READ,
            Action.QUERY_RAISE,
        }
    ),
    Role.MONITOR: frozenset(
        {
            Action.QUERY_READ,
            Action.QUERY_RAISE,
            Action.SDV_RECORD,
            Action.AUDIT_READ,
            Action.PATIENT_READ,
            Action.CONSENT_READ,
            Action.SCREENING_READ,
            Action.INFUSION_READ,
            Action.INFUSION_RATING_READ,
            Action.ADVERSE_EVENT_READ,
            Action.ASSESSMENT_READ,
            Action.CLINIC_PLAN_READ,
        }
    ),
    Role.CLINICIAN: _CLINICAL_RECORDING
    | {
        Action.ELIGIBILITY_OVERRIDE,
        Action.INFUSION_RATING_RECORD,
        Action.DISCHARGE_SIGNOFF,
        Action.PHYSICIAN_DECISION,
        Action.CLINIC_PLAN_RECORD,
        Action.CLINIC_PLAN_READ,
        Action.DRUG_ACCOUNTABILITY_READ,
        Action.BOOKING_RECORD,
    },
}


def is_allowed(role: Role | str, action: Action | str) -> bool:
    """True when ``role`` may perform ``action``; unknown roles or actions are refused."""
    try:
        return Action(action) in PERMISSIONS.get(Role(role), frozenset())
    except ValueError:
        return False


def allowed_actions(role: Role) -> frozenset[Action]:
    """Every action ``role`` may perform."""
    return PERMISSIONS.get(role, frozenset())


def is_read_only_action(action: Action) -> bool:
    """True for actions that change nothing (the monitor's whole world)."""
    return action in _READ_ACTIONS


def can_see(
    role: Role | str,
    sensitivity: Sensitivity | str,
    *,
    unblinded_for_record: bool = False,
    analysis_unblinding: AnalysisUnblinding = AnalysisUnblinding.NONE,
) -> bool:
    """May ``role`` see a value of ``sensitivity``?

    ``unblinded_for_record``: the record's patient was emergency-unblinded (an investigator then
    sees that patient's allocation). ``analysis_unblinding``: a statistician holds a sanction for
    an interim (partial: coded arms only, decided by the caller) or final analysis.
    Unknown roles and sensitivities see nothing.
    """
    try:
        role = Role(role)
        sensitivity = Sensitivity(sensitivity)
    except ValueError:
        return False
    if sensitivity is Sensitivity.NONE:
        return True
    if sensitivity is Sensitivity.SECRET:
        return False
    if sensitivity is Sensitivity.IDENTITY:
        return role in {Role.ADMINISTRATOR, Role.INVESTIGATOR, Role.CLINICIAN}
    if sensitivity is Sensitivity.INFUSION_RATING:
        return role is not Role.OUTCOME_RATER
    # Sensitivity.ALLOCATION
    if role in {Role.PHARMACIST, Role.CLINICIAN}:
        return True  # the pharmacy holds the list; the clinic is open label
    if role is Role.INVESTIGATOR:
        return unblinded_for_record
    if role is Role.STATISTICIAN:
        return analysis_unblinding is AnalysisUnblinding.FULL
    return False
