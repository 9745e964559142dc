"""The PDF a statistician would publish (issue 14), read back with pypdf: typeset tables whose
cells are the numbers computed, a running header (study, report kind, run date, data cut-off)
and "Page k of N" on every page; the DSMB packet's one alpha and information fraction; the
safety summary by MedDRA SOC and PT; Figure 4's band, censoring marks and numbers at risk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.adapters.reports.builder import CUTOFF_RULE, build_report
from ketamine_ptsd.adapters.reports.figures import durability_figure
from ketamine_ptsd.core.analysis import (
    NOT_CODED,
    AnalysisDataset,
    AnalysisResults,
    analyse,
    published_comparison,
    relabel,
)
from ketamine_ptsd.core.stats.sequential import spending_design
from ketamine_ptsd.services.analysis_runs import AnalysisRunService, Readiness
from ketamine_ptsd.simulation.synthetic_dataset import analysis_frames
from ketamine_ptsd.simulation.synthetic_targets import PUBLISHED
from ketamine_ptsd.simulation.synthetic_trial import SyntheticTrialConfig, generate_synthetic_trial

RUN = dt.date(2026, 12, 5)
CUTOFF = "2026-11-30 16:00 UTC (database lock)"
ARMS = ("ketamine", "midazolam")


def _codings(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A MedDRA coding of every second adverse event (as services/meddra.py ``coding_frame``
    keys them: the patient and the event's place among theirs); the rest stay uncoded."""
    ae = frames["adverse_events"].reset_index(drop=True)
    seq = ae.groupby("subject", sort=False).cumcount() + 1
    rows = []
    for k, (subject, term) in enumerate(zip(ae["subject"], ae["term"], strict=True)):
        if k % 2:
            continue
        nervous = term in ("headache", "dizziness")
        rows.append(
            {
                "subject": subject,
                "seq": int(seq[k]),
                "pt_name": term.capitalize(),
                "soc_name": "Nervous system disorders" if nervous else "General disorders",
                "release": "27.1",
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    trial = generate_synthetic_trial(np.random.default_rng(4), SyntheticTrialConfig(n_per_arm=10))
    out = dict(analysis_frames(trial))
    out["adverse_event_codings"] = _codings(out)
    return out


@pytest.fixture(scope="module")
def results(frames: dict[str, pd.DataFrame]) -> AnalysisResults:
    return analyse(AnalysisDataset(frames, ARMS))


@pytest.fixture(scope="module")
def final_pdf(results: AnalysisResults, tmp_path_factory: pytest.TempPathFactory) -> PdfReader:
    out = tmp_path_factory.mktemp("final")
    files = build_report(
        results,
        out,
        comparison=published_comparison(results, PUBLISHED),
        generated_on=RUN,
        data_cutoff=CUTOFF,
    )
    return PdfReader(files.pdf)


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def test_every_page_carries_the_running_header_the_cut_off_and_its_number(
    results: AnalysisResults, final_pdf: PdfReader
) -> None:
    n = len(final_pdf.pages)
    for k, page in enumerate(final_pdf.pages, start=1):
        text = page.extract_text()
        assert f"Page {k} of {n}" in text
        assert f"{results.title} · Final report" in text
        assert f"Run {RUN.isoformat()} · Data cut-off {CUTOFF}" in text
    first = " ".join(final_pdf.pages[0].extract_text().split())
    assert f"Data cut-off {CUTOFF}. {CUTOFF_RULE}" in first  # the rule is stated


def test_tables_are_typeset_in_a_proportional_font_with_rules_on_shared_pages(
    final_pdf: PdfReader,
) -> None:
    fonts = set()
    for page in final_pdf.pages[:3]:
        for ref in page["/Resources"]["/Font"].values():
            fonts.add(str(ref.get_object()["/BaseFont"]).split("+")[-1])
        content = page.get_contents()
        assert content is not None
        assert b" l\n" in content.get_data() or b" l " in content.get_data()  # drawn rules
    assert "DejaVuSans" in fonts and not any("Mono" in f for f in fonts)
    # Page 1 holds the opening lines and Table 1; the type-3 table shares page 2 with the next.
    assert "Table 1. Baseline characteristics by arm" in final_pdf.pages[0].extract_text()
    assert "LS means (SE) by arm" in final_pdf.pages[1].extract_text()


def test_table_1_in_the_pdf_is_the_table_computed_with_a_total_column(
    results: AnalysisResults, frames: dict[str, pd.DataFrame], final_pdf: PdfReader
) -> None:
    text = _text(final_pdf)
    assert "Characteristic ketamine midazolam Total" in text
    for row in results.table1.itertuples(index=False):
        assert " ".join(str(v) for v in row) in text
    subjects = frames["subjects"]
    assert f"N {len(subjects[subjects['arm'] == 'ketamine'])} " in text
    duration = subjects["ptsd_duration_years"].to_numpy(dtype=float)
    q1, q2, q3 = np.percentile(duration, [25, 50, 75])
    total = results.table1.set_index("characteristic").loc[
        "PTSD duration, years, median (IQR)", "Total"
    ]
    assert total == f"{q2:.1f} ({q1:.1f}–{q3:.1f})"


def test_the_safety_summary_counts_patients_by_soc_and_pt_as_in_the_record(
    results: AnalysisResults, frames: dict[str, pd.DataFrame], final_pdf: PdfReader
) -> None:
    summary = results.ae_summary
    assert summary is not None
    ae = frames["adverse_events"]
    ae = ae[ae["arm"].isin(ARMS)]
    rows = {r.label: r for r in summary.rows}
    for arm in ARMS:
        mine = ae[ae["arm"] == arm]
        assert rows["Any adverse event"].patients[arm] == mine["subject"].nunique()
        assert rows["Serious"].patients[arm] == mine.loc[mine["serious"], "subject"].nunique()
        assert rows["Related to study drug"].patients[arm] == (
            mine.loc[mine["related"].astype(bool), "subject"].nunique()
        )
    assert summary.coded_events == len(frames["adverse_event_codings"])
    assert summary.uncoded_events == len(ae) - summary.coded_events
    assert NOT_CODED in rows and "Nervous system disorders" in rows
    text = _text(final_pdf)
    n = summary.n
    head = rows["Any adverse event"]
    cells = [f"{head.patients[a]} ({100 * head.patients[a] / n[a]:.1f}%)" for a in ARMS]
    assert "Any adverse event " + " ".join(cells) in text
    assert "Not yet coded" in text and "MedDRA 27.1" in " ".join(text.split())


def test_an_adverse_event_is_counted_once_per_patient_and_discontinuation_by_its_action() -> None:
    from ketamine_ptsd.core.analysis import summarise_adverse_events

    subjects = pd.DataFrame(
        {
            "subject": ["P1", "P2", "P3", "P4"],
            "arm": ["A", "A", "B", "B"],
            "withdrawn": [False, True, False, False],
            "withdrawal_reason": [None, "persistent nausea", None, None],
        }
    )
    ae = pd.DataFrame(
        {
            "subject": ["P1", "P1", "P2", "P3", "S9"],
            "arm": ["A", "A", "A", "B", None],  # S9: a screen failure, no arm
            "term": ["headache", "headache", "Nausea", "syncope", "rash"],
            "serious": [False, False, False, True, False],
            "related": [True, True, False, False, False],
            "action": ["none", "none", "none", "study drug discontinued", "none"],
        }
    )
    codings = pd.DataFrame(
        {
            "subject": ["P1", "P1"],
            "seq": [1, 2],
            "pt_name": ["Headache", "Headache"],
            "soc_name": ["Nervous system disorders"] * 2,
            "release": ["27.1"] * 2,
        }
    )
    s = summarise_adverse_events(ae, subjects, ("A", "B"), codings=codings)
    got = {r.label: r.patients for r in s.rows}
    assert got["Any adverse event"] == {"A": 2, "B": 1}
    assert got["Headache"] == {"A": 1, "B": 0}  # two events, one patient
    assert got["Serious"] == {"A": 0, "B": 1}
    assert got["Related to study drug"] == {"A": 1, "B": 0}
    # P3's action, and P2's withdrawal reason naming the event
    assert got["Leading to discontinuation"] == {"A": 1, "B": 1}
    assert got[NOT_CODED] == {"A": 1, "B": 1} and got["nausea"] == {"A": 1, "B": 0}
    assert s.events == 4 and s.coded_events == 2 and s.releases == ("27.1",)


def test_the_dsmb_packet_states_one_alpha_and_information_from_primary_endpoint_data(
    frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """The packet's alpha is this look's nominal level, derived from the protocol's overall
    alpha (analysis.interim): the cover, the type-3 note and the boundary table state the same
    number, and the protocol's 0.0304 (the planned design's level) appears nowhere. The
    information is patients with the primary endpoint (CAPS-5 total at week 2) ÷ planned."""
    protocol = load_protocol("rct")
    plan = protocol.analysis
    assert plan.interim is not None
    # Two patients have not reached week 2 yet: randomized, without the primary endpoint.
    out = frames["outcomes"]
    late = sorted(frames["subjects"]["subject"])[:2]
    cut = dict(frames)
    cut["outcomes"] = out[~(out["subject"].isin(late) & (out["time"] == "week2"))]
    # As a partial extract gives them: arms already coded (services/datasets.py).
    dataset = AnalysisDataset(relabel(cut, {"ketamine": "B", "midazolam": "A"}), ("A", "B"))
    run = AnalysisRunService._interim(
        protocol, dataset, frozenset(late), None, "partial", Readiness(tuple(late), "week2")
    )
    r, im = run.results, run.results.interim
    assert im is not None
    kept = cut["outcomes"]
    primary = kept[(kept["measure"] == "caps5_total") & (kept["time"] == "week2")]
    with_primary = int(frames["subjects"]["subject"].isin(primary["subject"]).sum())
    assert with_primary <= 20 - 2
    assert sum(r.consort.with_primary.values()) == with_primary
    assert im.observed_patients == with_primary and im.planned_patients == 40
    assert im.information == pytest.approx(with_primary / 40)
    design = spending_design(
        plan.interim.overall_alpha, plan.interim.sides, (with_primary / 40, 1.0), "pocock"
    )
    assert im.nominal_alpha == pytest.approx(design.looks[0].nominal_alpha)
    assert r.alpha == im.nominal_alpha
    assert f"{plan.interim.overall_alpha:g}" in r.alpha_note
    files = build_report(r, tmp_path, interim=True, generated_on=RUN, data_cutoff=CUTOFF)
    html = files.index_html.read_text(encoding="utf-8")
    text = " ".join(_text(PdfReader(files.pdf)).split())
    stated = f"{r.alpha:.4g}"
    for where in (html, text):
        assert f"Alpha {stated} (nominal level of this look" in where
        assert f"{plan.alpha:g}" not in where  # no second alpha
        assert f"{with_primary} of 40 planned patients with primary-endpoint data" in where
        assert f"information {with_primary} ÷ 40 = {with_primary / 40:.3f}" in where
    assert f"{im.nominal_alpha:.4f}" in text  # the boundary table's nominal alpha, the same
    assert (
        "DSMB interim packet (arms coded)" in text and "Confidential: DSMB closed session" in text
    )
    rows = r.ae_summary
    assert rows is not None and rows.arms == ("A", "B")  # the packet's safety summary is coded
    assert "A (N = 10)" in text.replace("\u00a0", " ")


def test_figure_4_has_its_bands_censoring_marks_in_colour_and_numbers_at_risk(
    results: AnalysisResults, frames: dict[str, pd.DataFrame]
) -> None:
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_hex

    fig = durability_figure(results)
    ax, risk = fig.axes
    curves = results.durability.curves
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(curves)
    legend = ax.get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    for curve in curves:
        line = next(ln for ln in ax.get_lines() if ln.get_label().startswith(f"{curve.group} (n"))
        label = f"{curve.group}: censored (still responding)"
        assert label in labels
        handle = legend.legend_handles[labels.index(label)]
        assert to_hex(handle.get_color()) == to_hex(line.get_color())  # type: ignore[union-attr]
        assert f"{curve.group}: 95% confidence band" in labels
    # Numbers at risk under the axis: patients whose follow-up reaches each tick.
    dur = frames["durability"]
    for j, curve in enumerate(curves):
        times = dur.loc[dur["arm"] == curve.group, "time_days"]
        row = sorted(
            (t.get_position()[0], t.get_text()) for t in risk.texts if t.get_position()[1] == j
        )
        assert row, curve.group
        for tick, shown in row:
            assert int(shown) == int((times >= tick).sum()), (curve.group, tick)


def test_table_1_counts_missing_values_per_column() -> None:
    from ketamine_ptsd.core.analysis import table_one

    subjects = pd.DataFrame(
        {
            "subject": ["P1", "P2", "P3", "P4"],
            "arm": ["A", "A", "B", "B"],
            "age_years": [30.0, None, 40.0, None],
            "bmi_kg_m2": [20.0, 22.0, 24.0, 26.0],
            "ptsd_duration_years": [1.0, 2.0, 3.0, 40.0],
        }
    )
    t1 = table_one(subjects, ("A", "B")).set_index("characteristic")
    assert list(t1.columns) == ["A", "B", "Total"]
    assert t1.loc["Age, years: missing, n"].tolist() == ["1", "1", "2"]
    assert "BMI, kg/m²: missing, n" not in t1.index
    assert t1.loc["Age, years, mean (SD)", "Total"] == "35.0 (7.1)"
    assert t1.loc["PTSD duration, years, median (IQR)", "Total"] == "2.5 (1.8–12.2)"


def test_a_frozen_packet_is_written_again_byte_for_byte(
    results: AnalysisResults, frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    codes = {"ketamine": "B", "midazolam": "A"}
    coded = analyse(AnalysisDataset(frames, ARMS), blinded=True, arm_codes=codes)
    a = build_report(coded, tmp_path / "a", interim=True, generated_on=RUN, data_cutoff=CUTOFF)
    b = build_report(coded, tmp_path / "b", interim=True, generated_on=RUN, data_cutoff=CUTOFF)
    assert a.pdf.read_bytes() == b.pdf.read_bytes()
