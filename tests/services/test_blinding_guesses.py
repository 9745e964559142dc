"""Blinding guesses at the end of treatment (issue 15): recorded by whom the core says, once per
patient and respondent, corrected with a reason (audited), shown to nobody but their author."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]
from sqlalchemy import select

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    Actor,
    ConflictError,
    FixedClock,
    PermissionDenied,
    Services,
    ValidationFailed,
)
from ketamine_ptsd.services.blinding_guesses import GuessInput
from ketamine_ptsd.services.records import AuditEntry


def _user(services: Services, role: Role, name: str) -> Actor:
    view = services.users.add(
        Actor.system("setup"), username=name, role=role.value, password=PASSWORD, full_name=name
    )
    return Actor(view.id, view.username, role)


@pytest.fixture
def allocated(services: Services, actors: dict[Role, Actor], enrol) -> int:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="G1", slots_per_stratum=4
    )
    pid: int = enrol()
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    return pid


@pytest.fixture
def ended(services: Services, actors: dict[Role, Actor], allocated: int, clock: FixedClock) -> int:
    """An allocated patient who left treatment early: the end of treatment (§3, §5)."""
    services.followup.withdraw(
        actors[Role.INVESTIGATOR],
        allocated,
        withdrawn_on=clock.now().date(),
        decided_by="team",
        reason="no improvement, concern about worsening",
    )
    return allocated


def test_the_outcome_rater_records_the_patients_guess_and_their_own(
    services: Services, actors: dict[Role, Actor], ended: int
) -> None:
    rater, nurse = actors[Role.OUTCOME_RATER], actors[Role.NURSE]
    slot = services.blinding_guesses.record(rater, ended, GuessInput("patient", "ketamine"))
    assert (slot.respondent, slot.guess, slot.version) == ("patient", "ketamine", 1)
    services.blinding_guesses.record(rater, ended, GuessInput("outcome_rater", "dont_know"))
    services.blinding_guesses.record(nurse, ended, GuessInput("infusion_nurse", "midazolam"))
    view = services.blinding_guesses.view(rater, ended)
    assert view.due and view.blinded
    by = {s.respondent: s for s in view.slots}
    assert [s.respondent for s in view.slots] == ["patient", "outcome_rater", "infusion_nurse"]
    assert all(s.recorded for s in view.slots)
    assert by["patient"].guess == "ketamine" and by["outcome_rater"].guess == "dont_know"
    assert by["infusion_nurse"].guess is None  # the nurse's answer is hers
    assert by["infusion_nurse"].recorded_by == "nurse"
    assert by["patient"].may_record and not by["infusion_nurse"].may_record


def test_a_second_guess_of_the_same_respondent_is_refused(
    services: Services, actors: dict[Role, Actor], ended: int
) -> None:
    rater = actors[Role.OUTCOME_RATER]
    services.blinding_guesses.record(rater, ended, GuessInput("patient", "ketamine"))
    with pytest.raises(ConflictError, match="guess_correction_reason"):
        services.blinding_guesses.record(rater, ended, GuessInput("patient", "midazolam"))
    assert services.blinding_guesses.view(rater, ended).slots[0].guess == "ketamine"


def test_a_correction_with_the_reason_is_audited_old_and_new(
    services: Services, actors: dict[Role, Actor], ended: int
) -> None:
    rater = actors[Role.OUTCOME_RATER]
    first = services.blinding_guesses.record(rater, ended, GuessInput("patient", "ketamine"))
    with pytest.raises(ValidationFailed) as no_version:
        services.blinding_guesses.record(
            rater, ended, GuessInput("patient", "midazolam", reason="misheard the patient")
        )
    assert no_version.value.field == "expected_version"
    fixed = services.blinding_guesses.record(
        rater,
        ended,
        GuessInput("patient", "midazolam", reason="misheard the patient", expected_version=1),
    )
    assert fixed.guess == "midazolam" and fixed.version == first.version + 1  # type: ignore[operator]
    with services.context.session_factory(write=False) as session:  # the trail, unredacted
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.table_name == "blinding_guesses", AuditEntry.field == "guess")
            .order_by(AuditEntry.seq)
        ).all()
    assert [(r.old_value, r.new_value) for r in rows] == [
        (None, '"ketamine"'),
        ('"ketamine"', '"midazolam"'),
    ]
    assert rows[-1].reason == "misheard the patient"
    assert {r.sensitivity for r in rows} == {"allocation"}


def test_the_wrong_recorder_is_refused_naming_the_rule(
    services: Services, actors: dict[Role, Actor], ended: int
) -> None:
    with pytest.raises(PermissionDenied, match=r"guess_recorder, PROTOCOL.md §3"):
        services.blinding_guesses.record(
            actors[Role.NURSE], ended, GuessInput("patient", "ketamine")
        )
    with pytest.raises(PermissionDenied, match="guess_recorder"):
        services.blinding_guesses.record(
            actors[Role.OUTCOME_RATER], ended, GuessInput("infusion_nurse", "ketamine")
        )
    for role in (Role.INVESTIGATOR, Role.SAFETY_RATER, Role.PHARMACIST, Role.STATISTICIAN):
        with pytest.raises(PermissionDenied):
            services.blinding_guesses.record(actors[role], ended, GuessInput("patient", "ketamine"))


def test_another_rater_does_not_correct_a_raters_own_guess(
    services: Services, actors: dict[Role, Actor], ended: int
) -> None:
    rater = actors[Role.OUTCOME_RATER]
    services.blinding_guesses.record(rater, ended, GuessInput("outcome_rater", "ketamine"))
    other = _user(services, Role.OUTCOME_RATER, "rater-2")
    with pytest.raises(PermissionDenied, match="guess_own_author"):
        services.blinding_guesses.record(
            other,
            ended,
            GuessInput("outcome_rater", "dont_know", reason="not mine", expected_version=1),
        )


def test_an_answer_outside_the_form_is_refused_at_its_field(
    services: Services, actors: dict[Role, Actor], ended: int
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.blinding_guesses.record(
            actors[Role.OUTCOME_RATER], ended, GuessInput("patient", "placebo")
        )
    assert refused.value.field == "guess" and refused.value.value == "placebo"
    with pytest.raises(ValidationFailed) as who:
        services.blinding_guesses.record(
            actors[Role.OUTCOME_RATER], ended, GuessInput("physician", "ketamine")
        )
    assert who.value.field == "respondent"


def test_before_the_end_of_treatment_a_guess_is_refused(
    services: Services, actors: dict[Role, Actor], allocated: int
) -> None:
    rater = actors[Role.OUTCOME_RATER]
    with pytest.raises(ConflictError, match=r"end of treatment.*infusion 6"):
        services.blinding_guesses.record(rater, allocated, GuessInput("patient", "ketamine"))
    view = services.blinding_guesses.view(rater, allocated)
    assert not view.due and view.not_due is not None and "§5" in view.not_due
    assert not any(s.may_record for s in view.slots)


def test_an_open_label_protocol_refuses_guesses(
    services: Services, actors: dict[Role, Actor], enrol, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol("clinical")
    services.followup.withdraw(
        actors[Role.CLINICIAN],
        pid,
        withdrawn_on=clock.now().date(),
        decided_by="patient",
        reason="moved away from the clinic",
    )
    with pytest.raises(ConflictError, match="open-label"):
        services.blinding_guesses.record(
            actors[Role.NURSE], pid, GuessInput("infusion_nurse", "ketamine")
        )
    view = services.blinding_guesses.view(actors[Role.NURSE], pid)
    assert not view.blinded and view.slots == ()


def test_blinded_staff_never_read_another_persons_guess(
    services: Services, actors: dict[Role, Actor], ended: int
) -> None:
    """Only the author sees an answer; the audit trail hides it like the allocation."""
    rater2 = _user(services, Role.OUTCOME_RATER, "rater-2")
    nurse2 = _user(services, Role.NURSE, "nurse-2")
    services.blinding_guesses.record(rater2, ended, GuessInput("patient", "ketamine"))
    services.blinding_guesses.record(rater2, ended, GuessInput("outcome_rater", "midazolam"))
    services.blinding_guesses.record(nurse2, ended, GuessInput("infusion_nurse", "ketamine"))
    for role in (
        Role.OUTCOME_RATER,
        Role.NURSE,
        Role.INVESTIGATOR,
        Role.MONITOR,
        Role.SAFETY_RATER,
        Role.STATISTICIAN,
        Role.ADMINISTRATOR,
        Role.PHARMACIST,
    ):
        view = services.blinding_guesses.view(actors[role], ended)
        assert [s.recorded for s in view.slots] == [True, True, True], role
        assert {s.guess for s in view.slots} == {None}, role
    for role in (Role.INVESTIGATOR, Role.MONITOR, Role.ADMINISTRATOR):
        entries = services.audit.entries(actors[role], table_name="blinding_guesses")
        guesses = [e for e in entries if e.field == "guess"]
        assert len(guesses) == 3 and all(e.redacted for e in guesses), role
        assert "ketamine" not in repr(entries) and "midazolam" not in repr(entries)
