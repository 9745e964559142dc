"""Permuted-block lists (PROTOCOL.md §3): balanced blocks, random sizes, strata, reproducible from the seed."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.randomization import (
    BlockListSpec,
    draw_slots,
    generate_block_list,
    list_digest,
    verify_block_list,
)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    n=st.integers(1, 60),
    ratio=st.sampled_from([(1, 1), (2, 1), (1, 2)]),
    strata=st.sampled_from([("all",), ("male", "female"), ("a", "b", "c")]),
)
def test_every_block_is_balanced_and_every_stratum_full(
    seed: int, n: int, ratio: tuple[int, int], strata: tuple[str, ...]
) -> None:
    unit = sum(ratio)
    spec = BlockListSpec(
        ratio=ratio, block_sizes=(unit, 2 * unit), strata=strata, slots_per_stratum=n
    )
    allocation_list = generate_block_list(spec, seed=seed, version="v1")
    assert verify_block_list(allocation_list) == []
    for stratum in strata:
        rows = [s for s in allocation_list.slots if s.stratum == stratum]
        assert n <= len(rows) < n + 2 * unit
        counts = Counter(s.arm for s in rows)
        # whole blocks: the arms are exactly in ratio
        assert counts["ketamine"] * ratio[1] == counts["midazolam"] * ratio[0]


def test_the_same_seed_gives_the_same_list_and_another_seed_another() -> None:
    spec = BlockListSpec(slots_per_stratum=40)
    first = generate_block_list(spec, seed=7, version="v1")
    assert first == generate_block_list(spec, seed=7, version="v1")
    assert first.slots != generate_block_list(spec, seed=8, version="v1").slots
    assert first.digest == list_digest(first) and len(first.digest) == 64


def test_block_sizes_are_drawn_at_random_from_those_allowed() -> None:
    slots = draw_slots(BlockListSpec(slots_per_stratum=400), np.random.default_rng(1))
    sizes = Counter(s.block_size for s in slots)
    assert set(sizes) == {2, 4}


def test_verification_detects_a_swapped_assignment() -> None:
    allocation_list = generate_block_list(BlockListSpec(slots_per_stratum=20), seed=3, version="v1")
    slots = list(allocation_list.slots)
    other = "midazolam" if slots[0].arm == "ketamine" else "ketamine"
    slots[0] = dataclasses.replace(slots[0], arm=other)
    tampered = dataclasses.replace(allocation_list, slots=tuple(slots))
    problems = verify_block_list(tampered)
    assert any("unbalanced" in p for p in problems)
    assert any("seed" in p for p in problems)
    assert tampered.digest != allocation_list.digest


def test_verification_detects_a_wrong_seed() -> None:
    allocation_list = generate_block_list(BlockListSpec(slots_per_stratum=20), seed=3, version="v1")
    assert verify_block_list(dataclasses.replace(allocation_list, seed=4)) == [
        "the list is not the one its seed generates"
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"arms": ("ketamine",)}, "arms"),
        ({"arms": ("ketamine", "ketamine")}, "arms"),
        ({"ratio": (1,)}, "ratio"),
        ({"block_sizes": (3,)}, "block_sizes"),
        ({"block_sizes": ()}, "block_sizes"),
        ({"strata": ()}, "strata"),
        ({"strata": ("a", "a")}, "strata"),
        ({"slots_per_stratum": 0}, "slots_per_stratum"),
    ],
)
def test_an_impossible_specification_is_refused_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    spec = dataclasses.replace(BlockListSpec(), **changes)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as excinfo:
        generate_block_list(spec, seed=1, version="v1")
    assert excinfo.value.field == field
