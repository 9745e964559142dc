"""Bedside decisions no other test pinned (issue 12, mutation testing).

Each test here kills mutants of `make mutation` that changed a decision of the pre-infusion
checklist, the hold release, the C-SSRS review or the discharge and vitals rules — which item
fails, whether it counts as missing, the § it cites, the field an error names, a threshold at
its boundary — and that `tests/core` let pass (docs/benchmarks.md, "Mutation testing").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import score
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import (
    VITAL_RANGES,
    BpReading,
    ChecklistItem,
    DischargeFindings,
    PreInfusionFindings,
    VitalSigns,
    check_bp_cutoff,
    check_vitals_window,
    discharge_readiness,
    hold_release_refusal,
    missing_vitals_minutes,
    observation_end_minute,
    parse_bp_readings,
    pre_infusion_checklist,
    suicide_risk_alert,
    vital_sign_alerts,
    vitals_due_minutes,
)


def _ok() -> PreInfusionFindings:
    return PreInfusionFindings(
        nil_by_mouth=True,
        pregnancy_test="negative",
        urine_toxicology_positive_for=(),
        bp_readings=(BpReading(128, 82),),
        baseline_vitals_recorded=True,
        short_acting_benzodiazepine_taken_this_morning=False,
        pre_infusion_ratings_recorded=True,
    )


def _item(protocol: Protocol, findings: PreInfusionFindings, item_id: str) -> ChecklistItem:
    [item] = [i for i in pre_infusion_checklist(protocol, findings).items if i.id == item_id]
    return item


# --- the blood-pressure cutoff (§6) -----------------------------------------------------------


def test_an_empty_series_is_refused_naming_readings(rct: Protocol) -> None:
    """§6: the cutoff is read over readings; none is an input error on ``readings``."""
    with pytest.raises(InvalidInput) as error:
        check_bp_cutoff((), rct.pre_infusion.bp_cutoff)
    assert error.value.field == "readings"


def test_the_cutoff_names_the_readings_above_each_limit(rct: Protocol) -> None:
    """§6: the reason lists which readings (1-based, as taken) are above each limit, and the
    result keeps the series it judged."""
    series = parse_bp_readings("170/80,130/80,145/80")
    result = check_bp_cutoff(series, rct.pre_infusion.bp_cutoff)
    assert result.readings == series
    assert "#1 170/80, #3 145/80" in result.reasons[0]  # above 140/90
    assert "#2" not in result.reasons[0]
    assert "(#1 170/80)" in result.reasons[1]  # above 160/90


# --- the checklist (§1, §2, §6) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "item_id"),
    [
        ({"nil_by_mouth": None}, "nil_by_mouth"),
        ({"pregnancy_test": None}, "pregnancy_test"),
        ({"pregnancy_test": "positive"}, "pregnancy_test"),
        ({"urine_toxicology_positive_for": None}, "urine_toxicology"),
        ({"urine_toxicology_positive_for": ("cocaine",)}, "urine_toxicology"),
        (
            {"baseline_vitals_alerts": ("SpO2 % 88 < 90 (PROTOCOL.md §6)",)},
            "baseline_vitals_alerts",
        ),
        ({"short_acting_benzodiazepine_taken_this_morning": None}, "benzodiazepine_held"),
        ({"bp_readings": ()}, "bp_cutoff"),
    ],
)
def test_a_failed_check_is_failed_not_unknown(
    rct: Protocol, change: dict[str, object], item_id: str
) -> None:
    """§6: each failed check says ``passed is False`` (the screen and the API show a hold, not
    an unanswered item)."""
    item = _item(rct, replace(_ok(), **change), item_id)  # type: ignore[arg-type]
    assert item.passed is False


def test_baseline_vitals_not_recorded_is_missing_and_not_releasable(rct: Protocol) -> None:
    """§6: baseline vitals nobody took are recorded, not released by a physician."""
    item = _item(rct, replace(_ok(), baseline_vitals_recorded=False), "baseline_vitals")
    assert item.passed is False and item.missing is True
    refusal = hold_release_refusal(rct, item)
    assert refusal is not None and "record it" in refusal
    recorded = _item(rct, _ok(), "baseline_vitals")
    assert recorded.passed is True and recorded.missing is False


@pytest.mark.parametrize("taken", [None, True, False])
def test_the_morning_benzodiazepine_check_cites_section_1(
    rct: Protocol, taken: bool | None
) -> None:
    """The RCT holds the morning short-acting benzodiazepine dose (PROTOCOL.md §1), not §6."""
    findings = replace(_ok(), short_acting_benzodiazepine_taken_this_morning=taken)
    item = _item(rct, findings, "benzodiazepine_held")
    assert item.section == "PROTOCOL.md §1"
    assert item.passed is (taken is False)
    assert item.missing is (taken is None)


def test_a_positive_pregnancy_test_with_the_decision_passes_citing_sections_2_and_6(
    clinical: Protocol,
) -> None:
    """Clinical pathway: pregnancy is a relative contraindication (§2); with the recorded
    risk-benefit decision the pregnancy check passes, citing §2 and §6."""
    findings = replace(
        _ok(), pregnancy_test="positive", pregnancy_risk_benefit_decision_recorded=True
    )
    item = _item(clinical, findings, "pregnancy_test")
    assert item.passed is True and item.missing is False
    assert item.section == "PROTOCOL.md §2, §6"
    without = _item(
        clinical,
        replace(findings, pregnancy_risk_benefit_decision_recorded=False),
        "pregnancy_test",
    )
    assert without.passed is False and without.section == "PROTOCOL.md §6"


def _with_ratings(protocol: Protocol, minutes: tuple[int, ...]) -> Protocol:
    ratings = tuple(r for r in protocol.monitoring.ratings if r.minute in minutes)
    return protocol.model_copy(
        update={"monitoring": protocol.monitoring.model_copy(update={"ratings": ratings})}
    )


def test_the_ratings_check_is_for_the_minute_0_ratings_only(rct: Protocol) -> None:
    """§6: the checklist asks for the ratings due before the start (minute 0), named; a protocol
    without minute-0 ratings has no such check, and one with only those still has it."""
    item = _item(rct, _ok(), "pre_infusion_ratings")
    assert "(cadss, bprs_positive, ymrs_item1, prise)" in item.reason
    later_only = _with_ratings(rct, (40, 120))
    ids = {i.id for i in pre_infusion_checklist(later_only, _ok()).items}
    assert "pre_infusion_ratings" not in ids
    before_only = _with_ratings(rct, (0,))
    findings = replace(_ok(), pre_infusion_ratings_recorded=False)
    assert _item(before_only, findings, "pre_infusion_ratings").passed is False


# --- the hold release (§1, §6) ----------------------------------------------------------------


def _pregnancy_kind(protocol: Protocol, kind: str) -> Protocol:
    eligibility = tuple(
        c.model_copy(update={"kind": kind}) if c.fact == "pregnant" else c
        for c in protocol.eligibility
    )
    return protocol.model_copy(update={"eligibility": eligibility})


def test_absolute_pregnancy_is_never_released_beside_other_relative_contraindications(
    clinical: Protocol,
) -> None:
    """§1: a positive test where pregnancy is *absolute* cannot be released, even when the
    protocol has other relative contraindications (substance use, hepatic, benzodiazepine)."""
    absolute = _pregnancy_kind(clinical, "absolute_contraindication")
    assert any(c.kind == "relative_contraindication" for c in absolute.eligibility)
    item = _item(absolute, replace(_ok(), pregnancy_test="positive"), "pregnancy_test")
    refusal = hold_release_refusal(absolute, item)
    assert refusal is not None and "absolute contraindication" in refusal
    relative = _item(clinical, replace(_ok(), pregnancy_test="positive"), "pregnancy_test")
    assert hold_release_refusal(clinical, relative) is None


# --- the C-SSRS review level (§7) --------------------------------------------------------------


def test_the_suicide_risk_alert_cites_section_7(rct: Protocol) -> None:
    """PROTOCOL.md §7 is where the review comes from; the alert says so."""
    high = {"1": True, "2": True, "3": True, "4": True, "5": False, "6": False}
    message = suicide_risk_alert(rct, score("cssrs", high).derived, "screening")
    assert message is not None
    assert "review level is moderate" in message and "PROTOCOL.md §7" in message


# --- discharge (§6, §12) ----------------------------------------------------------------------

START = dt.datetime(2026, 3, 2, 9, 0)


def _discharge(**change: object) -> DischargeFindings:
    findings = DischargeFindings(
        infusion_start=START,
        infusion_end=START + dt.timedelta(minutes=40),
        now=START + dt.timedelta(minutes=150),
        dissociation_baseline=2,
        dissociation_latest=2,
        ambulatory_unaided=True,
        delayed_effects_checked=True,
        physician_signoff=True,
        latest_vitals=VitalSigns(126, 80, 72, 98, 14, 5),
        vitals_missing=(),
        rating_changes={"bprs_positive": (4, 4), "ymrs_item1": (0, 0)},
    )
    return replace(findings, **change)  # type: ignore[arg-type]


def test_an_end_or_a_now_at_the_start_is_not_out_of_order(rct: Protocol) -> None:
    """§12: only an end or a clock *before* the infusion start is refused; at the start the
    patient is simply not ready (observation has not begun to run out)."""
    at_start = discharge_readiness(rct, _discharge(infusion_end=START, now=START))
    assert not at_start.ready and at_start.codes == ("observation",)
    with pytest.raises(InvalidInput) as error:
        discharge_readiness(rct, _discharge(now=START - dt.timedelta(minutes=1)))
    assert error.value.field == "now"


def test_the_time_left_is_counted_in_whole_minutes(rct: Protocol) -> None:
    """§6 (RCT): 120 min from the start; at minute 30 there are 90 min to go."""
    result = discharge_readiness(rct, _discharge(now=START + dt.timedelta(minutes=30)))
    assert result.codes == ("observation",) and "(90 min to go)" in result.reasons[0]


def test_an_instrument_missing_from_the_ratings_is_unrated_and_every_limit_is_checked(
    rct: Protocol,
) -> None:
    """§6: a worsening-limit instrument absent from the ratings holds the discharge as unrated
    (it is not an error), and the next instrument is still judged: YMRS item 1 two points above
    baseline is reported although BPRS was never rated."""
    unrated = discharge_readiness(rct, _discharge(rating_changes={}))
    assert unrated.codes == ("psychiatric", "psychiatric")
    worse = discharge_readiness(rct, _discharge(rating_changes={"ymrs_item1": (0, 2)}))
    assert worse.codes == ("psychiatric", "psychiatric")
    assert "before the infusion and after it are both needed" in worse.reasons[0]
    assert "2 above baseline 0" in worse.reasons[1]


def test_an_unacknowledged_alert_cites_section_12(rct: Protocol) -> None:
    """§12: who was called, when and what was done is recorded before the patient leaves."""
    alert = "SpO2 % 88 is below the alert threshold 92 (PROTOCOL.md §6)"
    result = discharge_readiness(rct, _discharge(unacknowledged_alerts=(alert,)))
    assert result.codes == ("alerts_unacknowledged",)
    assert "PROTOCOL.md §12" in result.reasons[0]


# --- vital signs: plausible ranges, alerts, the timetable, the window (§6) ---------------------


@pytest.mark.parametrize(("name", "bounds"), sorted(VITAL_RANGES.items()))
def test_each_plausible_range_includes_its_bounds(name: str, bounds: tuple[int, int]) -> None:
    """Issue 11: a value at either end of its range is a reading (SpO2 100 %, MOAA/S 5); one
    beyond is refused naming the reading."""
    low, high = bounds
    VitalSigns(**{name: low})
    VitalSigns(**{name: high})
    for beyond in (low - 1, high + 1):
        with pytest.raises(InvalidInput) as error:
            VitalSigns(**{name: beyond})
        assert error.value.field == name


@pytest.mark.parametrize(
    ("vitals", "parameter", "value", "threshold"),
    [
        (VitalSigns(spo2_percent=88), "spo2_percent", 88, 92),
        (VitalSigns(respiratory_rate_per_min=7), "respiratory_rate_per_min", 7, 8),
        (VitalSigns(moaas=2), "moaas", 2, 3),  # at or below 2 is below 3
    ],
)
def test_a_low_alert_says_low_and_below(
    rct: Protocol, vitals: VitalSigns, parameter: str, value: int, threshold: int
) -> None:
    """§6: a value under a low threshold alerts as *low*, with the value and the threshold."""
    [alert] = vital_sign_alerts(vitals, rct.monitoring.alerts)
    assert (alert.parameter, alert.direction) == (parameter, "low")
    assert (alert.value, alert.threshold) == (value, threshold)
    assert f"{value} is below the alert threshold {threshold}" in alert.message


def test_an_undosed_drug_is_refused_naming_drug(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as error:
        observation_end_minute(rct, "esketamine")
    assert error.value.field == "drug"


def _timed(protocol: Protocol, infusion: int, observation: int) -> Protocol:
    dose = protocol.dose_for("ketamine").model_copy(update={"infusion_minutes": infusion})
    discharge = protocol.monitoring.discharge.model_copy(
        update={"observation_minutes": observation}
    )
    monitoring = protocol.monitoring.model_copy(update={"discharge": discharge})
    return protocol.model_copy(
        update={"dosing": {**protocol.dosing, "ketamine": dose}, "monitoring": monitoring}
    )


@pytest.mark.parametrize("infusion", [38, 39, 40, 41, 42])
@pytest.mark.parametrize("observation", [45, 50, 114, 115, 116, 120, 121])
def test_vitals_are_due_every_interval_at_the_end_and_at_observation_end(
    rct: Protocol, clinical: Protocol, infusion: int, observation: int
) -> None:
    """§6: every 5 min from the start, at the end of the infusion, every 15 min after it, and
    when observation ends; each minute once, in order (whatever the durations)."""
    for protocol in (rct, clinical):
        timed = _timed(protocol, infusion, observation)
        end = observation_end_minute(timed, "ketamine")
        during = sorted({*range(0, infusion + 1, 5), infusion})
        after = sorted({*range(infusion + 15, end + 1, 15), end} - {infusion})
        assert vitals_due_minutes(timed, "ketamine") == tuple(during + after)


def test_only_the_baseline_has_no_window(rct: Protocol) -> None:
    """§6: minute 0 is taken before the start; any later minute is windowed."""
    check_vitals_window(rct, 0, 60)
    with pytest.raises(InvalidInput):
        check_vitals_window(rct, 1, 60)


def test_a_refused_reading_says_whether_to_wait_or_record_it_missed(rct: Protocol) -> None:
    """§6: too early, enter it when due; too late, record it as missed with the reason."""
    with pytest.raises(InvalidInput) as early:
        check_vitals_window(rct, 120, 100)
    assert "Enter it when it is due." in early.value.message
    with pytest.raises(InvalidInput) as late:
        check_vitals_window(rct, 55, 100)
    assert "Record it as missed, with the reason." in late.value.message


def test_a_reading_is_missing_from_the_minute_it_is_due(rct: Protocol) -> None:
    """§6: at minute 55 the 55-minute reading is due; neither taken nor explained, it is
    missing."""
    assert missing_vitals_minutes(rct, "ketamine", 55, set(range(0, 41, 5)), set()) == (55,)
