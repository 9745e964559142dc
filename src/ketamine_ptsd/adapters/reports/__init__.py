"""Reports: the trial report and the DSMB interim packet, as HTML with figures and PDF
(PROTOCOL.md §9, §10; SYSTEM.md capability 9). See ``builder`` for the files written."""

from ketamine_ptsd.adapters.reports.builder import (
    ReportFiles,
    ReportWriteError,
    Table,
    build_report,
)

__all__ = ["ReportFiles", "ReportWriteError", "Table", "build_report"]
