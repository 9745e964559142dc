"""DSMB codes "A"/"B" are fixed once per trial, the same across randomization lists (issue 11)."""

from __future__ import annotations

import datetime as dt

from workflow_support import screen_rct, workflow_services  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role

MONDAY = dt.date(2026, 3, 2)


def test_a_second_list_sealed_mid_trial_keeps_every_patients_code_on_their_real_arm(
    db, clock, actors
) -> None:  # type: ignore[no-untyped-def]
    wf = workflow_services(db, clock)
    pharmacist, investigator = actors[Role.PHARMACIST], actors[Role.INVESTIGATOR]
    real: dict[str, str] = {}

    def enrol_and_allocate(count: int) -> None:
        for _ in range(count):
            pid = screen_rct(wf, investigator)
            view = wf.randomization.allocate(pharmacist, pid, infusion_date=MONDAY)
            assert view.arm_id is not None
            real[view.study_id] = view.arm_id

    # Lists of 4 slots: several lists, seeded differently, each coding the arms its own way.
    for version in ("L1", "L2", "L3"):
        wf.randomization.generate_list(
            pharmacist, protocol_name="rct", list_version=version, slots_per_stratum=4
        )
        enrol_and_allocate(4)
    assert {"ketamine", "midazolam"} == set(real.values())

    statistician = actors[Role.STATISTICIAN]
    wf.analysis.sanction(
        actors[Role.ADMINISTRATOR],
        statistician_user_id=statistician.user_id,
        level="partial",
        purpose="interim",
        reason="DSMB interim decision",
        expires_at=clock.now() + dt.timedelta(days=1),
    )
    rows = wf.analysis.dataset(statistician, protocol_name="rct")
    code_of_arm: dict[str, set[str]] = {}
    for row in rows:
        code_of_arm.setdefault(real[row.study_id], set()).add(row.group or "")
    assert all(len(codes) == 1 for codes in code_of_arm.values()), code_of_arm
    assert {next(iter(c)) for c in code_of_arm.values()} == {"A", "B"}

    frames = wf.datasets.extract(statistician, protocol_name="rct")
    subjects = frames.frame("subjects")
    for study_id, arm in zip(subjects["subject"], subjects["arm"], strict=True):
        assert {arm} == code_of_arm[real[study_id]]
