"""The blind (PROTOCOL.md §3): canary arms never reach an outcome rater or a blinded statistician."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from service_support import PASSWORD  # type: ignore[import-not-found]
from workflow_support import screen_eligible  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, ServiceContext, ServiceError, Services
from ketamine_ptsd.services.patients import ConsentInput, IdentityInput

CANARIES = ("CANARY-ARM-7QX", "CANARY-DRUG-7QX", "CANARY-ARM-9ZW", "CANARY-DRUG-9ZW")
#: The real RCT protocol (its eligibility rules decide), with canary arms.
CANARY_PROTOCOL = load_protocol("rct").model_copy(
    update={
        "arms": tuple(
            arm.model_copy(update={"id": CANARIES[2 * i], "drug": CANARIES[2 * i + 1]})
            for i, arm in enumerate(load_protocol("rct").arms)
        )
    }
)


@pytest.fixture
def trial(db, clock: FixedClock) -> tuple[Services, dict[Role, Actor], list[int]]:  # type: ignore[no-untyped-def]
    ctx = ServiceContext(
        session_factory=db.session_factory,
        protocols=lambda name: {"rct": CANARY_PROTOCOL}[name],
        clock=clock,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        seed_source=lambda: 99,
    )
    services = Services(ctx)
    setup = Actor.system("setup")
    actors = {}
    for role in Role:
        view = services.users.add(
            setup,
            username=role.value.replace("_", "-"),
            role=role.value,
            password=PASSWORD,
            full_name=role.value,
        )
        actors[role] = Actor(view.id, view.username, role)
    investigator = actors[Role.INVESTIGATOR]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=6
    )
    patients = []
    for i in range(6):
        p = services.patients.register(
            investigator, protocol_name="rct", site="YAL", identity=IdentityInput("Doe", f"P{i}")
        )
        services.patients.record_consent(
            investigator, p.id, ConsentInput("v1", dt.date(2026, 3, 1), True, "Dr C")
        )
        screen_eligible(services, investigator, p.id, "rct")
        services.randomization.allocate(
            actors[Role.PHARMACIST], p.id, infusion_date=dt.date(2026, 3, 2)
        )
        services.signatures.sign(
            investigator,
            password=PASSWORD,
            table_name="patients",
            record_id=p.id,
            meaning="reviewed",
        )
        patients.append(p.id)
    services.randomization.emergency_unblind(
        investigator,
        patients[0],
        reason=f"suspected reaction, {CANARIES[1]} query",
        password=PASSWORD,
    )
    return services, actors, patients


def _everything_readable(services: Services, actor: Actor, patients: list[int]) -> list[Any]:
    """Call every read the services offer; keep results and error messages alike."""
    calls: list[Callable[[], Any]] = [
        lambda: services.patients.list(actor, include_voided=True),
        lambda: services.audit.entries(actor, limit=100_000),
        lambda: services.audit.verify(actor),
        lambda: services.analysis.dataset(actor, protocol_name="rct"),
        lambda: services.randomization.read_list(actor, 1),
        lambda: services.randomization.verify_list(actor, 1),
        lambda: services.users.list(actor),
    ]
    for p in patients:
        calls += [
            lambda p=p: services.patients.get(actor, p),
            lambda p=p: services.patients.identity(actor, p),
            lambda p=p: services.patients.consents(actor, p),
            lambda p=p: services.patients.screening_outcomes(actor, p),
            lambda p=p: services.randomization.allocation(actor, p),
            lambda p=p: services.signatures.signatures(actor, table_name="patients", record_id=p),
            lambda p=p: services.blinding_guesses.view(actor, p),
            lambda p=p: services.randomization.emergency_unblind(
                actor, p, reason="trying to peek at it", password=PASSWORD
            ),
        ]
    seen: list[Any] = []
    for call in calls:
        try:
            seen.append(call())
        except ServiceError as exc:
            seen.append(str(exc))
    return seen


def _leaks(seen: list[Any]) -> list[str]:
    text = repr(seen)
    return [c for c in CANARIES if c in text]


@pytest.mark.parametrize(
    "role", [Role.OUTCOME_RATER, Role.STATISTICIAN, Role.SAFETY_RATER, Role.NURSE, Role.MONITOR]
)
def test_blinded_roles_read_nothing_that_contains_an_arm_or_drug(trial, role: Role) -> None:  # type: ignore[no-untyped-def]
    services, actors, patients = trial
    seen = _everything_readable(services, actors[role], patients)
    assert _leaks(seen) == []
    assert "study drug" in repr(seen)  # they did read the allocations, blinded


@pytest.mark.parametrize(
    "role",
    [
        Role.OUTCOME_RATER,
        Role.STATISTICIAN,
        Role.SAFETY_RATER,
        Role.NURSE,
        Role.MONITOR,
        Role.INVESTIGATOR,
        Role.ADMINISTRATOR,
    ],
)
def test_blinding_guesses_of_canary_drugs_reach_no_other_blinded_reader(trial, role: Role) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: guesses naming the canary drugs, recorded by another rater and nurse, appear in
    no read of a blinded role (the guesses' own view, the audit trail, lists, errors)."""
    from ketamine_ptsd.services.blinding_guesses import GuessInput

    services, actors, patients = trial
    setup = Actor.system("setup")
    others = {}
    for other_role, name in ((Role.OUTCOME_RATER, "rater-2"), (Role.NURSE, "nurse-2")):
        view = services.users.add(
            setup, username=name, role=other_role.value, password=PASSWORD, full_name=name
        )
        others[other_role] = Actor(view.id, view.username, other_role)
    for p, drug in ((patients[1], CANARIES[1]), (patients[2], CANARIES[3])):
        services.followup.withdraw(
            actors[Role.INVESTIGATOR],
            p,
            withdrawn_on=dt.date(2026, 3, 2),
            decided_by="team",
            reason="left treatment early",
        )
        rater, nurse = others[Role.OUTCOME_RATER], others[Role.NURSE]
        services.blinding_guesses.record(rater, p, GuessInput("patient", drug))
        services.blinding_guesses.record(rater, p, GuessInput("outcome_rater", drug))
        services.blinding_guesses.record(nurse, p, GuessInput("infusion_nurse", drug))
    seen = _everything_readable(services, actors[role], patients)
    if role is Role.INVESTIGATOR:  # patients[0] is emergency-unblinded for them: read the rest
        seen = [
            *(services.blinding_guesses.view(actors[role], p) for p in patients[1:]),
            services.audit.entries(actors[role], table_name="blinding_guesses"),
        ]
    assert _leaks(seen) == []
    # and the positive control: the author does read their own answer
    own = services.blinding_guesses.view(others[Role.OUTCOME_RATER], patients[1])
    assert _leaks([own]) == [CANARIES[1]]


