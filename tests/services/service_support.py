"""Test doubles for the protocol facts the record reads, shared by the service tests."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher

from ketamine_ptsd.adapters.db.engine import Database
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.services import FixedClock, ServiceContext
from ketamine_ptsd.services.audit import AuditAnchor, AuditKey, AuditKeyring, Checkpoint

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


def lookup_protocol(name: str) -> ProtocolFacts:
    return PROTOCOLS[name]


#: The test instance's audit key (outside the database, as a real instance's key file is).
TEST_KEY = AuditKey("test-1", bytes(range(32)), "2026-03-01")


class MemoryCheckpoints:
    """A checkpoint store in memory (the adapter's is a file)."""

    def __init__(self) -> None:
        self.lines: list[Checkpoint] = []

    def append(self, checkpoint: Checkpoint) -> None:
        self.lines.append(checkpoint)

    def read(self) -> list[Checkpoint]:
        return list(self.lines)


def keyed_anchor(*keys: AuditKey, every_rows: int = 1000) -> AuditAnchor:
    """A key ring (the last key active) and an in-memory checkpoint store."""
    keys = keys or (TEST_KEY,)
    return AuditAnchor(AuditKeyring(keys, keys[-1].key_id), MemoryCheckpoints(), every_rows)


def make_context(
    db: Database, clock: FixedClock, protocols=load_protocol, anchor=None
) -> ServiceContext:  # type: ignore[no-untyped-def]
    """The services' context for tests: a keyed audit chain unless ``anchor`` says otherwise."""
    return ServiceContext(
        audit_anchor=keyed_anchor() if anchor is None else anchor,
        session_factory=db.session_factory,
        protocols=protocols,
        clock=clock,
        # RFC 9106's parameters cost ~50 ms a hash; tests use the cheapest valid ones.
        password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        seed_source=lambda: 20260302,
    )
