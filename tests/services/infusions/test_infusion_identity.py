"""Two identifiers before the drug (PROTOCOL.md §12; services/infusions/day.py, issue 12 item 11)."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import ready_for_infusion  # type: ignore[import-not-found]

from bedside_support import TEST_IDENTITY, confirm_two_identifiers  # type: ignore[import-not-found]
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.patients import IdentityInput


def _identify(wf, actors, pid) -> None:  # type: ignore[no-untyped-def]
    family, given, born = TEST_IDENTITY
    wf.patients.set_identity(
        actors[Role.INVESTIGATOR], pid, IdentityInput(family, given, born), expected_version=None
    )


def test_the_treating_nurse_sees_name_and_birth_date_blinded_raters_and_pharmacy_do_not(
    trial, actors
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    _identify(wf, actors, pid)
    shown = wf.infusions.identity_to_check(actors[Role.NURSE], pid, 1)
    assert (shown.name, shown.date_of_birth) == ("Alex Testpatient", dt.date(1984, 5, 17))
    assert shown.confirmed_at is None
    for role in (Role.SAFETY_RATER, Role.OUTCOME_RATER, Role.PHARMACIST, Role.STATISTICIAN):
        with pytest.raises(PermissionDenied):
            wf.infusions.identity_to_check(actors[role], pid, 1)
        with pytest.raises(PermissionDenied):
            wf.infusions.confirm_identity(
                actors[role], pid, 1, name_confirmed=True, date_of_birth_confirmed=True
            )


def test_the_start_needs_both_identifiers_confirmed_today(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    with pytest.raises(ConflictError, match="no name and date of birth on the record"):
        wf.infusions.confirm_identity(
            nurse, pid, 1, name_confirmed=True, date_of_birth_confirmed=True
        )
    _identify(wf, actors, pid)
    for name_ok, dob_ok, field in (
        (True, False, "date_of_birth_confirmed"),
        (False, True, "name_confirmed"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            wf.infusions.confirm_identity(
                nurse, pid, 1, name_confirmed=name_ok, date_of_birth_confirmed=dob_ok
            )
        assert refused.value.field == field
    # Everything else ready, but no check today: the start names the rule and §.
    ready = ready_for_infusion(wf, actors, pid, 1)
    assert ready.passed
    clock.advance(dt.timedelta(days=1))  # yesterday's check does not count today
    from bedside_support import record_pre_infusion  # type: ignore[import-not-found]
    from ketamine_ptsd.services.infusions import ChecklistInput

    record_pre_infusion(wf, actors, pid, 1)  # nor yesterday's baseline and ratings (§6)

    wf.infusions.record_checklist(
        nurse,
        pid,
        ChecklistInput(1, True, "not_applicable", [], ("128/82",), False),
    )
    with pytest.raises(ConflictError, match="two identifiers") as refused:
        wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    assert "§12" in str(refused.value)
    assert wf.infusions.days(md, pid) == []
    view = confirm_two_identifiers(wf, actors, pid, 1)
    assert view.confirmed_at == clock.now()
    assert wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80)).infusion_number == 1
    rows = [
        e
        for e in wf.audit.entries(actors[Role.MONITOR], table_name="identity_checks")
        if e.field == "date_of_birth_confirmed"
    ]
    assert len(rows) == 2 and all(e.actor_username == nurse.username for e in rows)
