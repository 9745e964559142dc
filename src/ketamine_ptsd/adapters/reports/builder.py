"""Write the trial report (or the DSMB interim packet) as HTML with PNG figures, and as PDF.

``build_report(results, out_dir, interim=False)`` renders an
:class:`~ketamine_ptsd.core.analysis.AnalysisResults` — nothing is recomputed here
except formatting. Output in ``out_dir``:

- ``index.html`` (Jinja2 template ``templates/report.html.j2``, figures linked from
  ``figures/``), self-contained apart from those PNGs;
- ``report.pdf`` — made with matplotlib's ``PdfPages`` (``pdf_layout.py``): the tables typeset
  with rules in a proportional font and flowed down A4 landscape pages, then the figures; every
  page carries a running header (study, report kind, run date, data cut-off) and its number.
  Chosen because it needs no system libraries (WeasyPrint needs Pango/Cairo, wkhtmltopdf a
  binary) and matplotlib is already a dependency; the PDF holds the same numbers as the HTML.
- ``figures/*.png``.

The interim packet (§3: the DSMB saw "drug A / drug B") is refused unless the results were
computed blinded, so an unblinded number cannot reach it by mistake.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from ketamine_ptsd.adapters.private_files import create_private, private_dir, write_private
from ketamine_ptsd.adapters.reports.figures import (
    consort_figure,
    durability_figure,
    lsmeans_figure,
    safety_infusion_figure,
)
from ketamine_ptsd.adapters.reports.pdf_layout import (
    PageHeader,
    cover_preface,
    figure_page,
    number_pages,
    table_pages,
)
from ketamine_ptsd.adapters.reports.sensitivity import sensitivity_table, tipping_point_figure
from ketamine_ptsd.core.analysis import (
    TIME_LABELS,
    AnalysisResults,
    ComparisonRow,
)

__all__ = ["CUTOFF_RULE", "ReportFiles", "ReportWriteError", "Table", "build_report", "report_kind"]

_FIG2 = [
    ("caps5_total", "CAPS-5 total"),
    ("caps5_intrusion", "Intrusion (B)"),
    ("caps5_avoidance", "Avoidance (C)"),
    ("caps5_negative_cognitions_mood", "Negative cognitions and mood (D)"),
    ("caps5_arousal_reactivity", "Arousal and reactivity (E)"),
]


#: Under the published-vs-this-run table: what a reader should expect of the right column.
COMPARISON_NOTE = (
    "This run is one draw of the synthetic trial, calibrated to the published counts and "
    "aggregates: counts match by construction; test statistics vary from draw to draw as they "
    "would between trials of 30 patients (the calibration is tested over many seeds)."
)


class ReportWriteError(RuntimeError):
    """A report file could not be written (the message names it)."""


@dataclass(frozen=True)
class Table:
    """A table as the template and the PDF draw it."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    #: Rows (0-based) set in bold: a group's heading row, e.g. a MedDRA SOC above its PTs.
    emphasis: frozenset[int] = frozenset()


@dataclass(frozen=True)
class ReportFiles:
    index_html: Path
    pdf: Path
    figures: tuple[Path, ...]
    tables: tuple[str, ...]


def _p(p: float) -> str:
    if p is None or math.isnan(p):
        return "–"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _num(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}"


