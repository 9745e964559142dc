"""Who sees which drug a patient receives: the blind of PROTOCOL.md §3 as one policy.

Every service, page, export and report asks :func:`treatment_visibility` instead of comparing
display strings. An open-label protocol hides nothing (the clinic's nurse gives a drug she may
know); a blinded one shows the drug only to the pharmacy (whose list it is), to an investigator
after an audited emergency unblinding of that patient, and to a statistician holding a full
analysis sanction — a partial (interim) sanction sees arms coded A/B, through the analysis only.
"""

from __future__ import annotations

from enum import StrEnum

from ..roles import AnalysisUnblinding, Role

__all__ = ["BLINDED_LABEL", "Treatment", "treatment_visibility"]

#: What a blinded reader is shown in place of the drug.
BLINDED_LABEL = "study drug"


class Treatment(StrEnum):
    """How a patient's treatment reads to one viewer."""

    NAMED = "named"  # the drug may be named
    CODED = "coded"  # arms as "A"/"B" (a partially unblinded interim analysis)
    BLINDED = "blinded"  # "study drug"
    UNALLOCATED = "unallocated"  # nothing allocated yet: there is no drug to name


def treatment_visibility(
    role: Role | str,
    *,
    blinded: bool,
    allocated: bool,
    emergency_unblinded: bool = False,
    sanction: AnalysisUnblinding = AnalysisUnblinding.NONE,
) -> Treatment:
    """How ``role`` sees the treatment of a patient of a ``blinded`` (or open-label) protocol."""
    if not allocated:
        return Treatment.UNALLOCATED
    if not blinded:
        return Treatment.NAMED
    try:
        role = Role(role)
    except ValueError:
        return Treatment.BLINDED
    if role is Role.PHARMACIST:
        return Treatment.NAMED
    if role is Role.INVESTIGATOR and emergency_unblinded:
        return Treatment.NAMED
    if role is Role.STATISTICIAN:
        if sanction is AnalysisUnblinding.FULL:
            return Treatment.NAMED
        if sanction is AnalysisUnblinding.PARTIAL:
            return Treatment.CODED
    return Treatment.BLINDED
