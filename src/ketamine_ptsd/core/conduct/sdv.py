"""Source-data verification: which records a monitor must verify against source, and whether a
verification still holds.

The critical records are those ICH E6(R3) and the trial's monitoring plan put first: the consent,
the eligibility decision, the primary-outcome assessments (the protocol's response instrument at
baseline and at the primary time point), each infusion day (the dose given) and each serious
adverse event. A verification holds while the record has not changed since: it is stamped with
the audit trail's head when it was made, and any later audit row of that record means the value
the monitor saw is no longer the value stored — the record needs verifying again.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CRITICAL_FORMS", "SdvStatus", "sdv_status"]

#: Table → what makes a row of it critical (documentation for the pages; the service selects).
CRITICAL_FORMS: dict[str, str] = {
    "consents": "informed consent",
    "eligibility_decisions": "eligibility",
    "assessments": "primary outcome (the response instrument at baseline and the primary time point)",
    "infusion_days": "dose given",
    "adverse_events": "serious adverse events",
}


class SdvStatus(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    CHANGED = "changed"  # verified once; the record changed since: verify again


def sdv_status(verified_at_seq: int | None, last_change_seq: int | None) -> SdvStatus:
    """The status of one record from its latest verification's audit head and its last change."""
    if verified_at_seq is None:
        return SdvStatus.UNVERIFIED
    if last_change_seq is not None and last_change_seq > verified_at_seq:
        return SdvStatus.CHANGED
    return SdvStatus.VERIFIED
