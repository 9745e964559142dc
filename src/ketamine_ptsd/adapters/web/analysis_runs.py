"""Running the protocol's analysis for the web's analysis page (PROTOCOL.md §3, §9, §10).

The same path as the CLI's ``report`` (adapters/cli/main_cmds.py ``_analyse_and_report``):
``services.datasets.extract`` as the signed-in statistician → ``core.analysis.analyse``
with the protocol's analysis plan → ``adapters.reports.build_report``. Which report is built is
decided by the statistician's *live* sanction, read through the services (never by the web):

* no sanction → nothing runs: a blinded extract has no arm column, so there is nothing to compare
  (``AnalysisFrames.to_analysis_dataset`` refuses it);
* partial → the DSMB interim packet, arms coded A/B (§3: the interim was run "drug A / drug B"),
  with the group-sequential boundary when the protocol gives ``analysis.interim.planned_patients``;
* full → the final trial report with arm ids.

A report takes seconds (MMRMs, figures, PDF), so it is built on request ("Run analysis") into a
private temporary folder and the last one per user is kept in this process; the page and the
files are served only while the user's live sanction is still the level the report was built
under, so a revoked or expired sanction hides a report already built.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from ketamine_ptsd.core.roles import AnalysisUnblinding
from ketamine_ptsd.services import Actor, Services
from ketamine_ptsd.services.access import analysis_unblinding

__all__ = ["AnalysisRun", "RunStore", "live_sanction", "run_analysis"]

#: The report's relative links, rewritten to the authenticated routes that serve them.
_FIGURE_SRC = re.compile(r'src="figures/([a-z0-9_]+\.png)"')
_PDF_HREF = 'href="report.pdf"'
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL)


@dataclass
class AnalysisRun:
    """One built report: its folder (deleted with the run), the level it was built under."""

    user_id: int
    protocol_name: str
    level: str  # partial | full | open_label
    built_at: dt.datetime
    path: Path  # a private folder (mode 0700, tempfile.mkdtemp)
    missing: tuple[str, ...]
    seconds: float

    def __post_init__(self) -> None:
        # Deleted when the run is replaced, dropped or collected, and at interpreter exit.
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)

    def cleanup(self) -> None:
        self._finalizer()

    @property
    def interim(self) -> bool:
        return self.level == AnalysisUnblinding.PARTIAL.value

    def body_html(self) -> str:
        """The report's body (our own autoescaped template), links pointed at the web routes.

        The report's ``<style>`` is dropped: the app's CSP allows no inline style; the app's
        stylesheet lays out the tables and figures instead.
        """
        html = (self.path / "index.html").read_text(encoding="utf-8")
        match = _BODY.search(html)
        body = match.group(1) if match else ""
        body = _FIGURE_SRC.sub(r'src="/analysis/report/figures/\1"', body)
        return body.replace(_PDF_HREF, 'href="/analysis/report/report.pdf"')

    def figure(self, name: str) -> Path | None:
        """A figure of this report by file name, or None (no path outside ``figures/``)."""
        if not re.fullmatch(r"[a-z0-9_]+\.png", name):
            return None
        path = self.path / "figures" / name
        return path if path.is_file() else None


@dataclass
class RunStore:
    """The last report per user, in this process (a new run replaces and deletes the old)."""

    _runs: dict[int, AnalysisRun] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, user_id: int) -> AnalysisRun | None:
        with self._lock:
            return self._runs.get(user_id)

    def put(self, run: AnalysisRun) -> None:
        with self._lock:
            old = self._runs.get(run.user_id)
            self._runs[run.user_id] = run
        if old is not None:
            old.cleanup()

    def clear(self) -> None:
        """Delete every run's folder (the server is shutting down)."""
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.cleanup()

    def drop(self, user_id: int) -> None:
        with self._lock:
            old = self._runs.pop(user_id, None)
        if old is not None:
            old.cleanup()


def live_sanction(services: Services, actor: Actor) -> str:
    """The strongest live sanction of ``actor`` (none | partial | full), read-only.

    The same reading the dataset service applies when it extracts (services/access.py).
    """
    with services.context.uow(actor, write=False) as uow:
        return analysis_unblinding(uow.session, actor, uow.now).value


def run_analysis(
    services: Services, actor: Actor, protocol_name: str, today: dt.date
) -> AnalysisRun | None:
    """Extract, analyse and build the report as ``actor``; None when the extract is blinded."""
    import time

    from ketamine_ptsd.adapters.reports import build_report

    started = time.perf_counter()
    run = services.analysis_runs.run(actor, protocol_name, today=today)
    if run is None:
        return None
    results, interim = run.results, run.interim
    folder = Path(tempfile.mkdtemp(prefix="kp-analysis-"))
    try:
        build_report(
            results,
            folder,
            interim=interim,
            generated_on=today,
            data_lock=run.lock.describe() if run.lock is not None else None,
            data_cutoff=run.cutoff.describe() if run.cutoff is not None else None,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    assert actor.user_id is not None
    return AnalysisRun(
        user_id=actor.user_id,
        protocol_name=protocol_name,
        level=run.level,
        built_at=services.context.clock.now(),
        path=folder,
        missing=tuple(results.missing),
        seconds=time.perf_counter() - started,
    )