def _tables(results: AnalysisResults, comparison: tuple[ComparisonRow, ...]) -> list[Table]:
    arms = results.arms
    out: list[Table] = []
    t1 = results.table1
    out.append(
        Table(
            "table1",
            "Table 1. Baseline characteristics by arm",
            ("Characteristic", *(str(c) for c in t1.columns[1:])),
            tuple(tuple(str(v) for v in row) for row in t1.itertuples(index=False)),
            "Mean (SD) or n (%) of the column's patients; Total is every randomized patient. "
            "PTSD duration is also shown as median (IQR: first to third quartile) because it is "
            "skewed: a time since an event, never negative, with a long right tail (in one arm of "
            "the published table its SD exceeds its mean: 15.1 (17.8) years). A measure with "
            "missing values has a 'missing, n' row under it; the others have none missing.",
        )
    )
    type3_rows, diff_rows = [], []
    for key, (spec, res) in results.mmrm.items():
        for t in res.type3:
            type3_rows.append(
                (spec.label, t.effect, f"F({t.num_df}, {t.den_df:.0f})", _num(t.F), _p(t.p))
            )
        for d in res.differences:
            lsm = {m.group: m for m in res.lsmeans if m.time == d.time}
            diff_rows.append(
                (
                    spec.label,
                    TIME_LABELS.get(d.time, d.time),
                    *(f"{lsm[a].estimate:.2f} ({lsm[a].se:.2f})" for a in arms),
                    f"{d.estimate:.2f}",
                    _num(d.se),
                    _p(d.p),
                    f"{d.d:.2f} ({d.d_ci_low:.2f} to {d.d_ci_high:.2f})",
                )
            )
        del key
    out.append(
        Table(
            "type3",
            "Mixed models (MMRM, REML, compound symmetry, between-within df): Type 3 tests",
            ("Outcome", "Effect", "df", "F", "p"),
            tuple(type3_rows),
            f"Alpha {results.alpha_statement}.",
        )
    )
    out.append(
        Table(
            "differences",
            f"LS means (SE) by arm and differences ({results.difference_label})",
            (
                "Outcome",
                "Time",
                *(f"{a} LS mean (SE)" for a in arms),
                "Difference",
                "SE",
                "p",
                "Cohen's d (95% CI)",
            ),
            tuple(diff_rows),
        )
    )
    ord_rows = []
    for spec, fit in results.ordinal.values():
        for t in fit.type3:
            den = "∞" if t.den_df is None else f"{t.den_df:.0f}"
            ord_rows.append(
                (spec.label, t.effect, t.test, f"F({t.num_df}, {den})", _num(t.F), _p(t.p))
            )
    out.append(
        Table(
            "ordinal",
            "CGI-S and CGI-I: cumulative-logit mixed models (random "
            "subject intercept, adaptive Gauss–Hermite)",
            ("Outcome", "Effect", "Test", "df", "F", "p"),
            tuple(ord_rows),
            "Wald F with between-within df and likelihood-ratio chi-square/df.",
        )
    )
    r = results.responders
    resp_rows = [
        tuple(
            [
                a,
                f"{r.counts[a][0]}/{r.counts[a][1]}",
                f"{100 * r.counts[a][0] / max(r.counts[a][1], 1):.1f}%",
            ]
        )
        for a in arms
    ]
    spec = r.spec
    note = (
        f"Response: {spec.label} ≥ {r.threshold:.0%} below {TIME_LABELS.get(spec.baseline, spec.baseline).lower()} "
        f"at {TIME_LABELS.get(spec.primary, spec.primary)} (the protocol's definition, PROTOCOL.md §8)."
    )
    if r.result is not None:
        x = r.result
        note += (
            f" Pearson χ² {x.chi2_pearson:.2f} (p {_p(x.p_pearson)}); Yates χ² "
            f"{x.chi2_yates:.2f} (p {_p(x.p_yates)}); Fisher p {_p(x.p_fisher)}; "
            f"risk difference {x.risk_difference:.3f} ({x.risk_difference_ci_low:.3f} to "
            f"{x.risk_difference_ci_high:.3f}); NNT {x.nnt:.1f} ({x.nnt_ci_text})."
        )
    out.append(
        Table(
            "responders", "Responders at week 2", ("Arm", "Responders", "%"), tuple(resp_rows), note
        )
    )
    km_rows = tuple(
        (
            c.group,
            str(c.n),
            str(c.events),
            _num(c.median, 1),
            f"{_num(c.median_ci_low, 1)} to {_num(c.median_ci_high, 1)}",
            _num(c.q25, 1),
            _num(c.q75, 1),
        )
        for c in results.durability.curves
    )
    lr = results.durability.logrank
    out.append(
        Table(
            "durability",
            "Durability: days to loss of response among responders",
            ("Arm", "N", "Events", "Median", "95% CI", "Q1", "Q3"),
            km_rows,
            f"Log-rank χ² {lr.chi2:.2f}, df {lr.df}, p {_p(lr.p)}." if lr else "",
        )
    )
    side = results.safety.side_effects
    side_rows = []
    for row in side.itertuples(index=False):
        rec = row._asdict()
        when = "after infusion start" if rec["timing"] == "after_start" else "before infusion"
        side_rows.append(
            (
                rec["symptom"].replace("_", " "),
                when,
                *(f"{rec[f'{a}_n']} ({rec[f'{a}_pct']:.0f}%)" for a in arms),
            )
        )
    out.append(
        Table(
            "side_effects",
            "Side effects (PRISE): patients reporting, by arm",
            ("Symptom", "When", *arms),
            tuple(side_rows),
        )
    )
    ae = results.safety.adverse_events
    out.append(
        Table(
            "adverse_events",
            "Adverse events",
            (
                "Subject",
                "Arm",
                "Term",
                "Infusion",
                "Severity",
                "Serious",
                "Related",
                "Action",
                "Outcome",
            ),
            tuple(
                (
                    str(x.subject),
                    str(x.arm),
                    str(x.term),
                    str(x.infusion),
                    str(x.severity),
                    "yes" if x.serious else "no",
                    str(x.related),
                    str(x.action),
                    str(x.outcome),
                )
                for x in ae.itertuples(index=False)
            ),
            f"{len(ae)} events; serious: {int(ae['serious'].astype(bool).sum()) if len(ae) else 0}.",
        )
    )
    if results.ae_summary is not None:
        out.append(_ae_summary_table(results))
    iv = results.safety.interventions
    out.append(
        Table(
            "interventions",
            "Interventions during infusions",
            ("Subject", "Arm", "Infusion", "Minute", "Drug", "Dose (mg)", "Route", "Reason"),
            tuple(
                (
                    str(x.subject),
                    str(x.arm),
                    str(x.infusion),
                    str(x.minute),
                    str(x.drug),
                    f"{x.dose_mg:g}",
                    str(x.route),
                    str(x.reason),
                )
                for x in iv.itertuples(index=False)
            ),
        )
    )
    cs = results.safety.cssrs
    out.append(
        Table(
            "cssrs",
            "C-SSRS: suicidal ideation and behaviour",
            ("Arm", "N", "Positive at baseline", "Improved by week 2", "High-risk ratings"),
            tuple(
                (
                    str(x.arm),
                    str(x.n),
                    str(x.positive_baseline),
                    str(x.improved_week2),
                    str(x.high_risk_ratings),
                )
                for x in cs.itertuples(index=False)
            ),
        )
    )
    if results.blinding is not None:
        out.append(_blinding_table(results))
    if results.interim is not None:
        out.insert(0, _interim_table(results))
    if results.sensitivity is not None and not results.blinded:
        out.append(sensitivity_table(results.sensitivity, results.difference_label))
    if comparison:
        out.append(
            Table(
                "published",
                "Published (PROTOCOL.md §10) vs this run",
                ("Figure", "Published", "This run"),
                tuple((c.figure, c.published, c.this_run) for c in comparison),
                COMPARISON_NOTE,
            )
        )
    return out


