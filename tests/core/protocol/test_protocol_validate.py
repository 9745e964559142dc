"""``validate(protocol)``: every clinical inconsistency, one clear message each (SYSTEM.md §1)."""

from __future__ import annotations

from typing import Any

import pytest

from ketamine_ptsd.core.protocol import parse_protocol, validate


@pytest.mark.parametrize("name", ["rct", "clinical"])
def test_builtin_protocols_are_consistent(name: str, builtin_dict: Any, problems_of: Any) -> None:
    assert problems_of(builtin_dict(name)) == []


def test_clinical_recommendation_literal_schedule_is_rejected(fixtures_dir: Any) -> None:
    """PROTOCOL.md §5: "twice weekly for 2 weeks (total of 6 infusions)" contradicts itself."""
    text = (fixtures_dir / "twice_weekly_six_infusions.yaml").read_text("utf-8")
    assert "twice weekly for 2 weeks (total of 6 infusions)" in text
    problems = validate(parse_protocol(text))
    assert len(problems) == 1
    assert "2 infusions per week × 2 weeks = 4, but infusion_count is 6" in problems[0]


def test_clinical_protocol_documents_which_schedule_it_uses_and_why(
    builtin_dict: Any, problems_of: Any
) -> None:
    schedule = builtin_dict("clinical")["schedule"]
    assert schedule["infusions_per_week"] * schedule["weeks"] == schedule["infusion_count"] == 6
    assert schedule["source_text"] == "twice weekly for 2 weeks (total of 6 infusions)"
    assert "RCT" in schedule["rationale"] and "evidence" in schedule["rationale"]


def _edit(builtin_dict: Any, name: str, path: str, value: Any) -> dict[str, Any]:
    data = builtin_dict(name)
    target: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


