"""Adverse events on a day and between them, followed up (services/infusions/adverse_events.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    ConflictError,
    ValidationFailed,
)
from ketamine_ptsd.services.infusions import (
    AdverseEventInput,
)


def test_an_adverse_event_followed_up_with_a_reason_and_an_upgrade_to_serious_flagged(
    trial, actors
) -> None:  # type: ignore[no-untyped-def]
    """An AE's outcome and grading change over its course: each change needs the version read
    and a reason; resolution before onset is refused; becoming serious is audited as a serious
    adverse event, as a serious one is when first recorded."""
    wf, pid = trial
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    ae = wf.infusions.record_adverse_event(
        nurse,
        pid,
        AdverseEventInput(
            "chest pain", dt.date(2026, 3, 2), False, "moderate", "possible", "ECG", "not_recovered"
        ),
    )
    with pytest.raises(ValidationFailed) as no_reason:
        wf.infusions.update_adverse_event(
            md, ae.id, expected_version=ae.version, reason=" ", outcome="recovering"
        )
    assert no_reason.value.field == "reason"
    with pytest.raises(ValidationFailed) as early:
        wf.infusions.update_adverse_event(
            md,
            ae.id,
            expected_version=ae.version,
            reason="resolved",
            outcome="recovered",
            resolved_on=dt.date(2026, 3, 1),
        )
    assert early.value.field == "resolved_on"
    with pytest.raises(ValidationFailed) as bad_outcome:
        wf.infusions.update_adverse_event(
            md, ae.id, expected_version=ae.version, reason="x", outcome="better"
        )
    assert bad_outcome.value.field == "outcome"
    upgraded = wf.infusions.update_adverse_event(
        md,
        ae.id,
        expected_version=ae.version,
        reason="admitted overnight for observation",
        outcome="recovering",
        severity="severe",
        serious=True,
    )
    assert (upgraded.serious, upgraded.severity, upgraded.outcome) == (True, "severe", "recovering")
    assert upgraded.version == ae.version + 1
    with pytest.raises(ConflictError, match="changed by someone else"):
        wf.infusions.update_adverse_event(
            md, ae.id, expected_version=ae.version, reason="stale", outcome="recovered"
        )
    trail = wf.audit.entries(actors[Role.ADMINISTRATOR], table_name="adverse_events")
    flagged = [e for e in trail if e.event == "serious_adverse_event"]
    assert [(e.record_id, e.reason) for e in flagged] == [
        (str(ae.id), "admitted overnight for observation")
    ]
    changed = {e.field: (e.old_value, e.new_value) for e in trail if e.event == "update"}
    assert changed["severity"] == ("moderate", "severe") and changed["serious"] == (False, True)
    assert wf.audit.verify(actors[Role.ADMINISTRATOR]).ok
