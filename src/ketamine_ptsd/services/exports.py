"""Exports of the analysis datasets to CSV or Parquet, role-checked and audited.

SYSTEM.md capability 11 (exports to CSV/Parquet and analysis datasets) and §Data (exports are
audit events). An export is an extraction (services/datasets.py, with the blind as the actor's
sanction allows) written as one file per frame; it needs both ``data.export`` and
``analysis_dataset.read`` (today: the statistician), and writes an ``export`` audit event naming
the frames, rows and format — never a value.

Bytes come back to the caller (the web app streams them, the CLI writes them): the service does
no file I/O of its own (STYLE.md "Our shape" §1).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum

from ketamine_ptsd.core.roles import Action

from .access import Actor, require
from .audit import AuditService
from .context import ServiceContext
from .datasets import AnalysisFrames, DatasetService
from .errors import ValidationFailed
from .spreadsheet import csv_bytes

__all__ = ["ExportFile", "ExportFormat", "ExportService"]


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


@dataclass(frozen=True)
class ExportFile:
    """One exported frame: a file name (``<protocol>_<frame>.<ext>``), its bytes, its rows."""

    name: str
    content: bytes
    rows: int
    media_type: str


class ExportService:
    """Write the analysis frames of a protocol as CSV or Parquet files (in memory)."""

    def __init__(self, ctx: ServiceContext, datasets: DatasetService, audit: AuditService) -> None:
        self._ctx = ctx
        self._datasets = datasets
        self._audit = audit

    def analysis_dataset(
        self,
        actor: Actor,
        *,
        protocol_name: str,
        fmt: str = "csv",
        frames: tuple[str, ...] | None = None,
    ) -> list[ExportFile]:
        """Export ``frames`` (all by default) of the protocol's analysis dataset."""
        require(actor, Action.EXPORT_DATA)
        require(actor, Action.ANALYSIS_DATASET_READ)
        try:
            kind = ExportFormat(fmt)
        except ValueError:
            raise ValidationFailed("fmt", "csv or parquet", fmt) from None
        extract: AnalysisFrames = self._datasets.extract(actor, protocol_name=protocol_name)
        names = frames or tuple(extract.frames)
        unknown = [n for n in names if n not in extract.frames]
        if unknown:
            raise ValidationFailed(
                "frames", f"frames are {', '.join(extract.frames)}", ", ".join(unknown)
            )
        files = []
        for name in names:
            frame = extract.frames[name]
            buffer = io.BytesIO()
            if kind is ExportFormat.CSV:
                buffer.write(csv_bytes(frame))
                media = "text/csv"
            else:
                frame.to_parquet(buffer, index=False)
                media = "application/vnd.apache.parquet"
            files.append(
                ExportFile(
                    f"{extract.protocol_name}_{name}.{kind.value}",
                    buffer.getvalue(),
                    len(frame),
                    media,
                )
            )
        self._audit.record_export(
            actor,
            f"analysis dataset {extract.protocol_name} ({extract.unblinding}) as {kind.value}: "
            + ", ".join(names),
            sum(f.rows for f in files),
        )
        return files