def _assert_problem(problems_of: Any, data: dict[str, Any], fragment: str) -> None:
    problems = problems_of(data)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("name", "path", "value", "fragment"),
    [
        (
            "rct",
            "schedule.infusion_count",
            5,
            "3 infusions per week × 2 weeks = 6, but infusion_count is 5",
        ),
        ("rct", "schedule.min_days_between_infusions", 0, "never two infusions on one day"),
        ("rct", "schedule.allowed_weekdays", ["mon", "tue"], "hold only 1 infusions a week"),
        ("rct", "schedule.allowed_weekdays", [], "name at least one weekday"),
        ("rct", "assessments.0.window_days_after", 1, "cannot be done after that infusion's day"),
        ("rct", "assessments.1.window_days_after", 1, "window reaches infusion 2"),
        ("rct", "assessments.2.window_days_before", 7, "overlap"),
        ("rct", "assessments.2.window_days_before", 2, "window reaches back to infusion 3"),
        (
            "rct",
            "assessments.3.window_days_before",
            4,
            "window starts before infusion 6",
        ),
        ("rct", "assessments.3.anchor.infusion", 7, "infusion 7 does not exist"),
        (
            "rct",
            "assessments.3.instruments",
            ["caps5_pastweek"],
            "unknown instrument 'caps5_pastweek'",
        ),
        ("rct", "follow_up.window_days", 4, "weekly visits' windows overlap"),
        ("rct", "follow_up.anchor_assessment", "week3", "no assessment time point 'week3'"),
        (
            "rct",
            "monitoring.ratings.2.minute",
            180,
            "minute 180 is after the end of observation (120 min",
        ),
        (
            "clinical",
            "monitoring.ratings.2.minute",
            180,
            "minute 180 is after the end of observation (160 min",
        ),
        ("rct", "monitoring.vitals_interval_during_minutes", 60, "longer than the 40-minute"),
        ("rct", "monitoring.alerts.heart_rate_low_bpm", 130, "heart_rate_low_bpm must be below"),
        ("rct", "monitoring.discharge.dissociation_instrument", "cssrs", None),
        ("rct", "pre_infusion.bp_cutoff.1.max_readings_above", 3, "it can never apply"),
        ("rct", "response.assessment", "h24", "'caps5_past_week' is not measured at 'h24'"),
        ("rct", "response.min_reduction_fraction", 30, "between 0 and 1"),
        (
            "rct",
            "analysis.outcomes.7.time_points",
            ["baseline", "week1", "week2"],
            "'cgi_i' is not measured at 'baseline'",
        ),
        (
            "rct",
            "analysis.outcomes.0.time_points",
            ["baseline", "week4"],
            "no assessment time point 'week4'",
        ),
        ("rct", "analysis.alpha", 0.9, "alpha: must be between 0 and 0.5"),
        ("rct", "analysis", None, "a trial protocol needs an analysis plan"),
        ("rct", "durability.q25_days", 40, "q25_days ≤ median_days ≤ q75_days"),
        ("clinical", "maintenance", None, "plans maintenance before the series"),
        ("clinical", "blinded", True, "clinic protocol is open-label"),
        ("rct", "dosing.ketamine.concentration_mg_per_ml", 50.0, "outside its plausible range"),
        ("rct", "dosing.ketamine.weight_kg_range", [250, 30], "need 0 < low < high"),
        ("rct", "dosing.midazolam.mg_per_kg", 0, "mg_per_kg: must be positive"),
        ("rct", "dosing.ketamine.max_dose_mg", None, "max_dose_mg: state the most mg"),
        ("clinical", "dosing.ketamine.max_dose_mg", 0, "max_dose_mg: must be a positive"),
        ("rct", "dosing.midazolam.max_dose_mg", -1, "max_dose_mg: must be a positive"),
        ("rct", "dosing.ketamine.weight_kg_range", [20, 250], "must lie within 30–250 kg"),
        ("rct", "dosing.ketamine.weight_kg_range", [30, 500], "must lie within 30–250 kg"),
        (
            "rct",
            "pre_infusion.weight_change_tolerance_percent",
            None,
            "weight_change_tolerance_percent: state how far",
        ),
        ("clinical", "pre_infusion.weight_change_tolerance_percent", 0, "must be above 0"),
        ("rct", "pre_infusion.weight_change_tolerance_percent", 50.1, "at most 50"),
        ("rct", "eligibility.0.high", None, "operator between needs both low and high"),
        ("rct", "eligibility.0.low", 80, "low 80 is above high 70"),
        ("rct", "eligibility.1.value", 1, "operator is_true takes no value"),
        ("rct", "eligibility.2.value", None, "operator ge needs a value"),
        ("rct", "eligibility.2.section", "the paper", "cite the source section"),
        ("clinical", "eligibility.19.satisfied_by", None, "names the fact that records the plan"),
    ],
)
def test_inconsistency_is_reported(
    name: str, path: str, value: Any, fragment: str | None, builtin_dict: Any, problems_of: Any
) -> None:
    data = _edit(builtin_dict, name, path, value)
    if fragment is None:  # the dissociation instrument is not rated before the infusion
        fragment = "must be rated at minute 0"
    _assert_problem(problems_of, data, fragment)


def test_after_window_starting_before_its_infusion_is_reported(
    builtin_dict: Any, problems_of: Any
) -> None:
    data = builtin_dict("rct")
    data["assessments"][1]["anchor"]["offset_days"] = 0
    data["assessments"][1]["window_days_before"] = 1
    _assert_problem(problems_of, data, "window starts before infusion 1")


def test_after_window_on_the_infusion_day_is_reported(builtin_dict: Any, problems_of: Any) -> None:
    data = builtin_dict("rct")
    data["assessments"][3]["window_days_before"] = 3  # Mon − 3 = Fri, the day of infusion 6
    _assert_problem(problems_of, data, "window starts on or before the day of infusion 6")


def test_trial_needs_two_arms(builtin_dict: Any, problems_of: Any) -> None:
    data = builtin_dict("rct")
    data["arms"] = data["arms"][:1]
    _assert_problem(problems_of, data, "a trial needs at least two arms")
    _assert_problem(problems_of, data, "dosing.midazolam: no arm gives 'midazolam'")


def test_clinic_gives_one_arm_and_every_arm_needs_a_dose(
    builtin_dict: Any, problems_of: Any
) -> None:
    data = builtin_dict("clinical")
    data["arms"].append({"id": "midazolam", "drug": "midazolam", "label": "x"})
    _assert_problem(problems_of, data, "a clinic protocol gives one open-label arm, found 2")
    _assert_problem(problems_of, data, "'midazolam' has no entry under dosing")


