"""Vitals, interventions and infusion-day ratings (PROTOCOL.md §3, §6; services/infusions/monitoring.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import (  # type: ignore[import-not-found]
    items,
    prise,
    ready_for_infusion,
)

from bedside_support import vitals_input  # type: ignore[import-not-found]
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    ConflictError,
    PermissionDenied,
    ValidationFailed,
)


def test_infusion_day_ratings_are_hidden_from_outcome_raters(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    ready_for_infusion(wf, actors, pid, 1)
    assert len(wf.infusions.ratings(actors[Role.SAFETY_RATER], pid, 1)) == 4
    for read in (
        lambda: wf.infusions.ratings(actors[Role.OUTCOME_RATER], pid, 1),
        lambda: wf.infusions.checklists(actors[Role.OUTCOME_RATER], pid),
        lambda: wf.infusions.adverse_events(actors[Role.OUTCOME_RATER], pid),
    ):
        with pytest.raises(PermissionDenied):
            read()
    redacted = [
        e
        for e in wf.audit.entries(actors[Role.MONITOR], table_name="infusion_ratings")
        if e.field == "items"
    ]
    assert redacted and all(not e.redacted for e in redacted)  # the monitor may read them


def test_a_vitals_series_stores_each_reading_with_its_own_time_alerts_and_audit_rows(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse = actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    day = wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    clock.advance(dt.timedelta(minutes=15))
    before = wf.audit.count(actors[Role.ADMINISTRATOR])
    taken = [day.started_at + dt.timedelta(minutes=m) for m in (5, 10, 15)]
    views = wf.infusions.record_vitals_series(
        nurse,
        pid,
        1,
        [
            vitals_input(5, 128, 80, 70, 98, measured_at=taken[0]),
            vitals_input(10, 186, 104, 96, 97, measured_at=taken[1]),  # above §6 thresholds
            vitals_input(15, 132, 82, 72, 98, measured_at=taken[2]),
        ],
    )
    assert [v.minute for v in views] == [5, 10, 15]
    assert [v.measured_at for v in views] == taken
    assert views[0].alerts == () and views[2].alerts == ()
    assert any("systolic mmHg 186" in a for a in views[1].alerts)
    stored = wf.infusions.vitals(nurse, pid, 1)
    assert [(v.minute, v.systolic_mmhg) for v in stored][1:] == [(5, 128), (10, 186), (15, 132)]
    rows = wf.audit.entries(
        actors[Role.ADMINISTRATOR], table_name="vital_signs", since_seq=before, limit=10_000
    )
    audited_ids = {r.record_id for r in rows if r.event == "insert"}
    assert audited_ids == {str(v.id) for v in views}  # every reading audited on its own
    assert wf.audit.verify(actors[Role.ADMINISTRATOR]).ok


def test_a_vitals_series_with_one_bad_reading_names_it_and_stores_none(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse = actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    day = wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    clock.advance(dt.timedelta(minutes=10))
    with pytest.raises(ValidationFailed) as bad:
        wf.infusions.record_vitals_series(
            nurse, pid, 1, [vitals_input(5, 128, 80, 70, 98), vitals_input(-5, 128, 80, 70, 98)]
        )
    assert bad.value.field == "readings.2.minute"
    with pytest.raises(ValidationFailed) as future:
        wf.infusions.record_vitals_series(
            nurse,
            pid,
            1,
            [
                vitals_input(5, 128, 80, 70, 98),
                vitals_input(  # the 10-minute reading, dated 5 minutes from now
                    10, 128, 80, 70, 98, measured_at=day.started_at + dt.timedelta(minutes=15)
                ),
            ],
        )
    assert future.value.field == "readings.2.measured_at"
    with pytest.raises(ValidationFailed) as empty:
        wf.infusions.record_vitals_series(nurse, pid, 1, [])
    assert empty.value.field == "readings"
    assert [v.minute for v in wf.infusions.vitals(nurse, pid, 1)] == [0]  # only the baseline


def test_the_ratings_form_records_a_time_point_in_one_go_and_refuses_a_repeat(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    rater = actors[Role.SAFETY_RATER]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    clock.advance(dt.timedelta(minutes=41))
    form = {
        "cadss": items(23, 20),
        "bprs_positive": {"4": 2, "11": 1, "12": 1, "15": 1},
        "ymrs_item1": {"1": 0},
    }
    views = wf.infusions.record_ratings(rater, pid, 1, minute=40, ratings=form)
    assert [v.instrument for v in views] == list(form)
    assert {v.minute for v in views} == {40}
    assert views[0].total == 20.0  # each instrument scored by its own module
    with pytest.raises(ConflictError, match="already recorded"):
        wf.infusions.record_ratings(rater, pid, 1, minute=40, ratings={"cadss": items(23, 1)})
    with pytest.raises(ValidationFailed) as wrong:
        wf.infusions.record_ratings(
            rater, pid, 1, minute=40, ratings={"cadss": items(23, 1), "prise": prise()}
        )
    assert wrong.value.field == "instrument"
    with pytest.raises(PermissionDenied):
        wf.infusions.record_ratings(
            actors[Role.OUTCOME_RATER], pid, 1, minute=120, ratings={"cadss": items(23, 1)}
        )
    minutes = [r.minute for r in wf.infusions.ratings(rater, pid, 1)]
    assert minutes.count(40) == 3


def test_the_same_minute_posted_twice_is_stored_once(trial, actors) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 13: a network retry of the same vitals minute was stored twice."""
    wf, pid = trial
    nurse = actors[Role.NURSE]
    series = [vitals_input(0, 128, 82, 72, 98), vitals_input(0, 129, 82, 72, 98)]
    with pytest.raises(ConflictError, match="reading 2 of the series"):
        wf.infusions.record_vitals_series(nurse, pid, 1, series)
    wf.infusions.record_vitals(nurse, pid, 1, vitals_input(0, 128, 82, 72, 98))
    with pytest.raises(ConflictError, match="minute 0") as again:
        wf.infusions.record_vitals(nurse, pid, 1, vitals_input(0, 128, 82, 72, 98))
    assert "already recorded" in str(again.value)
    assert [v.minute for v in wf.infusions.vitals(nurse, pid, 1)] == [0]