def _ae_summary_table(results: AnalysisResults) -> Table:
    """Patients with at least one adverse event by arm and in total: overall, serious,
    related, leading to discontinuation, then by MedDRA SOC and PT (issue 14). In the DSMB
    packet the arms are the codes A/B, as everywhere in it."""
    s = results.ae_summary
    assert s is not None
    total_n = sum(s.n.values())

    def cell(k: int, n: int) -> str:
        return f"{k} ({100.0 * k / n:.1f}%)" if n else "0"

    rows = []
    bold = set()
    for k, r in enumerate(s.rows):
        label = r.label if r.level != "pt" else f"    {r.label}"
        if r.level != "pt":
            bold.add(k)
        rows.append(
            (
                label,
                *(cell(r.patients[a], s.n[a]) for a in s.arms),
                cell(r.total, total_n),
            )
        )
    release = f"MedDRA {', '.join(s.releases)}" if s.releases else "no MedDRA coding yet"
    note = (
        f"Patients with at least one adverse event, n (% of the arm's randomized patients); a "
        f"patient counts once per row. {s.events} adverse events of randomized patients, "
        f"{s.coded_events} coded ({release}: system organ classes in bold, preferred terms "
        "indented under them); "
        f"{s.uncoded_events} not yet coded, listed by verbatim term. Related: possible, probable "
        "or definite. Leading to discontinuation: the action taken says the study treatment was "
        "stopped for good, or the patient's withdrawal reason names the event (the record keeps "
        "no structured action on the study drug)."
    )
    return Table(
        "ae_summary",
        "Safety summary: patients with adverse events by arm (MedDRA SOC and PT)",
        (
            "Adverse events",
            *(f"{a} (N\u00a0=\u00a0{s.n[a]})" for a in s.arms),
            f"Total (N\u00a0=\u00a0{total_n})",
        ),
        tuple(rows),
        note,
        frozenset(bold),
    )