def test_duplicate_ids_are_reported(builtin_dict: Any, problems_of: Any) -> None:
    data = builtin_dict("rct")
    data["eligibility"].append(dict(data["eligibility"][0]))
    data["assessments"].append(dict(data["assessments"][0]))
    problems = problems_of(data)
    assert any("criterion id 'age' appears more than once" in p for p in problems)
    assert any("time point 'baseline' appears more than once" in p for p in problems)


def test_all_problems_are_reported_together(builtin_dict: Any, problems_of: Any) -> None:
    data = builtin_dict("rct")
    data["schedule"]["infusion_count"] = 4
    data["monitoring"]["ratings"][2]["minute"] = 150
    data["response"]["assessment"] = "week9"
    problems = problems_of(data)
    assert len(problems) >= 3
    joined = "\n".join(problems)
    assert "infusion_count is 4" in joined
    assert "minute 150" in joined
    assert "week9" in joined


def test_monitoring_from_infusion_end_allows_ratings_the_start_rule_refuses(
    builtin_dict: Any, problems_of: Any
) -> None:
    """§6: the clinical pathway observes ≥ 2 h after the END, so 150 min is inside (40 + 120)."""
    rct = _edit(builtin_dict, "rct", "monitoring.ratings.2.minute", 150)
    clinical = _edit(builtin_dict, "clinical", "monitoring.ratings.2.minute", 150)
    assert any("minute 150" in p for p in problems_of(rct))
    assert problems_of(clinical) == []


def test_clinical_observation_runs_two_hours_from_infusion_end(builtin_dict: Any) -> None:
    discharge = builtin_dict("clinical")["monitoring"]["discharge"]
    assert discharge["observation_from"] == "infusion_end"
    assert discharge["observation_minutes"] >= 120


def test_rct_nominal_alpha_0304_follows_from_its_interim_plan(builtin_dict: Any) -> None:
    """PROTOCOL.md §9: 0.0304 is Pocock's constant nominal level for two equally spaced looks at
    one-sided overall alpha 0.05 (0.030367); the shipped plan states that design."""
    interim = builtin_dict("rct")["analysis"]["interim"]
    assert interim == {
        **interim,
        "planned_patients": 40,
        "overall_alpha": 0.05,
        "sides": 1,
        "method": "boundary",
        "function": "pocock",
        "information": [0.5, 1.0],
    }


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("analysis.interim.overall_alpha", 0.025, "first-look nominal alpha is 0.0147"),
        ("analysis.interim.sides", 2, "first-look nominal alpha is 0.0294"),
        ("analysis.interim.method", "spending", "first-look nominal alpha is 0.0310"),
        ("analysis.interim.information", [0.75, 1.0], "does not follow from the interim plan"),
        ("analysis.interim.information", [0.5, 0.9], "the last look must be the final analysis"),
        ("analysis.interim.information", [0.6, 0.5, 1.0], "increasing fractions"),
    ],
)
def test_an_alpha_that_does_not_follow_from_the_interim_plan_is_refused(
    builtin_dict: Any, problems_of: Any, path: str, value: Any, expected: str
) -> None:
    problems = problems_of(_edit(builtin_dict, "rct", path, value))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(("minutes", "refused"), [(30, True), (40, True), (41, False)])
