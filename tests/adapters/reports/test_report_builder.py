"""The report builder writes index.html, report.pdf and every figure and table; the interim
packet carries no arm name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ketamine_ptsd.adapters.reports.builder import build_report
from ketamine_ptsd.core.analysis import (
    AnalysisDataset,
    AnalysisResults,
    analyse,
    published_comparison,
)
from ketamine_ptsd.simulation.synthetic_dataset import analysis_frames
from ketamine_ptsd.simulation.synthetic_targets import PUBLISHED
from ketamine_ptsd.simulation.synthetic_trial import SyntheticTrialConfig, generate_synthetic_trial

FIGURES = {"consort", "figure2", "figure3", "figure4", "safety_infusion"}
TABLES = {
    "table1",
    "type3",
    "differences",
    "ordinal",
    "responders",
    "durability",
    "side_effects",
    "adverse_events",
    "ae_summary",
    "interventions",
    "cssrs",
}


@pytest.fixture(scope="module")
def dataset() -> AnalysisDataset:
    trial = generate_synthetic_trial(np.random.default_rng(4), SyntheticTrialConfig(n_per_arm=10))
    return AnalysisDataset(analysis_frames(trial), ("ketamine", "midazolam"))


@pytest.fixture(scope="module")
def results(dataset: AnalysisDataset) -> AnalysisResults:
    return analyse(dataset)


def _pdf_pages(path: Path) -> int:
    return path.read_bytes().count(b"/Type /Page\n") + path.read_bytes().count(b"/Type /Page ")


def test_full_report_has_every_figure_table_and_the_published_comparison(
    results: AnalysisResults, tmp_path: Path
) -> None:
    files = build_report(results, tmp_path, comparison=published_comparison(results, PUBLISHED))
    html = files.index_html.read_text(encoding="utf-8")
    assert {p.stem for p in files.figures} == FIGURES
    for key in FIGURES:
        assert (tmp_path / "figures" / f"{key}.png").stat().st_size > 10_000
        assert f'src="figures/{key}.png"' in html
    for key in TABLES | {"published"}:
        assert f'id="{key}"' in html
    assert files.pdf.read_bytes().startswith(b"%PDF")
    # The tables flow down shared pages (none alone on a mostly empty page), then one page per
    # figure; every table's title is in the PDF's text (tests/adapters/reports/test_report_pdf.py
    # reads the cells).
    from pypdf import PdfReader

    reader = PdfReader(files.pdf)
    assert len(FIGURES) + 1 < len(reader.pages) < len(FIGURES) + len(TABLES)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for title in ("Table 1. Baseline characteristics by arm", "Adverse events", "C-SSRS"):
        assert title in text
    assert "labetalol" in html and "midazolam − ketamine" in html


def test_interim_packet_is_coded_and_refuses_unblinded_results(
    dataset: AnalysisDataset, results: AnalysisResults, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="blinded"):
        build_report(results, tmp_path, interim=True)
    coded = analyse(dataset, blinded=True, arm_codes={"ketamine": "B", "midazolam": "A"})
    files = build_report(
        coded,
        tmp_path,
        interim=True,
        comparison=published_comparison(results, PUBLISHED),
    )
    html = files.index_html.read_text(encoding="utf-8").lower()
    assert "ketamine" not in html.replace("repeated iv ketamine", "")
    assert "midazolam" not in html
    assert 'id="published"' not in html
    assert "dsmb interim packet" in html


def test_interim_packet_shows_the_stopping_boundaries_and_the_interim_z(
    dataset: AnalysisDataset, tmp_path: Path
) -> None:
    import dataclasses

    from ketamine_ptsd.core.analysis import interim_monitoring

    coded = analyse(dataset, blinded=True, arm_codes={"ketamine": "B", "midazolam": "A"})
    im = interim_monitoring(coded, observed_patients=30, planned_patients=40, alpha=0.0304)
    files = build_report(dataclasses.replace(coded, interim=im), tmp_path, interim=True)
    html = files.index_html.read_text(encoding="utf-8")
    assert 'id="interim"' in html
    assert "Lan-DeMets Pocock-type alpha spending" in html and "30 of 40" in html
    assert f"{im.boundary_z:.3f}" in html and f"{im.z:.2f}" in html
    assert "ketamine" not in html.lower().replace("repeated iv ketamine", "")


def test_the_pdf_written_in_a_forked_process_has_the_same_pages(
    results: AnalysisResults, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from ketamine_ptsd.adapters.reports import builder

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform: the PDF is written in-process")
    # pytest-xdist runs helper threads; the child here only draws and writes a file.
    monkeypatch.setattr(builder, "_can_fork", lambda: True)
    forks = []
    start = multiprocessing.context.ForkProcess.start

    def counted(self: multiprocessing.context.ForkProcess) -> None:
        forks.append(self.name)
        start(self)

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", counted)
    comparison = published_comparison(results, PUBLISHED)
    alone = build_report(results, tmp_path / "alone", comparison=comparison)
    forked = build_report(results, tmp_path / "forked", comparison=comparison, parallel=True)
    assert _pdf_pages(forked.pdf) == _pdf_pages(alone.pdf)
    assert forked.index_html.read_text(encoding="utf-8") == alone.index_html.read_text(
        encoding="utf-8"
    )
    assert [p.name for p in forked.figures] == [p.name for p in alone.figures]
    assert forks == ["report-pdf"]


def test_no_fork_while_another_thread_runs(
    results: AnalysisResults, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from ketamine_ptsd.adapters.reports import builder

    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert builder._can_fork() is False
        files = build_report(results, tmp_path, parallel=True)  # written in-process instead
        assert files.pdf.read_bytes().startswith(b"%PDF")
    finally:
        stop.set()
        worker.join()


def test_a_failed_pdf_process_is_an_error_not_a_missing_file(
    results: AnalysisResults, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from ketamine_ptsd.adapters.reports import builder

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform: the PDF is written in-process")

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(builder, "_can_fork", lambda: True)
    monkeypatch.setattr(builder, "_write_pdf", broken)
    with pytest.raises(builder.ReportWriteError, match=r"report\.pdf could not be written"):
        build_report(results, tmp_path, parallel=True)