def test_outcome_raters_see_study_drug_for_every_allocated_patient(trial) -> None:  # type: ignore[no-untyped-def]
    services, actors, patients = trial
    rater = actors[Role.OUTCOME_RATER]
    assert {services.patients.get(rater, p).treatment for p in patients} == {"study drug"}


def test_the_pharmacist_does_see_the_arms_so_the_canary_check_can_fail(trial) -> None:  # type: ignore[no-untyped-def]
    services, actors, patients = trial
    assert _leaks(_everything_readable(services, actors[Role.PHARMACIST], patients))


def test_an_investigator_sees_only_the_emergency_unblinded_patient(trial) -> None:  # type: ignore[no-untyped-def]
    services, actors, patients = trial
    investigator = actors[Role.INVESTIGATOR]
    assert services.randomization.allocation(investigator, patients[0]).treatment in CANARIES
    for p in patients[1:]:
        assert services.randomization.allocation(investigator, p).treatment == "study drug"


def test_a_partial_sanction_codes_arms_a_and_b_and_a_full_one_names_them(
    trial, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    services, actors, _patients = trial
    statistician = actors[Role.STATISTICIAN]
    admin = actors[Role.ADMINISTRATOR]
    until = clock.now() + dt.timedelta(days=7)
    services.analysis.sanction(
        admin,
        statistician_user_id=statistician.user_id,
        level="partial",
        purpose="interim",
        reason="DSMB meeting 1 decision",
        expires_at=until,
    )
    partial = services.analysis.dataset(statistician, protocol_name="rct")
    assert {r.group for r in partial} == {"A", "B"}
    assert _leaks([partial]) == []
    services.analysis.sanction(
        admin,
        statistician_user_id=statistician.user_id,
        level="full",
        purpose="final",
        reason="database lock, final analysis",
        expires_at=until,
    )
    full = services.analysis.dataset(statistician, protocol_name="rct")
    assert {r.group for r in full} == {CANARIES[0], CANARIES[2]}
    clock.advance(dt.timedelta(days=8))
    assert {r.group for r in services.analysis.dataset(statistician, protocol_name="rct")} == {None}
