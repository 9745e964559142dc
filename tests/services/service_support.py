"""Test doubles for the protocol facts the record reads, shared by the service tests."""

from __future__ import annotations

from dataclasses import dataclass

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class ArmFacts:
    id: str
    drug: str
    label: str
    allocation_ratio: int = 1


@dataclass(frozen=True)
class ProtocolFacts:
    """The protocol facts the record reads (the real ``core.protocol.Protocol`` has them too)."""

    name: str
    mode: str
    blinded: bool
    arms: tuple[ArmFacts, ...]


#: PROTOCOL.md §3/§4: the RCT, ketamine vs midazolam, blinded; §2: the open-label clinic.
PROTOCOLS = {
    "rct": ProtocolFacts(
        "rct",
        "trial",
        True,
        (
            ArmFacts("ketamine", "ketamine", "Ketamine"),
            ArmFacts("midazolam", "midazolam", "Midazolam"),
        ),
    ),
    "clinical": ProtocolFacts(
        "clinical", "clinic", False, (ArmFacts("ketamine", "ketamine", "Ketamine"),)
    ),
}