_RESPONDENT_LABELS = {
    "patient": "Patient",
    "outcome_rater": "Outcome rater",
    "infusion_nurse": "Infusion nurse",
}


def _blinding_table(results: AnalysisResults) -> Table:
    """Blinding integrity (issue 15; CONSORT 2010 item 11b): per respondent type, each true
    arm's guesses with Bang's index (SE, 95% CI), then James' index over both arms. In the
    DSMB packet arms and guesses are the codes A/B: the packet names no drug."""
    assessment = results.blinding
    assert assessment is not None
    arms = assessment.arms
    header = (
        "Respondent",
        "True arm",
        "N",
        *(f"Guessed {a}" for a in arms),
        "Don't know",
        "Index",
        "SE",
        "95% CI",
    )
    rows: list[tuple[str, ...]] = []
    for row in assessment.rows:
        who = _RESPONDENT_LABELS.get(row.tally.respondent.value, row.tally.respondent.value)
        bang = {b.group: b for b in row.indices.bang} if row.indices is not None else {}
        for arm, counts in zip(arms, row.tally.counts, strict=True):
            b = bang.get(arm)
            rows.append(
                (
                    who,
                    arm,
                    str(sum(counts)),
                    *(str(c) for c in counts),
                    f"Bang {_num(b.index)}" if b else row.note or "–",
                    _num(b.se) if b else "–",
                    f"{_num(b.ci_low)} to {_num(b.ci_high)}" if b else "–",
                )
            )
        james = row.indices.james if row.indices is not None else None
        rows.append(
            (
                who,
                "both arms",
                str(row.tally.n),
                *("" for _ in arms),
                "",
                f"James {_num(james.index)}" if james else row.note or "–",
                _num(james.se) if james else "–",
                f"{_num(james.ci_low)} to {_num(james.ci_high)}" if james else "–",
            )
        )
    if assessment.empty:
        note = (
            "No blinding guesses have been recorded, so the blind's integrity cannot be "
            "assessed yet (the guesses are asked at the end of treatment)."
        )
    else:
        note = (
            "Guesses at the end of treatment (PROTOCOL.md §3). Bang's index per arm (Bang, Ni & "
            "Davis 2004): -1 all wrong, 0 random guessing, 1 all correct; James' index (James et "
            'al. 1996): 0 all correct, 0.5 random guessing, 1 all "don\'t know" (an upper '
            "limit below 0.5 suggests unblinding). Two-sided Wald 95% confidence intervals."
        )
    return Table("blinding", "Blinding integrity: guesses of the arm", header, tuple(rows), note)


def _interim_table(results: AnalysisResults) -> Table:
    """The DSMB's stopping boundaries (each look) and the interim statistic against them."""
    im = results.interim
    assert im is not None
    rows = []
    for k, look in enumerate(im.design.looks, start=1):
        final = look.information >= 1.0
        rows.append(
            (
                "final" if final else f"interim {k}",
                f"{look.information:.3f}",
                f"{look.z:.3f}",
                f"{look.nominal_alpha:.4f}",
                f"{look.cumulative_alpha:.4f}",
                f"{im.z:.2f}" if k == 1 else "–",
                ("crossed" if im.crossed else "not crossed") if k == 1 else "–",
            )
        )
    return Table(
        "interim",
        "Group-sequential stopping boundaries (DSMB interim, PROTOCOL.md §9)",
        (
            "Look",
            "Information (observed ÷ planned)",
            "Boundary |z|" if im.sides == 2 else "Boundary z",
            "Nominal alpha",
            "Cumulative alpha spent",
            "Interim z",
            "Boundary",
        ),
        tuple(rows),
        im.description,
    )


