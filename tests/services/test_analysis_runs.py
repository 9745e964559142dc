"""Running the analysis as one use case: the protocol's own response definition reaches the
report, and the final report waits for patients still within their primary window (issue 11)."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD, make_context  # type: ignore[import-not-found]
from workflow_support import items, ready_for_infusion, screen_rct  # type: ignore[import-not-found]

from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, Services
from ketamine_ptsd.services.assessments import AssessmentInput

MONDAY = dt.date(2026, 3, 2)
WEEK2 = dt.date(2026, 3, 16)
RCT = load_protocol("rct")
#: A site's variant of the trial: response is a 50 % reduction, not 30 % (§8 made stricter).
RCT50 = RCT.model_copy(
    update={
        "name": "rct50",
        "response": RCT.response.model_copy(update={"min_reduction_fraction": 0.5}),
    }
)


def _services(db, clock) -> Services:  # type: ignore[no-untyped-def]
    protocols = {"rct": RCT, "rct50": RCT50}
    return Services(make_context(db, clock, protocols=lambda name: protocols[name]))


def _trial(wf: Services, actors, protocol_name: str, week2_totals: list[int | None]) -> list[int]:  # type: ignore[no-untyped-def]
    """Patients screened, allocated, given infusion 1 on Monday, CAPS-5 50 at baseline and the
    given total at week 2 (None: not yet)."""
    wf.randomization.generate_list(
        actors[Role.PHARMACIST],
        protocol_name=protocol_name,
        list_version=f"{protocol_name}-1",
        slots_per_stratum=8,
    )
    pids = []
    for _ in week2_totals:
        pid = screen_rct(wf, actors[Role.INVESTIGATOR], protocol_name=protocol_name)
        wf.assessments.record(
            actors[Role.OUTCOME_RATER],
            pid,
            AssessmentInput("baseline", "caps5_past_week", MONDAY, items(20, 50)),
        )
        ready_for_infusion(wf, actors, pid, 1)
        wf.infusions.start(
            actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 70)
        )
        pids.append(pid)
    return pids


def _score_week2(wf: Services, actors, clock, pids: list[int], totals: list[int | None]) -> None:  # type: ignore[no-untyped-def]
    clock.set(dt.datetime(2026, 3, 16, 9, tzinfo=dt.UTC))
    for pid, total in zip(pids, totals, strict=True):
        if total is not None:
            wf.assessments.record(
                actors[Role.OUTCOME_RATER],
                pid,
                AssessmentInput("week2", "caps5_past_week", WEEK2, items(20, total)),
            )


def _sanction(wf: Services, actors, clock, level: str) -> None:  # type: ignore[no-untyped-def]
    wf.analysis.sanction(
        actors[Role.ADMINISTRATOR],
        statistician_user_id=actors[Role.STATISTICIAN].user_id,
        level=level,
        purpose="final" if level == "full" else "interim",
        reason="the analysis plan's time has come",
        expires_at=clock.now() + dt.timedelta(days=60),
    )


def _lock(wf: Services, actors) -> None:  # type: ignore[no-untyped-def]
    wf.locks.lock(actors[Role.INVESTIGATOR], reason="all patients past week 2", password=PASSWORD)


@pytest.mark.slow
def test_a_second_protocols_response_definition_reaches_status_and_report(
    db, clock, actors
) -> None:  # type: ignore[no-untyped-def]
    totals: list[int | None] = [30, 30, 20, 20, 45, 45]  # 40 %, 40 %, 60 %, 60 %, 10 %, 10 %
    for name, responders in (("rct", 4), ("rct50", 2)):
        wf = _services(db, clock)
        clock.set(dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC))
        pids = _trial(wf, actors, name, totals)
        _score_week2(wf, actors, clock, pids, totals)
        statuses = [wf.patients.get(actors[Role.INVESTIGATOR], p).status for p in pids]
        assert statuses.count("responder") == responders, (name, statuses)
        _sanction(wf, actors, clock, "full")
        _lock(wf, actors)
        run = wf.analysis_runs.run(actors[Role.STATISTICIAN], name, today=WEEK2)
        wf.locks.unlock(
            actors[Role.INVESTIGATOR], reason="the next protocol's patients", password=PASSWORD
        )
        assert run is not None and not run.interim and run.lock is not None
        counted = sum(r for r, _n in run.results.responders.counts.values())
        assert counted == responders, (name, run.results.responders.counts)
        assert run.results.responders.threshold == (0.3 if name == "rct" else 0.5)


def test_the_final_report_waits_for_patients_within_their_primary_window(db, clock, actors) -> None:  # type: ignore[no-untyped-def]
    wf = _services(db, clock)
    totals: list[int | None] = [30, 20, None, None]
    pids = _trial(wf, actors, "rct", totals)
    _score_week2(wf, actors, clock, pids, totals)
    waiting = {wf.patients.get(actors[Role.INVESTIGATOR], p).study_id for p in pids[2:]}
    statistician = actors[Role.STATISTICIAN]

    readiness = wf.analysis_runs.readiness(statistician, "rct", WEEK2)
    assert set(readiness.ongoing) == waiting and not readiness.final_may_run
    _sanction(wf, actors, clock, "full")
    with pytest.raises(ConflictError, match="2 randomized patients") as refused:
        wf.analysis_runs.run(statistician, "rct", today=WEEK2)
    assert all(s in str(refused.value) for s in waiting)

    # The week-2 window is 14–19 March: from the 20th the two are lost to follow-up, not ongoing.
    after = dt.date(2026, 3, 20)
    assert wf.analysis_runs.readiness(statistician, "rct", dt.date(2026, 3, 19)).ongoing
    _lock(wf, actors)
    run = wf.analysis_runs.run(statistician, "rct", today=after)
    assert run is not None
    consort = run.results.consort
    assert sum(consort.lost_to_follow_up.values()) == 2 and sum(consort.ongoing.values()) == 0


def test_the_cut_off_of_an_unlocked_unfrozen_record_is_its_latest_recorded_date() -> None:
    import datetime as dt

    import pandas as pd

    from ketamine_ptsd.services.analysis_runs import DataCutoff, latest_data_date

    frames = {
        "screening": pd.DataFrame({"screening_date": [dt.date(2026, 1, 5), dt.date(2026, 2, 1)]}),
        "subjects": pd.DataFrame({"allocation_date": [dt.date(2026, 2, 3), None]}),
        "adverse_events": pd.DataFrame({"onset_date": [dt.date(2026, 3, 9)]}),
    }
    cutoff = latest_data_date(frames)
    assert cutoff.at == dt.date(2026, 3, 9)
    assert cutoff.describe() == "2026-03-09 (latest date recorded in the analysed data)"
    assert latest_data_date({}).describe().startswith("not known")
    locked = DataCutoff(dt.datetime(2026, 4, 1, 16, 30, tzinfo=dt.UTC), "database lock")
    assert locked.describe() == "2026-04-01 16:30 UTC (database lock)"
