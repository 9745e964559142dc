"""Instrument ids named by protocols are exactly the registered instruments (PROTOCOL.md §7)."""

from __future__ import annotations

import pytest

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.instruments import instrument_ids
from ketamine_ptsd.core.protocol import KNOWN_INSTRUMENT_IDS


def test_protocol_vocabulary_matches_the_instrument_registry() -> None:
    assert set(instrument_ids()) == KNOWN_INSTRUMENT_IDS


@pytest.mark.parametrize("name", ["rct", "clinical"])
def test_every_instrument_a_builtin_protocol_names_is_registered(name: str) -> None:
    p = load_protocol(name)
    named = {i for a in p.assessments for i in a.instruments}
    named |= {i for r in p.monitoring.ratings for i in r.instruments}
    named |= set(p.follow_up.instruments) | {p.response.instrument}
    named.add(p.monitoring.discharge.dissociation_instrument)
    assert named <= set(instrument_ids())
