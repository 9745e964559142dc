"""Concurrency: each slot used once under 50 simultaneous allocations; one of two racing edits wins."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

from sqlalchemy import select

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, ConflictError, Services
from ketamine_ptsd.services.patients import IdentityInput
from ketamine_ptsd.services.records import Allocation, RandomizationSlot

N_PATIENTS = 50


def _run_together(functions: list) -> tuple[list, list[BaseException]]:  # type: ignore[type-arg]
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)  # type: ignore[type-arg]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = functions[i]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(functions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


def test_fifty_concurrent_allocations_use_fifty_distinct_slots_without_gaps(
    services: Services, actors: dict[Role, Actor], enrol, db
) -> None:
    patients = [enrol() for _ in range(N_PATIENTS)]
    services.randomization.generate_list(
        actors[Role.PHARMACIST],
        protocol_name="rct",
        list_version="L1",
        slots_per_stratum=N_PATIENTS,
    )
    pharmacist = actors[Role.PHARMACIST]
    today = dt.date(2026, 3, 2)
    results, errors = _run_together(
        [
            lambda p=p: services.randomization.allocate(pharmacist, p, infusion_date=today)
            for p in patients
        ]
    )
    assert errors == []
    with db.session(write=False) as session:
        rows = session.execute(
            select(Allocation.patient_id, RandomizationSlot.sequence).join(
                RandomizationSlot, RandomizationSlot.id == Allocation.slot_id
            )
        ).all()
    assert sorted(p for p, _ in rows) == sorted(patients)
    assert sorted(s for _, s in rows) == list(range(1, N_PATIENTS + 1))  # distinct, no gaps
    assert sorted(r.sequence for r in results) == list(range(1, N_PATIENTS + 1))
    assert services.audit.verify(actors[Role.ADMINISTRATOR]).ok


def test_a_patient_allocated_twice_at_once_gets_one_slot(
    services: Services, actors: dict[Role, Actor], enrol
) -> None:
    patient_id = enrol()
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    pharmacist = actors[Role.PHARMACIST]
    results, errors = _run_together(
        [
            lambda: services.randomization.allocate(
                pharmacist, patient_id, infusion_date=dt.date(2026, 3, 2)
            )
        ]
        * 2
    )
    assert len(errors) == 1 and isinstance(errors[0], ConflictError)
    assert Counter(r is None for r in results) == Counter({True: 1, False: 1})


def test_two_concurrent_edits_of_one_record_one_wins_the_other_gets_a_conflict(
    services: Services, actors: dict[Role, Actor]
) -> None:
    investigator = actors[Role.INVESTIGATOR]
    patient = services.patients.register(
        investigator, protocol_name="rct", site="YAL", identity=IdentityInput("Doe", "Jane")
    )
    version = services.patients.identity(investigator, patient.id).version

    def edit(given: str):  # type: ignore[no-untyped-def]
        return lambda: services.patients.set_identity(
            investigator,
            patient.id,
            IdentityInput("Doe", given),
            expected_version=version,
            reason="correction",
        )

    results, errors = _run_together([edit("Janet"), edit("Joan")])
    assert len(errors) == 1 and isinstance(errors[0], ConflictError), errors
    winner = next(r for r in results if r is not None)
    stored = services.patients.identity(investigator, patient.id)
    assert stored.given_name == winner.given_name and stored.version == version + 1
