"""The guesses reach the analysis only through a statistician's sanction (issue 15): none in a
blinded extract, coded A/B under a partial sanction, named under a full one."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, Services
from ketamine_ptsd.services.blinding_guesses import GuessInput


@pytest.fixture
def ended(services: Services, actors: dict[Role, Actor], enrol, clock: FixedClock) -> int:  # type: ignore[no-untyped-def]
    """An allocated patient who left treatment early: the end of treatment (§3, §5)."""
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="G1", slots_per_stratum=4
    )
    pid: int = enrol()
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    services.followup.withdraw(
        actors[Role.INVESTIGATOR],
        pid,
        withdrawn_on=clock.now().date(),
        decided_by="team",
        reason="no improvement, concern about worsening",
    )
    return pid


def test_only_a_sanctioned_extract_carries_the_guesses_coded_as_its_arms(
    services: Services, actors: dict[Role, Actor], ended: int, clock: FixedClock
) -> None:
    """The tallies exist only in a statistician's sanctioned analysis: none blinded, coded A/B
    under a partial sanction (the guessed drug as its arm's code), named under a full one."""
    from ketamine_ptsd.services.randomization import trial_arm_codes

    rater, nurse = actors[Role.OUTCOME_RATER], actors[Role.NURSE]
    services.blinding_guesses.record(rater, ended, GuessInput("patient", "ketamine"))
    services.blinding_guesses.record(nurse, ended, GuessInput("infusion_nurse", "dont_know"))
    statistician = actors[Role.STATISTICIAN]
    blinded = services.datasets.extract(statistician, protocol_name="rct")
    assert "blinding_guesses" not in blinded.frames
    until = clock.now() + dt.timedelta(days=7)
    services.analysis.sanction(
        actors[Role.ADMINISTRATOR],
        statistician_user_id=statistician.user_id,
        level="partial",
        purpose="interim",
        reason="DSMB meeting 1 decision",
        expires_at=until,
    )
    partial = services.datasets.extract(statistician, protocol_name="rct").frames
    with services.context.session_factory(write=False) as session:
        codes = trial_arm_codes(session, "rct")
    rows = partial["blinding_guesses"].to_dict("records")
    assert {r["respondent"]: r["guess"] for r in rows} == {
        "patient": codes["ketamine"],
        "infusion_nurse": "dont_know",
    }
    assert {r["arm"] for r in rows} <= {"A", "B"}
    assert "ketamine" not in repr(rows) and "midazolam" not in repr(rows)
    services.analysis.sanction(
        actors[Role.ADMINISTRATOR],
        statistician_user_id=statistician.user_id,
        level="full",
        purpose="final",
        reason="database lock, final analysis",
        expires_at=until,
    )
    full = services.datasets.extract(statistician, protocol_name="rct").frames
    named = {r["respondent"]: r["guess"] for r in full["blinding_guesses"].to_dict("records")}
    assert named == {"patient": "ketamine", "infusion_nurse": "dont_know"}
