"""The blinding-integrity section (issue 15): the final report shows each respondent type's
guesses per arm with Bang's index (SE, CI) and James' index — the numbers the core gives on the
same counts — the DSMB packet the same coded A/B, and a report without guesses says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.adapters.reports.builder import build_report
from ketamine_ptsd.core.analysis import AnalysisDataset, AnalysisResults, analyse
from ketamine_ptsd.core.stats.blinding import blinding_indices
from ketamine_ptsd.simulation.synthetic_dataset import analysis_frames
from ketamine_ptsd.simulation.synthetic_trial import SyntheticTrialConfig, generate_synthetic_trial

ARMS = ("ketamine", "midazolam")
#: The patients' answers: ketamine 8 right, 3 wrong, 4 don't know; midazolam 5 wrong, 6 right, 4.
PATIENT_COUNTS = ((8, 3, 4), (5, 6, 4))
NURSE_COUNTS = ((2, 1, 0), (1, 2, 1))


def _guesses(counts: tuple[tuple[int, ...], ...], respondent: str) -> list[dict[str, str]]:
    rows = []
    for arm, row in zip(ARMS, counts, strict=True):
        for guess, n in zip((*ARMS, "dont_know"), row, strict=True):
            rows += [
                {"subject": f"S{len(rows)}", "arm": arm, "respondent": respondent, "guess": guess}
            ] * n
    return rows


@pytest.fixture(scope="module")
def dataset() -> AnalysisDataset:
    trial = generate_synthetic_trial(np.random.default_rng(4), SyntheticTrialConfig(n_per_arm=10))
    frames = dict(analysis_frames(trial))
    frames["blinding_guesses"] = pd.DataFrame(
        _guesses(PATIENT_COUNTS, "patient") + _guesses(NURSE_COUNTS, "infusion_nurse")
    )
    return AnalysisDataset(frames, ARMS)


@pytest.fixture(scope="module")
def results(dataset: AnalysisDataset) -> AnalysisResults:
    return analyse(dataset)


def test_the_analysis_gives_the_cores_indices_on_the_recorded_counts(
    results: AnalysisResults,
) -> None:
    assert results.blinding is not None
    patient, nurse = results.blinding.rows
    assert patient.tally.respondent.value == "patient"
    assert patient.tally.counts == PATIENT_COUNTS
    assert nurse.tally.counts == NURSE_COUNTS
    assert patient.indices == blinding_indices(ARMS, PATIENT_COUNTS)
    assert nurse.indices == blinding_indices(ARMS, NURSE_COUNTS)


def test_the_final_report_shows_them_per_arm_with_se_and_ci(
    results: AnalysisResults, tmp_path: Path
) -> None:
    files = build_report(results, tmp_path)
    html = files.index_html.read_text(encoding="utf-8")
    assert 'id="blinding"' in html and "Blinding integrity" in html
    expected = blinding_indices(ARMS, PATIENT_COUNTS)
    for bang in expected.bang:
        assert f"Bang {bang.index:.2f}" in html
        assert f"{bang.ci_low:.2f} to {bang.ci_high:.2f}" in html
    assert f"James {expected.james.index:.2f}" in html
    assert "Patient" in html and "Infusion nurse" in html
    assert "blinding" in files.tables


def test_the_dsmb_packet_codes_arms_and_guesses(dataset: AnalysisDataset, tmp_path: Path) -> None:
    coded = analyse(dataset, blinded=True, arm_codes={"ketamine": "B", "midazolam": "A"})
    assert coded.blinding is not None
    assert coded.blinding.arms == ("A", "B")
    # A is midazolam: its 6 right guesses are now "guessed A"; the indices do not change
    assert coded.blinding.rows[0].tally.counts == ((6, 5, 4), (3, 8, 4))
    same = blinding_indices(("A", "B"), ((6, 5, 4), (3, 8, 4)))
    assert coded.blinding.rows[0].indices == same
    files = build_report(coded, tmp_path, interim=True)
    html = files.index_html.read_text(encoding="utf-8")
    assert 'id="blinding"' in html and "Guessed A" in html and "Guessed B" in html
    lowered = html.lower().replace("repeated iv ketamine", "")
    assert "ketamine" not in lowered and "midazolam" not in lowered


def test_without_guesses_the_section_says_so(tmp_path: Path) -> None:
    trial = generate_synthetic_trial(np.random.default_rng(5), SyntheticTrialConfig(n_per_arm=6))
    results = analyse(AnalysisDataset(analysis_frames(trial), ARMS))
    assert results.blinding is not None and results.blinding.empty
    html = build_report(results, tmp_path).index_html.read_text(encoding="utf-8")
    assert "No blinding guesses have been recorded" in html


def test_an_arm_without_answers_is_reported_not_computed(dataset: AnalysisDataset) -> None:
    frames = dict(dataset.frames)
    frames["blinding_guesses"] = pd.DataFrame(
        [{"subject": "S1", "arm": "ketamine", "respondent": "patient", "guess": "ketamine"}]
    )
    results = analyse(AnalysisDataset(frames, ARMS))
    assert results.blinding is not None
    (row,) = results.blinding.rows
    assert row.indices is None and "no respondents" in row.note
