"""Fixtures of the infusion-day tests (one test module per module of services/infusions)."""

from __future__ import annotations

import pytest
from workflow_support import screen_rct, workflow_services  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role


@pytest.fixture
def wf(db, clock):  # type: ignore[no-untyped-def]
    return workflow_services(db, clock)


@pytest.fixture
def trial(wf, actors):  # type: ignore[no-untyped-def]
    """An RCT patient screened eligible, with a sealed list to allocate from."""
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="rct-1", slots_per_stratum=4
    )
    return wf, screen_rct(wf, actors[Role.INVESTIGATOR])
