"""Spreadsheet-safe CSV from the command line's own writers (SYSTEM.md §15; issue 14 "a test
per exporter"): the demo's published-vs-this-run table, and the datasets ``import long`` and
``import odm`` write beside their reports. The interop and analysis-dataset exporters are
covered in tests/adapters/interop/test_csv_injection.py."""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.cli.main_cmds import _write_comparison_csv
from ketamine_ptsd.adapters.interop import odm
from ketamine_ptsd.services.datasets import AnalysisFrames
from ketamine_ptsd.services.spreadsheet import FORMULA_STARTS

sys.path.insert(0, str(Path(__file__).parents[1] / "interop"))
from interop_support import source
from test_csv_injection import PAYLOADS, _poisoned

SIGNED_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _dangerous(path: Path) -> list[str]:
    rows = csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_STARTS) and not SIGNED_NUMBER.fullmatch(cell)
    ]


@dataclass(frozen=True)
class _Row:
    figure: str
    published: str
    this_run: str


def test_the_demo_comparison_table_neutralises_formulas(tmp_path: Path) -> None:
    path = tmp_path / "comparison.csv"
    _write_comparison_csv([_Row(PAYLOADS[0], "-2.5", "@SUM(1,1)")], path)
    assert _dangerous(path) == []
    text = path.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and ",-2.5," in text  # a signed number stays a number


def test_import_long_writes_a_safe_dataset(tmp_path: Path) -> None:
    data = tmp_path / "site.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "arm", "t", "m", "v", "trauma"])
        for i in range(12):
            for t, v in (("0", 40 + (i * 7) % 11), ("1", 30 + (i * 5) % 13 - 3 * (i % 2))):
                trauma = PAYLOADS[i % len(PAYLOADS)]
                writer.writerow([i, "A" if i % 2 else "B", t, "caps", v, trauma])
    out = tmp_path / "out"
    result = CliRunner().invoke(
        build_app(),
        [
            "import", "long", str(data), "--subject", "id", "--group", "arm", "--time", "t",
            "--measure", "m", "--value", "v", "--subject-column", "trauma", "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    subjects = out / "dataset" / "subjects.csv"
    assert "'=HYPERLINK" in subjects.read_text(encoding="utf-8")
    for path in (out / "dataset").glob("*.csv"):
        assert _dangerous(path) == [], path.name


def test_import_odm_writes_a_safe_dataset_and_odm_keeps_the_raw_text(tmp_path: Path) -> None:
    base = source("full")
    frames = _poisoned(dict(base.extract.frames))
    extract = AnalysisFrames(base.extract.protocol_name, frames, base.extract.arms, "full")
    poisoned = type(base)(base.protocol, extract, base.assessments, base.infusions, base.patients)
    [f] = odm.to_files(poisoned)
    assert (
        odm.read_odm(f.content, base.protocol).frames["adverse_events"]["term"].isin(PAYLOADS).all()
    )  # XML keeps the value as entered
    path = tmp_path / "odm.xml"
    path.write_bytes(f.content)
    out = tmp_path / "out"
    result = CliRunner().invoke(build_app(), ["import", "odm", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = sorted((out / "dataset").glob("*.csv"))
    assert len(written) == len(frames)
    for csv_path in written:
        assert _dangerous(csv_path) == [], csv_path.name
