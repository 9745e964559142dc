"""Loading built-in, site and file protocols through the store adapter (the only protocol I/O)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ketamine_ptsd.adapters.protocol_store import (
    builtin_protocol_names,
    load_protocol,
    read_protocol,
)
from ketamine_ptsd.core.errors import InvalidInput, ProtocolInvalid


def test_builtin_protocols_are_rct_and_clinical() -> None:
    assert builtin_protocol_names() == ("clinical", "rct")


@pytest.mark.parametrize("name", ["rct", "clinical"])
def test_builtin_protocol_loads_by_name(name: str) -> None:
    assert load_protocol(name).name == name


def test_protocol_loads_from_a_path(tmp_path: Path) -> None:
    source = Path(__file__).parent / "fixtures" / "clinical.toml"
    copy = tmp_path / "site.toml"
    shutil.copy(source, copy)
    assert load_protocol(copy).name == "clinical"
    assert load_protocol(str(copy)) == load_protocol("clinical")


def test_site_folder_is_searched_by_name(tmp_path: Path) -> None:
    text = (Path(__file__).parent / "fixtures" / "clinical.toml").read_text("utf-8")
    (tmp_path / "oursite.toml").write_text(text.replace('name = "clinical"', 'name = "oursite"'))
    assert load_protocol("oursite", search_dirs=[tmp_path]).name == "oursite"


def test_inconsistent_file_is_refused_with_its_problems() -> None:
    path = Path(__file__).parent / "fixtures" / "twice_weekly_six_infusions.yaml"
    with pytest.raises(ProtocolInvalid) as info:
        load_protocol(path)
    assert "infusion_count is 6" in info.value.problems[0]
    assert str(path) in info.value.problems[0]


def test_read_protocol_parses_without_refusing_an_inconsistent_file() -> None:
    path = Path(__file__).parent / "fixtures" / "twice_weekly_six_infusions.yaml"
    assert read_protocol(path).schedule.infusions_per_week == 2


def test_unknown_name_names_the_built_in_protocols() -> None:
    with pytest.raises(InvalidInput) as info:
        load_protocol("nosuch")
    assert info.value.field == "protocol"
    assert "rct" in info.value.message and "clinical" in info.value.message


def test_unknown_file_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "protocol.json"
    path.write_text("{}")
    with pytest.raises(InvalidInput, match="unknown file type"):
        load_protocol(path)
