"""Every command, given malformed input, exits 2 with one line on stderr naming the problem and
no traceback (SYSTEM.md: "bad input exits non-zero with one line naming the problem")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app

LONG = ("--subject", "a", "--group", "b", "--time", "c", "--measure", "d", "--value", "e")


def _files(folder: Path) -> dict[str, Path]:
    not_utf8 = folder / "latin1.json"
    not_utf8.write_bytes(b'\xff\xfe{"1": 2}')
    deep = folder / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    random_bytes = folder / "random.bin"
    random_bytes.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(4096)))
    (folder / "random.bin.checkpoint").write_text("", encoding="utf-8")
    data = folder / "long.csv"
    data.write_text("a,b,c,d,e\n1,x,t,m,1\n", encoding="utf-8")
    existing = folder / "existing.txt"
    existing.write_text("not ours\n", encoding="utf-8")
    return {
        "not_utf8": not_utf8,
        "deep": deep,
        "random": random_bytes,
        "long": data,
        "existing": existing,
    }


CASES: dict[str, tuple[str, ...]] = {
    "score file not UTF-8": ("score", "caps5", "--file", "{not_utf8}"),
    "score file nested too deeply": ("score", "caps5", "--file", "{deep}"),
    "schedule past the calendar": (
        "schedule", "--protocol", "rct", "--first-infusion", "9999-12-30",
    ),
    "schedule not a date": ("schedule", "--protocol", "rct", "--first-infusion", "30/12/2026"),
    "restore random bytes": (
        "restore", "--from", "{random}", "--yes", "--allow-no-checkpoint", "--db", "{tmp}/r.sqlite",
    ),
    "restore without its checkpoint": (
        "restore", "--from", "{long}", "--yes", "--db", "{tmp}/r.sqlite",
    ),
    "import long over a file": ("import", "long", "{long}", *LONG, "--out", "/etc/passwd"),
    "import long into a folder of others": ("import", "long", "{long}", *LONG, "--out", "{tmp}"),
    "export over an existing file": (
        "export", "--format", "csv", "--out", "{existing}", "--user", "x", "--password-stdin",
        "--db", "{tmp}/none.sqlite",
    ),
    "dose weight not a number": ("dose", "--protocol", "rct", "--drug", "ketamine", "--weight-kg", "abc"),
    "dose weight missing": ("dose", "--protocol", "rct", "--drug", "ketamine"),
    "dose unknown option": (
        "dose", "--protocol", "rct", "--drug", "ketamine", "--weight-kg", "70", "--bogus",
    ),
    "unknown command": ("no-such-command",),
    "bp-check readings garbage": ("bp-check", "--protocol", "rct", "--readings", "high,low"),
    "responders counts garbage": ("stats", "responders", "--counts", "a,b,c,d", "--json"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input_is_one_line_and_exit_2(name: str, tmp_path: Path) -> None:
    files = _files(tmp_path)
    args = [a.format(tmp=tmp_path, **files) for a in CASES[name]]
    before = sorted(os.listdir(tmp_path))
    result = CliRunner().invoke(build_app(), args, input="password\n")
    assert result.exit_code == 2, (result.output, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "╭" not in result.stderr  # no boxed usage panel
    if name.startswith(("restore", "import long into")):
        assert sorted(os.listdir(tmp_path)) == before  # nothing written beside the record


def test_an_output_folder_of_ours_is_reused_and_never_written_through_a_link(
    tmp_path: Path,
) -> None:
    from ketamine_ptsd.adapters.cli.output import claim_folder, output_folder, write_output

    target = claim_folder(output_folder(tmp_path / "out"))
    write_output(target, "ae.csv", b"first\n")
    assert output_folder(target) == target  # a re-run may write there again
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n", encoding="utf-8")
    (target / "dm.csv").symlink_to(outside)
    with pytest.raises(OSError):
        write_output(target, "dm.csv", b"overwritten\n")
    assert outside.read_text(encoding="utf-8") == "keep\n"
    with pytest.raises(OSError):
        write_output(target, "../escape.csv", b"x")
