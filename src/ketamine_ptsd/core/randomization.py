"""Permuted-block allocation lists: generation and verification (PROTOCOL.md §3).

PROTOCOL.md §3: 1:1 allocation in randomly permuted blocks, the list made by the research
pharmacy. Random block sizes (e.g. 2 and 4) keep the next assignment unpredictable at the end of
a block; optional strata get their own sequence of blocks.

The list is a pure function of its specification and its seed: the seed is recorded with the
list (STYLE.md "Our shape" §2), so that :func:`verify_block_list` can regenerate it and prove
that the sealed list in the database is the one that was drawn, and that every block is balanced.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput

__all__ = [
    "AllocationList",
    "BlockListSpec",
    "Slot",
    "draw_slots",
    "generate_block_list",
    "list_digest",
    "verify_block_list",
]


@dataclass(frozen=True)
class BlockListSpec:
    """What the pharmacy asks for.

    ``arms`` are arm ids of the protocol (e.g. ``("ketamine", "midazolam")``); ``ratio`` the
    allocation ratio per arm (1:1 in §3); ``block_sizes`` the sizes drawn at random with equal
    probability, each a multiple of ``sum(ratio)``; ``strata`` the labels of the strata (one
    stratum ``"all"`` when the list is not stratified); ``slots_per_stratum`` the minimum number
    of slots per stratum — whole blocks are drawn, so a stratum may hold up to
    ``max(block_sizes) - 1`` more.
    """

    arms: tuple[str, ...] = ("ketamine", "midazolam")
    ratio: tuple[int, ...] = (1, 1)
    block_sizes: tuple[int, ...] = (2, 4)
    strata: tuple[str, ...] = ("all",)
    slots_per_stratum: int = 100

    def validate(self) -> None:
        """Raise :class:`InvalidInput` naming the first field that cannot make a list."""
        if len(self.arms) < 2 or len(set(self.arms)) != len(self.arms):
            raise InvalidInput("arms", "need at least two distinct arms", self.arms)
        if any(not arm.strip() for arm in self.arms):
            raise InvalidInput("arms", "arm ids must not be blank", self.arms)
        if len(self.ratio) != len(self.arms) or any(r < 1 for r in self.ratio):
            raise InvalidInput("ratio", "one positive integer per arm", self.ratio)
        unit = sum(self.ratio)
        if not self.block_sizes or any(b < unit or b % unit for b in self.block_sizes):
            raise InvalidInput(
                "block_sizes",
                f"each block size must be a positive multiple of {unit}",
                self.block_sizes,
            )
        if not self.strata or len(set(self.strata)) != len(self.strata):
            raise InvalidInput("strata", "need at least one stratum, without repeats", self.strata)
        if any(not s.strip() for s in self.strata):
            raise InvalidInput("strata", "stratum labels must not be blank", self.strata)
        if self.slots_per_stratum < 1:
            raise InvalidInput("slots_per_stratum", "must be at least 1", self.slots_per_stratum)


@dataclass(frozen=True)
class Slot:
    """One line of the list: the ``sequence``-th assignment (from 1) of ``stratum``."""

    stratum: str
    sequence: int
    block_number: int
    block_size: int
    arm: str


@dataclass(frozen=True)
class AllocationList:
    """A generated list with the version and seed it came from."""

    version: str
    seed: int
    spec: BlockListSpec
    slots: tuple[Slot, ...]

    @property
    def digest(self) -> str:
        """SHA-256 of the list's content: the seal stored with it."""
        return list_digest(self)


def draw_slots(spec: BlockListSpec, rng: np.random.Generator) -> tuple[Slot, ...]:
    """Draw whole permuted blocks per stratum from ``rng`` until each stratum is full."""
    spec.validate()
    unit = sum(spec.ratio)
    sizes = np.asarray(spec.block_sizes, dtype=np.int64)
    slots: list[Slot] = []
    for stratum in spec.strata:
        sequence = 0
        block_number = 0
        while sequence < spec.slots_per_stratum:
            block_number += 1
            size = int(rng.choice(sizes))
            multiple = size // unit
            block = [
                arm
                for arm, r in zip(spec.arms, spec.ratio, strict=True)
                for _ in range(r * multiple)
            ]
            order = rng.permutation(len(block))
            for index in order:
                sequence += 1
                slots.append(Slot(stratum, sequence, block_number, size, block[int(index)]))
    return tuple(slots)


def generate_block_list(spec: BlockListSpec, *, seed: int, version: str) -> AllocationList:
    """Generate the list from ``seed``; the same spec and seed always give the same list.

    The generator is ``numpy.random.default_rng(seed)`` (PCG64), which numpy keeps stable for a
    given seed, so the recorded seed is enough to regenerate and verify the list.
    """
    if seed < 0:
        raise InvalidInput("seed", "must be a non-negative integer", seed)
    if not version.strip():
        raise InvalidInput("version", "must not be blank", version)
    return AllocationList(version, seed, spec, draw_slots(spec, np.random.default_rng(seed)))


def list_digest(allocation_list: AllocationList) -> str:
    """SHA-256 of the list's canonical JSON (version, seed, spec and every slot)."""
    spec = allocation_list.spec
    payload = {
        "version": allocation_list.version,
        "seed": allocation_list.seed,
        "arms": list(spec.arms),
        "ratio": list(spec.ratio),
        "block_sizes": list(spec.block_sizes),
        "strata": list(spec.strata),
        "slots_per_stratum": spec.slots_per_stratum,
        "slots": [
            [s.stratum, s.sequence, s.block_number, s.block_size, s.arm]
            for s in allocation_list.slots
        ],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_block_list(allocation_list: AllocationList) -> list[str]:
    """Problems with a stored list; empty when it is exactly what its seed generates.

    Checks, independently of the regeneration: sequences run 1, 2, … per stratum; each block is
    complete and balanced to the ratio; then that the seed regenerates the same slots.
    """
    problems: list[str] = []
    spec = allocation_list.spec
    try:
        spec.validate()
    except InvalidInput as exc:
        return [f"spec: {exc}"]
    unit = sum(spec.ratio)
    for stratum in spec.strata:
        rows = [s for s in allocation_list.slots if s.stratum == stratum]
        if [s.sequence for s in rows] != list(range(1, len(rows) + 1)):
            problems.append(f"stratum {stratum!r}: sequence numbers are not 1..{len(rows)}")
        if len(rows) < spec.slots_per_stratum:
            problems.append(f"stratum {stratum!r}: {len(rows)} slots, fewer than asked")
        blocks: dict[int, list[Slot]] = {}
        for s in rows:
            blocks.setdefault(s.block_number, []).append(s)
        for number, block in sorted(blocks.items()):
            size = block[0].block_size
            if len(block) != size or any(s.block_size != size for s in block):
                problems.append(f"stratum {stratum!r} block {number}: incomplete")
                continue
            for arm, r in zip(spec.arms, spec.ratio, strict=True):
                expected = r * size // unit
                if sum(1 for s in block if s.arm == arm) != expected:
                    problems.append(f"stratum {stratum!r} block {number}: unbalanced for {arm!r}")
    unknown = {s.stratum for s in allocation_list.slots} - set(spec.strata)
    if unknown:
        problems.append(f"slots in unknown strata: {sorted(unknown)}")
    regenerated = draw_slots(spec, np.random.default_rng(allocation_list.seed))
    if regenerated != allocation_list.slots:
        problems.append("the list is not the one its seed generates")
    return problems
