"""The blind as one policy (PROTOCOL.md §3): who reads the drug, "study drug", or codes."""

from __future__ import annotations

import pytest

from ketamine_ptsd.core.roles import AnalysisUnblinding, Role
from ketamine_ptsd.core.workflow import Treatment, treatment_visibility

A = AnalysisUnblinding


@pytest.mark.parametrize("role", list(Role))
def test_an_open_label_protocol_hides_nothing_and_nothing_allocated_is_unallocated(
    role: Role,
) -> None:
    assert treatment_visibility(role, blinded=False, allocated=True) is Treatment.NAMED
    assert treatment_visibility(role, blinded=True, allocated=False) is Treatment.UNALLOCATED


@pytest.mark.parametrize(
    ("role", "unblinded", "sanction", "expected"),
    [
        (Role.PHARMACIST, False, A.NONE, Treatment.NAMED),
        (Role.INVESTIGATOR, False, A.NONE, Treatment.BLINDED),
        (Role.INVESTIGATOR, True, A.NONE, Treatment.NAMED),
        (Role.NURSE, True, A.NONE, Treatment.BLINDED),  # an unblinding is the investigator's
        (Role.OUTCOME_RATER, False, A.FULL, Treatment.BLINDED),
        (Role.STATISTICIAN, False, A.NONE, Treatment.BLINDED),
        (Role.STATISTICIAN, False, A.PARTIAL, Treatment.CODED),
        (Role.STATISTICIAN, False, A.FULL, Treatment.NAMED),
        (Role.MONITOR, False, A.FULL, Treatment.BLINDED),
        (Role.CLINICIAN, False, A.NONE, Treatment.BLINDED),
        ("someone", True, A.FULL, Treatment.BLINDED),
    ],
)
def test_a_blinded_protocol(
    role: Role | str, unblinded: bool, sanction: A, expected: Treatment
) -> None:
    got = treatment_visibility(
        role, blinded=True, allocated=True, emergency_unblinded=unblinded, sanction=sanction
    )
    assert got is expected