@pytest.mark.parametrize(
    ("elapsed", "accepted"),
    [(1, False), (117, False), (118, True), (120, True), (130, True), (131, False)],
)
def test_a_reading_is_accepted_only_within_its_due_window(
    trial, actors, clock, elapsed, accepted
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 4: a "120 min" reading was accepted one minute after the start. The minute
    is checked against the clock: from 2 min before to 10 min after it (the protocol's
    vitals_window, PROTOCOL.md §6); outside it a field error names the minute."""
    wf, pid = trial
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    clock.advance(dt.timedelta(minutes=elapsed))
    reading = vitals_input(120, 126, 80, 72, 98)
    if accepted:
        assert wf.infusions.record_vitals(actors[Role.NURSE], pid, 1, reading).minute == 120
        return
    with pytest.raises(ValidationFailed) as refused:
        wf.infusions.record_vitals(actors[Role.NURSE], pid, 1, reading)
    assert refused.value.field == "minute" and "§6" in refused.value.message
    assert wf.infusions.vitals(actors[Role.NURSE], pid, 1)[-1].minute == 0


def test_a_series_names_the_reading_outside_its_window(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    clock.advance(dt.timedelta(minutes=16))
    with pytest.raises(ValidationFailed) as refused:
        wf.infusions.record_vitals_series(
            actors[Role.NURSE],
            pid,
            1,
            [vitals_input(10, 126, 80, 72, 98), vitals_input(5, 126, 80, 72, 98)],
        )
    assert refused.value.field == "readings.2.minute" and "as missed" in refused.value.message


@pytest.mark.parametrize(
    ("rr", "moaas", "alert"),
    [
        (8, 3, None),
        (7, 3, "respiratory rate /min 7 is below"),
        (24, 3, None),
        (25, 3, "respiratory rate /min 25 is above"),
        (14, 2, "sedation MOAA/S 2 is below the alert threshold 3"),
    ],
)
def test_respiratory_rate_and_sedation_alert_at_the_protocols_bounds(
    trial, actors, rr, moaas, alert
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12: respiratory rate and MOAA/S at each reading, judged by the alert rules (RR < 8
    or > 24, MOAA/S ≤ 2; PROTOCOL.md §11, §12)."""
    wf, pid = trial
    view = wf.infusions.record_vitals(
        actors[Role.NURSE], pid, 1, vitals_input(0, 126, 80, 72, 98, rr=rr, moaas=moaas)
    )
    assert (view.respiratory_rate_per_min, view.moaas) == (rr, moaas)
    if alert is None:
        assert view.alerts == ()
    else:
        assert len(view.alerts) == 1 and alert in view.alerts[0]


@pytest.mark.parametrize(
    ("rr", "moaas", "field", "words"),
    [
        (None, 5, "respiratory_rate_per_min", "Respiratory rate is recorded with each set"),
        (14, None, "moaas", "Sedation is recorded with each set"),
        (14, 6, "moaas", "Sedation must be 0–5"),
        (81, 5, "respiratory_rate_per_min", "Respiratory rate must be 0–80"),
    ],
)
def test_a_reading_without_respiration_or_sedation_is_refused_at_the_field(
    trial, actors, rr, moaas, field, words
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    with pytest.raises(ValidationFailed) as refused:
        wf.infusions.record_vitals(
            actors[Role.NURSE], pid, 1, vitals_input(0, 126, 80, 72, 98, rr=rr, moaas=moaas)
        )
    assert refused.value.field == field and words in refused.value.message


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ([("labetalol", 20, "IV")], None),  # the single maximum
        ([("labetalol", 20.5, "IV")], "dose_mg"),
        ([("labetalol", 20, "IV")] * 4, None),  # 80 mg: the daily maximum
        ([("labetalol", 20, "IV")] * 4 + [("labetalol", 5, "IV")], "dose_mg"),
        ([("hydralazine", 10, "IV")], "drug"),  # not on the formulary
        ([("ondansetron", 4, "IM")], "route"),
        ([("ondansetron", 4, "PO")], None),
        ([("ondansetron", 0, "PO")], "dose_mg"),
    ],
)
def test_rescue_drugs_come_from_the_formulary_within_its_limits(
    trial, actors, given, field
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12: the protocol's rescue formulary (drug, routes, single and daily maximum) instead
    of free text (PROTOCOL.md §6)."""
    from ketamine_ptsd.services.infusions import InterventionInput

    wf, pid = trial
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    nurse = actors[Role.NURSE]
    *before, last = given
    for drug, dose, route in before:
        wf.infusions.record_intervention(nurse, pid, 1, InterventionInput(drug, dose, route, "BP"))
    drug, dose, route = last
    if field is None:
        assert (
            wf.infusions.record_intervention(
                nurse, pid, 1, InterventionInput(drug, dose, route, "BP 190/105")
            ).dose_mg
            == dose
        )
        return
    with pytest.raises(ValidationFailed) as refused:
        wf.infusions.record_intervention(nurse, pid, 1, InterventionInput(drug, dose, route, "x"))
    assert refused.value.field == field and "§6" in refused.value.message
    assert len(wf.infusions.interventions(nurse, pid, 1)) == len(before)


def test_an_intervention_on_a_discharged_day_needs_the_late_entry_reason(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 13: interventions were accepted on a day discharged years ago without a
    reason. Now the late entry names its reason, which the audit trail keeps."""
    from service_support import PASSWORD  # type: ignore[import-not-found]

    from bedside_support import day_ready_for_signoff  # type: ignore[import-not-found]
    from ketamine_ptsd.services.infusions import InterventionInput

    wf, pid = trial
    md, nurse = actors[Role.INVESTIGATOR], actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    view = day_ready_for_signoff(wf, actors, clock, pid, 1)
    wf.infusions.sign_off_discharge(md, pid, 1, password=PASSWORD, expected_version=view.version)
    clock.advance(dt.timedelta(days=400))
    late = InterventionInput("ondansetron", 4, "PO", "nausea at 90 min", minute=90)
    with pytest.raises(ValidationFailed) as refused:
        wf.infusions.record_intervention(nurse, pid, 1, late)
    assert refused.value.field == "late_entry_reason"
    reason = "found on the paper sheet at the audit"
    stored = wf.infusions.record_intervention(
        nurse,
        pid,
        1,
        InterventionInput("ondansetron", 4, "PO", "nausea at 90 min", 90, late_entry_reason=reason),
    )
    assert stored.minute == 90
    audited = [
        e.reason
        for e in wf.audit.entries(actors[Role.MONITOR], table_name="interventions")
        if e.event == "late_entry"
    ]
    assert len(audited) == 1 and reason in (audited[0] or "")
