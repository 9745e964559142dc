"""Text → typed protocol, without touching files (the store adapter reads them)."""

from __future__ import annotations

import tomllib
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from ..errors import ProtocolInvalid
from ._protocol import Protocol

__all__ = ["parse_protocol", "protocol_from_mapping"]


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(top level)"


def protocol_from_mapping(data: Any) -> Protocol:
    """Build a Protocol from already-parsed data; ProtocolInvalid lists every structural problem."""
    if not isinstance(data, dict):
        raise ProtocolInvalid(["protocol: expected a mapping of fields at the top level"])
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
            problems.append(f"{_location(loc)}: {error['msg']}")
        raise ProtocolInvalid(problems) from None


def parse_protocol(text: str, fmt: Literal["yaml", "toml"] = "yaml") -> Protocol:
    """Parse protocol text (YAML or TOML) into a typed, frozen Protocol.

    Structural problems (missing or unknown fields, wrong types) raise ProtocolInvalid listing
    each one; clinical consistency is checked separately by ``validate``.
    """
    try:
        if fmt == "yaml":
            data = yaml.safe_load(text)
        elif fmt == "toml":
            data = tomllib.loads(text)
        else:
            raise ProtocolInvalid([f"format: unknown protocol format {fmt!r}; use yaml or toml"])
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProtocolInvalid([f"syntax: not valid {fmt.upper()}: {first_line}"]) from None
    return protocol_from_mapping(data)
