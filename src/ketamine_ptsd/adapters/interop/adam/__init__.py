"""CDISC ADaM: ADSL, ADQS, ADTTE and ADAE from the SDTM domains and the analysis extract.

``derive`` builds the datasets (``datasets(source)``), ``metadata`` holds their variables,
labels (ADaM IG 1.3), types and keys, ``reverse`` rebuilds the analysis frames from ADaM alone
(``analysis_frames``, how a test reproduces the report's numbers). Files: each dataset as CSV
(spreadsheet-safe, ISO dates) and as SAS transport v5 (``adsl.xpt`` …; dates as SAS dates), and
``define.xml`` (Define-XML 2.1, ``interop/define.py``) describing them.

The blind (PROTOCOL.md §3) is the extract's: TRT01P/TRT01A/TRTP/TRTA are the protocol's arm
labels only under a full sanction (or an open-label protocol), "ARM A"/"ARM B" under a partial
one, blank without one; no dose is ever written.
"""

from __future__ import annotations

import pandas as pd

from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource

from .._common import csv_file
from .._xpt import transport_bytes
from .derive import TTE_PARAMCD, datasets, plan_outcomes, qs_key, treatment
from .metadata import (
    DATASET_CLASSES,
    DATASET_KEYS,
    DATASET_LABELS,
    DATASET_VARIABLES,
    DATE_VARIABLES,
    NUMERIC_VARIABLES,
    SPONSOR_VARIABLES,
    VARIABLE_LABELS,
)
from .reverse import analysis_frames

__all__ = [
    "DATASET_CLASSES",
    "DATASET_KEYS",
    "DATASET_LABELS",
    "DATASET_VARIABLES",
    "DATE_VARIABLES",
    "NUMERIC_VARIABLES",
    "SPONSOR_VARIABLES",
    "TTE_PARAMCD",
    "VARIABLE_LABELS",
    "analysis_frames",
    "datasets",
    "plan_outcomes",
    "qs_key",
    "to_files",
    "treatment",
    "xpt_bytes",
]


def xpt_bytes(name: str, frame: pd.DataFrame) -> bytes:
    """``frame`` as the SAS transport v5 file of ADaM dataset ``name``."""
    return transport_bytes(
        name,
        frame,
        dataset_label=DATASET_LABELS[name],
        labels=VARIABLE_LABELS,
        numeric=NUMERIC_VARIABLES,
        dates=DATE_VARIABLES,
    )


def to_files(source: InteropSource) -> list[ExportFile]:
    """Each dataset as CSV and XPT, and define.xml."""
    from .. import define

    files = []
    frames = datasets(source)
    for name, frame in frames.items():
        files.append(csv_file(f"{name.lower()}.csv", frame))
        files.append(
            ExportFile(
                f"{name.lower()}.xpt", xpt_bytes(name, frame), len(frame), "application/x-sas-xport"
            )
        )
    files.append(define.adam_define(source, frames))
    return files
