"""Parsing protocol text into typed, frozen models (SYSTEM.md capability 1)."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from ketamine_ptsd.core.errors import ProtocolInvalid
from ketamine_ptsd.core.protocol import (
    Protocol,
    frequency_per_week,
    parse_protocol,
    protocol_from_mapping,
)


def test_builtin_rct_parses_into_typed_models(builtin_dict: Any) -> None:
    p = protocol_from_mapping(builtin_dict("rct"))
    assert isinstance(p, Protocol)
    assert p.mode == "trial" and p.blinded
    assert [a.drug for a in p.arms] == ["ketamine", "midazolam"]
    assert p.dose_for("ketamine").mg_per_kg == 0.5
    assert p.dose_for("midazolam").mg_per_kg == 0.045
    assert p.dose_for("ketamine").infusion_minutes == 40
    assert p.schedule.infusion_count == 6
    assert p.assessment("week2").anchor.next_weekday == "mon"


def test_protocol_is_frozen(builtin_dict: Any) -> None:
    p = protocol_from_mapping(builtin_dict("rct"))
    with pytest.raises(pydantic.ValidationError):
        p.blinded = False  # type: ignore[misc]


def test_unknown_field_is_reported_with_its_location(builtin_dict: Any) -> None:
    data = builtin_dict("rct")
    data["schedule"]["infusions_per_fortnight"] = 6
    with pytest.raises(ProtocolInvalid) as info:
        protocol_from_mapping(data)
    assert any(p.startswith("schedule.infusions_per_fortnight") for p in info.value.problems)


def test_every_structural_problem_is_listed_at_once(builtin_dict: Any) -> None:
    data = builtin_dict("rct")
    del data["version"]
    data["dosing"]["ketamine"]["mg_per_kg"] = "half"
    with pytest.raises(ProtocolInvalid) as info:
        protocol_from_mapping(data)
    text = "\n".join(info.value.problems)
    assert "version" in text
    assert "dosing.ketamine.mg_per_kg" in text


def test_yaml_syntax_error_is_one_clear_problem() -> None:
    with pytest.raises(ProtocolInvalid) as info:
        parse_protocol("name: [unclosed\n")
    assert info.value.problems[0].startswith("syntax: not valid YAML")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ProtocolInvalid):
        parse_protocol("- a\n- b\n")


def test_toml_protocol_parses_to_the_same_model_as_yaml(
    builtin_dict: Any, fixtures_dir: Any
) -> None:
    toml_text = (fixtures_dir / "clinical.toml").read_text("utf-8")
    assert parse_protocol(toml_text, "toml") == protocol_from_mapping(builtin_dict("clinical"))


def test_toml_syntax_error_is_reported() -> None:
    with pytest.raises(ProtocolInvalid) as info:
        parse_protocol("name = ", "toml")
    assert "TOML" in info.value.problems[0]


@pytest.mark.parametrize(
    ("phrase", "per_week"),
    [
        ("twice weekly", 2),
        ("three times weekly", 3),
        ("3 times a week", 3),
        ("once a week", 1),
        ("Twice Weekly", 2),
        ("every other day", None),
        ("weekly-ish", None),
    ],
)
def test_frequency_phrase_is_read_as_infusions_per_week(phrase: str, per_week: int | None) -> None:
    assert frequency_per_week(phrase) == per_week


def test_frequency_phrase_fills_infusions_per_week(builtin_dict: Any) -> None:
    data = builtin_dict("rct")
    del data["schedule"]["infusions_per_week"]
    data["schedule"]["frequency"] = "three times weekly"
    assert protocol_from_mapping(data).schedule.infusions_per_week == 3


def test_frequency_phrase_disagreeing_with_infusions_per_week_is_refused(builtin_dict: Any) -> None:
    data = builtin_dict("rct")
    data["schedule"]["frequency"] = "twice weekly"
    with pytest.raises(ProtocolInvalid) as info:
        protocol_from_mapping(data)
    assert "means 2 a week but infusions_per_week is 3" in info.value.problems[0]


def test_unreadable_frequency_phrase_is_refused(builtin_dict: Any) -> None:
    data = builtin_dict("rct")
    del data["schedule"]["infusions_per_week"]
    data["schedule"]["frequency"] = "now and then"
    with pytest.raises(ProtocolInvalid) as info:
        protocol_from_mapping(data)
    assert "not understood" in info.value.problems[0]


def test_public_api_exports_every_public_name() -> None:
    import ketamine_ptsd.core.protocol as package

    for name in package.__all__:
        assert hasattr(package, name), name
    public_models = {
        name
        for name, obj in vars(package).items()
        if isinstance(obj, type)
        and issubclass(obj, pydantic.BaseModel)
        and not name.startswith("_")
    }
    assert public_models <= set(package.__all__)
