"""Fixtures of the protocol tests: the built-in files as editable dictionaries."""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from ketamine_ptsd.core.protocol import protocol_from_mapping, validate


def _builtin_dict(name: str) -> dict[str, Any]:
    text = (resources.files("ketamine_ptsd") / "protocols" / f"{name}.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return copy.deepcopy(data)


@pytest.fixture
def builtin_dict() -> Callable[[str], dict[str, Any]]:
    """``builtin_dict("rct")``: a fresh, editable copy of a built-in protocol."""
    return _builtin_dict


@pytest.fixture
def problems_of() -> Callable[[dict[str, Any]], list[str]]:
    return lambda data: validate(protocol_from_mapping(data))


@pytest.fixture
def fixtures_dir() -> Path:
    return Path(__file__).parent / "fixtures"
