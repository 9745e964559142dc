"""The estimand's sensitivity analysis in the analysis results and the report
(core/analysis/sensitivity.py, adapters/reports/sensitivity.py): jump to reference from each
dropout, the tipping point and its plot in the final report, nothing of it in the coded DSMB
packet (it would name the control arm)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from ketamine_ptsd.adapters.reports.builder import build_report
from ketamine_ptsd.core.analysis import AnalysisDataset, AnalysisResults, analyse
from ketamine_ptsd.core.analysis.model import DEFAULT_OUTCOMES
from ketamine_ptsd.core.analysis.sensitivity import jump_to_reference_sensitivity
from ketamine_ptsd.core.stats.mi import make_problem, run_mi
from ketamine_ptsd.simulation.synthetic_dataset import analysis_frames
from ketamine_ptsd.simulation.synthetic_trial import generate_synthetic_trial

ARMS = ("ketamine", "midazolam")


@cache
def _dataset() -> AnalysisDataset:
    """The synthetic trial with five ketamine and two midazolam patients dropping out of the
    CAPS-5 total after week 1 (their week-2 rows removed)."""
    frames = dict(analysis_frames(generate_synthetic_trial(np.random.default_rng(11))))
    out = frames["outcomes"]
    caps = out[out["measure"] == "caps5_total"]
    subjects = caps.groupby("subject")["arm"].first()
    drop = list(subjects[subjects == "ketamine"].index[:5]) + list(
        subjects[subjects == "midazolam"].index[:2]
    )
    gone = (out["measure"] == "caps5_total") & (out["time"] == "week2") & out["subject"].isin(drop)
    frames["outcomes"] = out[~gone].reset_index(drop=True)
    return AnalysisDataset(frames, ARMS)


@cache
def _results() -> AnalysisResults:
    return analyse(_dataset())


def test_jump_to_reference_of_the_primary_outcome_equals_the_engine() -> None:
    sens = _results().sensitivity
    assert sens is not None
    assert (sens.outcome, sens.reference) == ("caps5_total", "midazolam")
    # the same analysis by hand through the engine: control − active, baseline covariate
    out = _dataset().frames["outcomes"]
    caps = out[out["measure"] == "caps5_total"]
    wide = caps.pivot_table(index="subject", columns="time", values="value", aggfunc="first")
    wide = wide[wide["baseline"].notna()]
    arm = caps.groupby("subject")["arm"].first()[wide.index]
    y = wide[["week1", "week2"]].to_numpy(dtype=float)
    ice = np.where(np.isnan(y[:, 1]), 1, 2)
    ice[np.isnan(y).all(axis=1)] = 0
    assert sens.n_dropouts == int((ice < 2).sum()) >= 7  # the seven removed, and any other
    assert sens.result.n_imputed == int(np.isnan(y).sum())
    p = make_problem(
        y,
        np.asarray((arm == "ketamine").to_numpy(), dtype=np.intp),
        wide[["baseline"]].to_numpy(dtype=float),
        ("midazolam", "ketamine"),
        ("week1", "week2"),
        reference="midazolam",
        ice=ice,
        strategy=["JR"] * len(y),
    )
    direct = run_mi(p, level=1 - _results().alpha)
    assert sens.result.differences == direct.differences
    # same direction as the primary MMRM's differences (control − active)
    mmrm = _results().mmrm["caps5_total"][1]
    week2 = next(d for d in mmrm.differences if d.time == "week2")
    assert np.sign(week2.estimate) == np.sign(sens.result.differences[-1].estimate)
    tp = sens.tipping
    assert tp is not None and tp.active == "ketamine" and tp.alpha == _results().alpha
    assert tp.delta is not None and tp.delta > 0  # ketamine better (lower CAPS-5): worsen it


def test_direct_call_refuses_an_outcome_without_two_later_visits() -> None:
    spec = next(s for s in DEFAULT_OUTCOMES if s.name == "ies_r_24h")
    with pytest.raises(ValueError):
        jump_to_reference_sensitivity(_dataset().frames["outcomes"], spec, ARMS, alpha=0.05)


def test_final_report_shows_the_sensitivity_section_and_the_tipping_plot(tmp_path: Path) -> None:
    files = build_report(_results(), tmp_path)
    html = files.index_html.read_text()
    assert "Sensitivity analysis of the primary outcome" in html
    assert "jump to reference" in html and "Tipping point" in html
    assert "sensitivity" in files.tables
    assert (tmp_path / "figures" / "tipping_point.png").read_bytes()[:4] == b"\x89PNG"
    assert 'src="figures/tipping_point.png"' in html


def test_dsmb_packet_has_no_reference_based_analysis(tmp_path: Path) -> None:
    blinded = analyse(_dataset(), blinded=True, rng=np.random.default_rng(1))
    assert blinded.sensitivity is None
    files = build_report(blinded, tmp_path, interim=True)
    html = files.index_html.read_text()
    assert "Sensitivity analysis" not in html and "midazolam" not in html
    assert not (tmp_path / "figures" / "tipping_point.png").exists()