def _can_fork() -> bool:
    """``fork`` exists and this process runs one thread (a forked child gets only the calling
    thread; a lock another thread held at the fork would never be released in the child)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


#: How the report's data cut-off is chosen (printed on the first page beside the date).
CUTOFF_RULE = (
    "The data cut-off is the time the record was locked when the analysis ran on a locked "
    "database (the final report), the time the data were frozen for the data monitoring "
    "committee's interim packet, and otherwise the latest date recorded in the analysed data (screening, "
    "allocation, adverse-event onset)."
)


def report_kind(results: AnalysisResults, interim: bool) -> str:
    """The report's kind for its title and running header."""
    if interim:
        return "DSMB interim packet (arms coded)"
    return "Final report" if len(results.arms) > 1 else "Final report (open label)"


def _cover_lines(
    results: AnalysisResults,
    kind: str,
    generated_on: dt.date | None,
    data_cutoff: str | None,
    data_lock: str | None,
) -> list[tuple[str, str]]:
    lines = [
        ("Report", kind),
        ("Run date", generated_on.isoformat() if generated_on else "not given"),
        ("Data cut-off", f"{data_cutoff or 'not known'}. {CUTOFF_RULE}"),
    ]
    if data_lock:
        lines.append(("Data", data_lock))
    lines += [
        ("Arms", ", ".join(results.arms)),
        ("Differences", results.difference_label),
        ("Alpha", results.alpha_statement),
    ]
    lines += [("Note", n) for n in results.notes]
    lines += [("Not analysed", m) for m in results.missing]
    return lines


def _write_pdf(
    pdf_path: Path,
    title: str,
    results: AnalysisResults,
    generated_on: dt.date | None,
    figures: list[Figure],
    tables: list[Table],
    data_lock: str | None = None,
    *,
    kind: str = "",
    data_cutoff: str | None = None,
    interim: bool = False,
    constrained: list[bool] | None = None,
) -> None:
    """The PDF: the opening lines and the tables flowed down the first pages, then each figure
    on its own page; every page with the running header and its number (pdf_layout.py)."""
    pages = table_pages(
        tables,
        preface=cover_preface(
            title, _cover_lines(results, kind, generated_on, data_cutoff, data_lock)
        ),
    )
    pages += [
        figure_page(f, constrained=c)
        for f, c in zip(figures, constrained or [False] * len(figures), strict=True)
    ]
    number_pages(
        pages,
        PageHeader(
            study=results.title,
            kind=kind,
            run_date=generated_on.isoformat() if generated_on else "",
            cutoff=data_cutoff or "",
            confidential="Confidential: DSMB closed session" if interim else "",
        ),
    )
    # TrueType embedding (fonttype 42) keeps the PDF's text selectable and searchable.
    # No creation date in the PDF: the same data give the same file (a frozen DSMB packet is
    # made again byte for byte, issue 17).
    with (
        matplotlib.rc_context({"pdf.fonttype": 42}),
        PdfPages(pdf_path, metadata={"CreationDate": None}) as pdf,
    ):
        for page in pages:
            pdf.savefig(page)


