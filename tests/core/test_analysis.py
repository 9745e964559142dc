"""The §9 analysis service: its numbers are the statistics engine's on the same dataset, the
responder and durability summaries follow §8, and blinded mode leaks no arm name."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.core.analysis import (
    AnalysisDataset,
    AnalysisResults,
    analyse,
    published_comparison,
)
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm import fit_mmrm
from ketamine_ptsd.simulation.synthetic_dataset import analysis_frames
from ketamine_ptsd.simulation.synthetic_targets import PUBLISHED
from ketamine_ptsd.simulation.synthetic_trial import SyntheticTrialConfig, generate_synthetic_trial

ARMS = ("ketamine", "midazolam")


@cache
def dataset() -> AnalysisDataset:
    return AnalysisDataset(
        analysis_frames(generate_synthetic_trial(np.random.default_rng(11))), ARMS
    )


@cache
def results() -> AnalysisResults:
    return analyse(dataset())


def test_mmrm_numbers_equal_the_engine_on_the_extracted_dataset() -> None:
    out = dataset().frames["outcomes"]
    direct = fit_mmrm(
        out[out.measure == "caps5_total"],
        subject="subject",
        group="arm",
        time="time",
        outcome="value",
        time_order=["baseline", "week1", "week2"],
        group_order=["midazolam", "ketamine"],
    )
    _spec, res = results().mmrm["caps5_total"]
    assert res.differences == direct.differences and res.type3 == direct.type3
    assert results().difference_label == "midazolam − ketamine"
    assert set(results().mmrm) >= {"caps5_total", "caps5_avoidance", "madrs_total", "ies_r_24h"}
    assert set(results().ordinal) == {"cgi_s", "cgi_i"}
    assert results().missing == ()


def test_responders_durability_and_consort_follow_sections_8_and_10() -> None:
    r = results()
    assert r.responders.counts == {"ketamine": (10, 15), "midazolam": (3, 15)}
    assert r.responders.result is not None
    assert r.responders.result.chi2_yates == pytest.approx(4.89, abs=0.005)
    assert r.responders.result.nnt == pytest.approx(1 / (10 / 15 - 3 / 15))
    assert sum(c.n for c in r.durability.curves) == 13
    assert sum(c.events for c in r.durability.curves) == 11
    c = r.consort
    assert (c.assessed, c.ineligible, c.declined, c.randomized) == (51, 12, 9, 30)
    assert sum(c.received_all.values()) == 29 and sum(c.withdrew.values()) == 1
    assert c.lost_to_follow_up == {"ketamine": 0, "midazolam": 0}
    assert r.table1.iloc[0].tolist() == ["N", "15", "15", "30"]  # the arms, then Total


def test_a_patient_without_the_primary_outcome_and_not_withdrawn_is_lost_to_follow_up() -> None:
    """CONSORT: randomized, not withdrawn, no week-2 CAPS-5 → lost to follow-up in that arm;
    a withdrawn patient is counted as withdrawn, not lost."""
    frames = dict(dataset().frames)
    subjects, out = frames["subjects"], frames["outcomes"]
    stayed = subjects[~subjects["withdrawn"].astype(bool)]
    missing = str(stayed.loc[stayed["arm"] == "ketamine", "subject"].iloc[0])
    primary = (out["subject"] == missing) & (out["measure"] == "caps5_total")
    frames["outcomes"] = out[~(primary & (out["time"] == "week2"))]
    c = analyse(AnalysisDataset(frames, ARMS)).consort
    assert c.lost_to_follow_up == {"ketamine": 1, "midazolam": 0}
    assert c.withdrew == results().consort.withdrew


def test_blinded_analysis_codes_arms_everywhere() -> None:
    r = analyse(dataset(), blinded=True, rng=np.random.default_rng(5))
    assert r.arms == ("A", "B") and r.difference_label == "A − B"
    frames: list[pd.DataFrame] = [
        r.table1,
        r.durability.data,
        r.safety.vitals,
        r.safety.infusion_ratings,
        r.safety.side_effects,
        r.safety.adverse_events,
        r.safety.interventions,
        r.safety.cssrs,
    ]
    c = r.consort
    counts = (c.allocated, c.received_all, c.withdrew, c.analysed)
    text = " ".join(f.to_csv() for f in frames) + repr(r.mmrm) + repr(counts)
    assert "ketamine" not in text.lower() and "midazolam" not in text.lower()
    assert published_comparison(r, PUBLISHED) == ()


def test_blinded_analysis_without_codes_or_generator_is_refused() -> None:
    with pytest.raises(InvalidInput):
        analyse(dataset(), blinded=True)


def test_published_comparison_lists_the_section10_figures() -> None:
    rows = {row.figure: row for row in published_comparison(results(), PUBLISHED)}
    assert rows["Responders"].this_run == "10/15 vs 3/15"
    assert rows["Assessed / ineligible / declined"].this_run == "51 / 12 / 9"
    assert "CAPS-5 time × treatment F" in rows and "NNT" in rows


def test_single_arm_clinic_series_reports_what_cannot_be_compared() -> None:
    trial = generate_synthetic_trial(
        np.random.default_rng(3), SyntheticTrialConfig(n_per_arm=10, mode="clinic")
    )
    r = analyse(AnalysisDataset(analysis_frames(trial), ("ketamine",)))
    assert r.mmrm == {} and any("two arms" in m for m in r.missing)
    assert r.responders.result is None and r.responders.counts["ketamine"][1] == 10


def test_the_default_outcomes_are_the_rct_protocols_analysis_plan() -> None:
    """analyse() reads outcomes, time points and models from protocol.analysis (§9); the
    fallback for callers without a protocol must not drift from the shipped plan."""
    from ketamine_ptsd.adapters.protocol_store import load_protocol
    from ketamine_ptsd.core.analysis import DEFAULT_OUTCOMES, outcomes_from_plan

    plan = load_protocol("rct").analysis
    assert outcomes_from_plan(plan) == DEFAULT_OUTCOMES
    assert plan.alpha == 0.0304


def test_analyse_takes_outcomes_and_alpha_from_the_plan() -> None:
    from ketamine_ptsd.adapters.protocol_store import load_protocol

    plan = load_protocol("rct").analysis
    narrowed = plan.model_copy(
        update={
            "alpha": 0.01,
            "outcomes": tuple(o for o in plan.outcomes if o.name == "madrs_total"),
        }
    )
    out = analyse(dataset(), plan=narrowed)
    assert out.alpha == 0.01
    assert set(out.mmrm) == {"madrs_total"} and not out.ordinal


def test_interim_monitoring_places_the_primary_z_against_the_pocock_spending_boundary() -> None:
    from ketamine_ptsd.core.analysis import interim_monitoring
    from ketamine_ptsd.core.stats.sequential import spending_design

    res = results()
    im = interim_monitoring(res, observed_patients=30, planned_patients=40, alpha=0.0304)
    expected = spending_design(0.0304, 2, (0.75, 1.0), "pocock")
    assert im.information == 0.75 and im.design == expected
    assert (
        im.boundary_z == expected.looks[0].z and im.nominal_alpha == expected.looks[0].nominal_alpha
    )
    _spec, fit = res.mmrm["caps5_total"]
    week2 = next(d for d in fit.differences if d.time == "week2")
    assert im.z == pytest.approx(week2.estimate / week2.se)
    assert im.crossed == (abs(im.z) >= im.boundary_z)
    assert "Pocock-type" in im.description and "30 of 40" in im.description
    final = interim_monitoring(res, observed_patients=40, planned_patients=40, alpha=0.0304)
    assert len(final.design.looks) == 1  # at t = 1 the fixed-sample test: all alpha spent
    assert final.nominal_alpha == pytest.approx(0.0304, abs=1e-9)
    with pytest.raises(InvalidInput):
        interim_monitoring(res, observed_patients=30, planned_patients=0, alpha=0.0304)


def test_one_sided_interim_compares_abs_z_because_coded_arms_hide_the_direction() -> None:
    """The rct plan is one-sided (analysis.interim); with arms coded A/B the sign of A − B does
    not say which arm benefits, so a large |z| of either sign is reported as crossing, with the
    instruction to confirm the direction unblinded."""
    from ketamine_ptsd.core.analysis import interim_monitoring

    res = results()
    im = interim_monitoring(
        res, observed_patients=30, planned_patients=40, alpha=0.05, sides=1, spending="pocock"
    )
    assert im.crossed == (abs(im.z) >= im.boundary_z)
    assert "direction of benefit must be confirmed unblinded" in im.description


def test_responders_follow_the_protocols_own_definition() -> None:
    """Issue 11: the threshold was hard-coded; a protocol edit must reach the report."""
    from ketamine_ptsd.adapters.protocol_store import load_protocol

    rct = load_protocol("rct")
    stricter = rct.response.model_copy(update={"min_reduction_fraction": 0.5})
    strict = analyse(dataset(), plan=rct.analysis, response=stricter)
    usual = analyse(dataset(), plan=rct.analysis, response=rct.response)
    assert usual.responders.counts == results().responders.counts  # §8 as before
    for arm in ARMS:
        assert strict.responders.counts[arm][0] < usual.responders.counts[arm][0]
        assert strict.responders.counts[arm][1] == usual.responders.counts[arm][1]
    assert strict.responders.threshold == 0.5
    elsewhere = rct.response.model_copy(update={"instrument": "pcl5"})
    with pytest.raises(InvalidInput, match="response measure"):
        analyse(dataset(), plan=rct.analysis, response=elsewhere)