def test_observation_from_the_start_must_outlast_the_infusion(
    builtin_dict: Any, problems_of: Any, minutes: int, refused: bool
) -> None:
    """PROTOCOL.md §6: counted from the start, an observation of 40 min or less for a 40-min
    infusion would allow discharge the moment the end is recorded (found by mutation testing)."""
    data = _edit(builtin_dict, "rct", "monitoring.discharge.observation_minutes", minutes)
    data["monitoring"]["ratings"] = [
        r for r in data["monitoring"]["ratings"] if r["minute"] <= minutes
    ]
    problems = [p for p in problems_of(data) if "does not outlast" in p]
    assert bool(problems) is refused, problems


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("self_report.instruments", ["pcl5"], "exactly pcl5 and cssrs"),
        ("self_report.interval_days", 0, "interval_days: must be positive"),
        ("self_report.link_valid_hours", 0, "a link must expire"),
        ("self_report.link_valid_hours", 24 * 30, "a link must expire"),
        ("self_report.meaningful_change_points", 0, "PCL-5 points"),
        ("self_report.crisis_text", "call", "crisis line text"),
        ("retreatment.allowed_from", [], "allowed_from"),
        ("retreatment.max_courses", 0, "max_courses: must be positive"),
        ("retreatment.proposed_options", ["ect"], "'ect' is not a maintenance option"),
    ],
)
def test_self_report_and_retreatment_are_validated(
    path: str, value: Any, fragment: str, builtin_dict: Any, problems_of: Any
) -> None:
    data = builtin_dict("clinical")
    section, key = path.split(".")
    data[section][key] = value
    _assert_problem(problems_of, data, fragment)


def test_the_relapse_watch_needs_a_pcl5_at_the_response_baseline(
    builtin_dict: Any, problems_of: Any
) -> None:
    data = builtin_dict("clinical")
    data["assessments"][0]["instruments"].remove("pcl5")
    _assert_problem(problems_of, data, "relapse watch needs a PCL-5")


def test_a_trial_offers_no_retreatment(builtin_dict: Any, problems_of: Any) -> None:
    data = builtin_dict("rct")
    data["retreatment"] = {"allowed_from": ["lost_response"]}
    _assert_problem(problems_of, data, "retreatment is the clinic's")


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("esketamine.min_monitoring_minutes", 119, "at least 120 (2 hours, §11)"),
        ("esketamine.form_due_days", 8, "within 7 days"),
        ("esketamine.form_due_days", 0, "form_due_days: 1–7"),
        ("esketamine.concomitant_classes", ["benzodiazepine"], "missing: non_benzodiazepine"),
        ("esketamine.doses_mg", [56, 112], "no listed dose above it"),
        ("esketamine.doses_mg", [], "one or more positive doses"),
        ("esketamine.patient_states", ["eligible"], "(not eligible)"),
        ("esketamine.bp_hold.systolic_above_mmhg", 60, "systolic 80–200"),
        ("esketamine.bp_after_dose_window_minutes", 40, "less than bp_after_dose_minute"),
        ("esketamine.bp_after_dose_minute", 115, "window must close before monitoring"),
        ("esketamine.bp_before_end_minutes", 0, "1–60 minutes"),
        ("esketamine.schedule.2.weeks", 4, "the last phase is open-ended"),
        ("esketamine.schedule.0.weeks", None, "lasts 1 or more weeks"),
        ("esketamine.schedule.0.min_days_between", 4, "2 sessions a week cannot be 4 days apart"),
        ("esketamine.schedule.1.min_days_between", 8, "not above the shortest interval"),
        ("esketamine.schedule.1.interval_days", [], "either sessions_per_week or interval_days"),
        ("esketamine.schedule", [], "name at least one phase"),
    ],
)
def test_esketamine_inconsistency_is_reported(
    path: str, value: Any, fragment: str, builtin_dict: Any, problems_of: Any
) -> None:
    _assert_problem(problems_of, _edit(builtin_dict, "clinical", path, value), fragment)


def test_a_trial_protocol_gives_no_esketamine(builtin_dict: Any, problems_of: Any) -> None:
    data = builtin_dict("rct")
    data["esketamine"] = builtin_dict("clinical")["esketamine"]
    problems = problems_of(data)
    assert any("open-label clinic protocol only" in p for p in problems), problems
    assert any("no intranasal option" in p for p in problems), problems


def test_the_clinical_protocol_states_the_label_schedule(builtin_dict: Any) -> None:
    from ketamine_ptsd.core.protocol import protocol_from_mapping

    plan = protocol_from_mapping(builtin_dict("clinical")).esketamine
    assert plan is not None
    assert plan.doses_mg == (56, 84) and plan.min_monitoring_minutes == 120
    assert [(p.name, p.weeks, p.sessions_per_week, p.interval_days) for p in plan.schedule] == [
        ("induction", 4, 2, ()),
        ("weekly", 4, None, (7,)),
        ("maintenance", None, None, (7, 14)),
    ]