def build_report(
    results: AnalysisResults,
    out_dir: str | Path,
    interim: bool = False,
    *,
    comparison: tuple[ComparisonRow, ...] = (),
    generated_on: dt.date | None = None,
    parallel: bool = False,
    data_lock: str | None = None,
    data_cutoff: str | None = None,
) -> ReportFiles:
    """Write ``index.html``, ``report.pdf`` and ``figures/`` into ``out_dir``.

    ``comparison``: rows of "published vs this run" (the demo's table,
    ``core.analysis.published_comparison``); ignored for the interim packet.
    ``generated_on`` is printed on the cover (the caller's clock; omitted when ``None``).
    ``data_lock``: the database lock the final analysis ran on (services/locks.py), printed on
    the cover as the data's identity.
    ``data_cutoff``: the data cut-off as the caller decided it by :data:`CUTOFF_RULE`
    (services/analysis_runs.py ``DataCutoff``), printed on every page of the PDF.
    ``parallel``: write the PDF in a forked process while this one draws the PNGs and the HTML
    (the two take about as long). Only for a single-threaded caller such as the command line:
    forking a threaded process (a web server) can deadlock the child, so where another thread
    is running, or the platform has no ``fork``, the PDF is written here, after the rest.
    """
    if interim and not results.blinded:
        raise ValueError("the DSMB interim packet needs blinded results (arms coded A/B)")
    out = private_dir(out_dir)
    fig_dir = private_dir(out / "figures")
    if interim:
        comparison = ()
    figures: list[tuple[str, str, Figure]] = [
        ("consort", "Figure 1. CONSORT flow diagram", consort_figure(results)),
    ]
    if results.mmrm:
        figures.append(
            (
                "figure2",
                "Figure 2. CAPS-5 total and clusters",
                lsmeans_figure(
                    results,
                    _FIG2,
                    "Figure 2. CAPS-5 total severity and clusters, LS means ± SE by arm",
                ),
            )
        )
        figures.append(
            (
                "figure3",
                "Figure 3. MADRS",
                lsmeans_figure(
                    results,
                    [("madrs_total", "MADRS total")],
                    "Figure 3. MADRS total, LS means ± SE by arm",
                    ncols=1,
                ),
            )
        )
    if results.durability.curves:
        figures.append(
            ("figure4", "Figure 4. Loss of response (Kaplan–Meier)", durability_figure(results))
        )
    figures.append(
        (
            "safety_infusion",
            "Infusion-day dissociation, symptoms and vital signs",
            safety_infusion_figure(results),
        )
    )
    if results.sensitivity is not None and not interim and results.sensitivity.tipping:
        sens = results.sensitivity
        figures.append(
            (
                "tipping_point",
                f"Tipping point: {sens.label}, jump to reference",
                tipping_point_figure(sens.tipping, outcome=sens.unit),
            )
        )
    tables = _tables(results, comparison)
    kind = report_kind(results, interim)
    title = ("DSMB interim packet (arms coded)" if interim else "Trial report") + (
        f" — {results.title}"
    )
    # Which figures lay themselves out (the PDF solves their layout again at the page's size).
    constrained = [
        isinstance(f.get_layout_engine(), ConstrainedLayoutEngine) for _, _, f in figures
    ]
    pdf_path = create_private(out / "report.pdf")  # 0600 before the PDF writer opens it
    writer = None
    if parallel and _can_fork():
        # The child inherits the figures and tables as they are now (no pickling) and solves
        # each figure's layout for itself.
        writer = multiprocessing.get_context("fork").Process(
            target=_write_pdf,
            args=(
                pdf_path,
                title,
                results,
                generated_on,
                [f for _, _, f in figures],
                tables,
                data_lock,
            ),
            kwargs={
                "kind": kind,
                "data_cutoff": data_cutoff,
                "interim": interim,
                "constrained": constrained,
            },
            name="report-pdf",
        )
        writer.start()
    saved: list[Path] = []
    for key, _, fig in figures:
        path = create_private(fig_dir / f"{key}.png")
        fig.savefig(path, dpi=110)
        # The constrained layout was solved while drawing the PNG (in inches, so it holds at
        # the PDF's 72 dpi too); keep it rather than solve it again for the PDF page (where
        # the figure fits the page at its own size, pdf_layout.figure_page).
        fig.set_layout_engine("none")
        saved.append(path)
    env = Environment(
        loader=PackageLoader("ketamine_ptsd.adapters.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    context: dict[str, Any] = {
        "title": title,
        "interim": interim,
        "results": results,
        "tables": {t.key: t for t in tables},
        "figures": [(key, label, f"figures/{key}.png") for key, label, _ in figures],
        "generated_on": generated_on.isoformat() if generated_on else None,
        "data_lock": data_lock,
        "data_cutoff": data_cutoff,
        "cutoff_rule": CUTOFF_RULE,
        "kind": kind,
    }
    html = env.get_template("report.html.j2").render(**context)
    index = out / "index.html"
    write_private(index, html)
    if writer is None:
        _write_pdf(
            pdf_path,
            title,
            results,
            generated_on,
            [f for _, _, f in figures],
            tables,
            data_lock,
            kind=kind,
            data_cutoff=data_cutoff,
            interim=interim,
            constrained=constrained,
        )
    else:
        writer.join()
        if writer.exitcode != 0:
            raise ReportWriteError(
                f"the PDF report {pdf_path} could not be written (the process writing it "
                f"exited with code {writer.exitcode}; its error is printed above)"
            )
    return ReportFiles(index, pdf_path, tuple(saved), tuple(t.key for t in tables))
