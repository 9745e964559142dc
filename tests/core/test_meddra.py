"""MedDRA ASCII release parsing (core/meddra.py) on a synthetic release in MedDRA's layout
(tests/fixtures/meddra_synthetic: every code and name made up; MedDRA itself is licensed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.meddra import parse_release

FIXTURE = Path(__file__).parents[1] / "fixtures" / "meddra_synthetic"


def _release() -> tuple[str, str, str]:
    return tuple(  # type: ignore[return-value]
        (FIXTURE / name).read_text(encoding="utf-8")
        for name in ("llt.asc", "mdhier.asc", "meddra_release.asc")
    )


def test_an_llt_is_carried_up_its_pts_primary_soc_path() -> None:
    dictionary = parse_release(*_release())
    assert dictionary.version == "0.0 SYNTHETIC"
    assert len(dictionary.terms) == 5
    head = dictionary.code(90000002)
    assert (head.llt_name, head.pt_code, head.pt_name) == (
        "Head pain synthetic",
        90001001,
        "Headache synthetic PT",
    )
    assert (head.hlt_code, head.hlgt_code, head.soc_code) == (90002001, 90003001, 90004001)
    # PT 90001003 has two paths; the primary (flag Y) one is the vascular SOC.
    bp = dictionary.code(90000004)
    assert bp.soc_name == "Vascular disorders synthetic SOC" and bp.hlt_code == 90002003
    assert not dictionary.code(90000005).current


def test_the_suggestion_matches_a_current_llt_ignoring_case_and_spacing() -> None:
    dictionary = parse_release(*_release())
    match = dictionary.match("  NAUSEA   synthetic ")
    assert match is not None and match.llt_code == 90000003
    assert dictionary.match("old term synthetic") is None  # not current
    assert dictionary.match("dizziness") is None


def test_an_unknown_code_and_broken_files_are_refused_naming_the_file() -> None:
    llt, mdhier, release = _release()
    with pytest.raises(InvalidInput) as unknown:
        parse_release(llt, mdhier, release).code(12345)
    assert unknown.value.field == "llt_code"
    with pytest.raises(InvalidInput) as short:
        parse_release("90000001$Headache$\n", mdhier)
    assert short.value.field == "llt.asc" and "line 1" in short.value.message
    with pytest.raises(InvalidInput) as orphan:
        parse_release("90000009$Orphan$90009999$$$$$$$Y$$\n", mdhier)
    assert orphan.value.field == "mdhier.asc"
    with pytest.raises(InvalidInput) as not_code:
        parse_release("abc$Headache$90001001$$$$$$$Y$$\n", mdhier)
    assert "not a MedDRA code" in not_code.value.message
