"""The role matrix, every action × every role, against an independent reading of PROTOCOL.md §3."""

from __future__ import annotations

import itertools

import pytest

from ketamine_ptsd.core.roles import (
    PERMISSIONS,
    Action,
    AnalysisUnblinding,
    Role,
    Sensitivity,
    can_see,
    is_allowed,
    is_read_only_action,
)

A = Action
READ_CLINICAL = {A.PATIENT_READ, A.CONSENT_READ, A.SCREENING_READ}
CARE_TEAM = {
    A.PATIENT_REGISTER, A.PATIENT_READ, A.PATIENT_EDIT, A.PATIENT_VOID, A.IDENTITY_READ,
    A.IDENTITY_EDIT, A.CONSENT_RECORD, A.CONSENT_READ, A.SCREENING_RECORD, A.SCREENING_READ,
    A.INFUSION_RECORD, A.INFUSION_READ, A.INFUSION_RATING_READ, A.ADVERSE_EVENT_RECORD,
    A.ADVERSE_EVENT_READ, A.ASSESSMENT_RECORD, A.ASSESSMENT_READ, A.WITHDRAWAL_RECORD, A.SIGN,
    A.IDENTITY_CONFIRM, A.QUERY_READ, A.QUERY_ANSWER,
    A.ALERT_ACKNOWLEDGE,  # owned alerts (issue 12 item 10)
}  # fmt: skip

# Written out again, by hand, so that a change to core/roles.py must be made twice on purpose.
EXPECTED: dict[Role, set[Action]] = {
    Role.ADMINISTRATOR: {
        A.USER_MANAGE, A.PROTOCOL_PUBLISH, A.AUDIT_READ, A.AUDIT_VERIFY, A.ANALYSIS_SANCTION,
        A.EXPORT_DATA,
        A.PATIENT_REGISTER, A.PATIENT_READ, A.PATIENT_EDIT, A.PATIENT_VOID, A.IDENTITY_READ,
        A.IDENTITY_EDIT, A.CONSENT_READ, A.SCREENING_READ, A.MEDDRA_LOAD,
    },
    Role.INVESTIGATOR: CARE_TEAM
    | {
        A.ADVERSE_EVENT_CODE,
        A.ELIGIBILITY_OVERRIDE,
        A.ALLOCATE,
        A.UNBLIND_EMERGENCY,
        A.AUDIT_READ,
        A.DISCHARGE_SIGNOFF,
        A.DRUG_ACCOUNTABILITY_READ,  # the reconciliation, blind-safe (issue 12 item 4)
        A.DATABASE_LOCK,
        A.PHYSICIAN_DECISION,  # release a hold, move a day, review suicide risk (§5-§7)
        A.BOOKING_RECORD,  # rooms, nurses and times (issue 13)
    },
    Role.NURSE: READ_CLINICAL | {
        A.INFUSION_RECORD, A.INFUSION_READ, A.INFUSION_RATING_READ, A.ADVERSE_EVENT_RECORD,
        A.ADVERSE_EVENT_READ, A.SIGN, A.CLINIC_PLAN_READ, A.QUERY_READ, A.QUERY_ANSWER,
        A.IDENTITY_CONFIRM, A.ALERT_ACKNOWLEDGE,
        A.BLINDING_GUESS_RECORD,  # her own guess at the end of treatment (issue 15)
        A.BOOKING_RECORD,  # rooms, nurses and times (issue 13)
    },
    Role.SAFETY_RATER: {
        A.PATIENT_READ, A.INFUSION_READ, A.INFUSION_RATING_RECORD, A.INFUSION_RATING_READ,
        A.ADVERSE_EVENT_READ, A.SIGN,
    },
    Role.OUTCOME_RATER: {
        A.PATIENT_READ, A.SCREENING_READ, A.ASSESSMENT_RECORD, A.ASSESSMENT_READ, A.SIGN,
        A.BLINDING_GUESS_RECORD,  # the patient's guess and their own (issue 15)
    },
    Role.PHARMACIST: {
        A.PATIENT_READ, A.RANDOMIZATION_LIST_GENERATE, A.RANDOMIZATION_LIST_READ, A.ALLOCATE,
        A.ALLOCATION_READ, A.INFUSION_READ, A.SIGN, A.DRUG_ACCOUNTABILITY_READ,
    },
    Role.STATISTICIAN: {
        A.PATIENT_READ, A.SCREENING_READ, A.ASSESSMENT_READ, A.INFUSION_RATING_READ,
        A.ADVERSE_EVENT_READ, A.ANALYSIS_DATASET_READ, A.EXPORT_DATA, A.QUERY_READ, A.QUERY_RAISE,
    },
    Role.MONITOR: READ_CLINICAL | {
        A.AUDIT_READ, A.INFUSION_READ, A.INFUSION_RATING_READ, A.ADVERSE_EVENT_READ, A.ASSESSMENT_READ,
        A.CLINIC_PLAN_READ, A.QUERY_READ, A.QUERY_RAISE, A.SDV_RECORD,
    },
    Role.CLINICIAN: CARE_TEAM | {
        A.ELIGIBILITY_OVERRIDE,
        A.INFUSION_RATING_RECORD, A.DISCHARGE_SIGNOFF, A.CLINIC_PLAN_RECORD, A.CLINIC_PLAN_READ,
        A.DRUG_ACCOUNTABILITY_READ, A.PHYSICIAN_DECISION,
        A.BOOKING_RECORD,  # rooms, nurses and times (issue 13)
    },
}  # fmt: skip


@pytest.mark.parametrize(("role", "action"), list(itertools.product(Role, Action)))
def test_every_action_for_every_role_matches_the_declared_matrix(
    role: Role, action: Action
) -> None:
    assert is_allowed(role, action) is (action in EXPECTED[role])
    assert is_allowed(role.value, action.value) is (action in EXPECTED[role])


def test_the_matrix_declares_every_role_and_nothing_else() -> None:
    assert set(PERMISSIONS) == set(Role)


def test_unknown_roles_and_actions_are_denied() -> None:
    assert not is_allowed("superuser", Action.PATIENT_READ)
    assert not is_allowed(Role.ADMINISTRATOR, "patient.delete")


def test_monitor_only_reads_and_raises_queries() -> None:
    # Issue 17: the monitor asks about a value (a query); they never change one.
    writes = {a for a in PERMISSIONS[Role.MONITOR] if not is_read_only_action(a)}
    assert writes == {Action.QUERY_RAISE, Action.SDV_RECORD}


def test_only_the_pharmacist_reads_the_list_or_an_allocation() -> None:
    for action in (
        Action.RANDOMIZATION_LIST_READ,
        Action.RANDOMIZATION_LIST_GENERATE,
        Action.ALLOCATION_READ,
    ):
        assert {r for r in Role if is_allowed(r, action)} == {Role.PHARMACIST}


def test_outcome_raters_cannot_read_infusion_days_ratings_or_adverse_events() -> None:
    """PROTOCOL.md §3: outcome raters are blind to the infusion-day ratings as well."""
    for action in (Action.INFUSION_READ, Action.INFUSION_RATING_READ, Action.ADVERSE_EVENT_READ):
        assert not is_allowed(Role.OUTCOME_RATER, action)
    assert not can_see(Role.OUTCOME_RATER, Sensitivity.INFUSION_RATING)


@pytest.mark.parametrize("role", list(Role))
def test_allocation_values_are_visible_only_to_pharmacy_and_open_label_clinic(role: Role) -> None:
    assert can_see(role, Sensitivity.ALLOCATION) is (role in {Role.PHARMACIST, Role.CLINICIAN})


def test_investigator_sees_allocation_only_after_an_emergency_unblinding() -> None:
    assert not can_see(Role.INVESTIGATOR, Sensitivity.ALLOCATION)
    assert can_see(Role.INVESTIGATOR, Sensitivity.ALLOCATION, unblinded_for_record=True)
    assert not can_see(Role.OUTCOME_RATER, Sensitivity.ALLOCATION, unblinded_for_record=True)


def test_statistician_sees_drug_names_only_under_a_full_sanction() -> None:
    assert not can_see(Role.STATISTICIAN, Sensitivity.ALLOCATION)
    partial = AnalysisUnblinding.PARTIAL
    assert not can_see(Role.STATISTICIAN, Sensitivity.ALLOCATION, analysis_unblinding=partial)
    full = AnalysisUnblinding.FULL
    assert can_see(Role.STATISTICIAN, Sensitivity.ALLOCATION, analysis_unblinding=full)


@pytest.mark.parametrize("role", list(Role))
def test_identity_is_restricted_and_secrets_are_shown_to_nobody(role: Role) -> None:
    identity_roles = {Role.ADMINISTRATOR, Role.INVESTIGATOR, Role.CLINICIAN}
    assert can_see(role, Sensitivity.IDENTITY) is (role in identity_roles)
    assert is_allowed(role, Action.IDENTITY_READ) is (role in identity_roles)
    # The two-identifier check (PROTOCOL.md §12): the treating nurse and the care team, never a
    # blinded rater or the pharmacy.
    bedside = {Role.NURSE, Role.INVESTIGATOR, Role.CLINICIAN}
    assert is_allowed(role, Action.IDENTITY_CONFIRM) is (role in bedside)
    assert not can_see(role, Sensitivity.SECRET)
    assert can_see(role, Sensitivity.NONE)
