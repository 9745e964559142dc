"""Typed errors of the domain core.

Each error names the field (or item) at fault and keeps the value the user entered, so that an
adapter can show a clear one-line message and re-display what was typed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DomainError", "InvalidInput", "ProtocolInvalid"]


class DomainError(Exception):
    """Base of every error raised by the domain core."""


class InvalidInput(DomainError, ValueError):
    """A value was refused; ``field`` names it, ``value`` keeps what was entered."""

    def __init__(self, field: str, message: str, value: Any = None) -> None:
        self.field = field
        self.message = message
        self.value = value
        super().__init__(f"{field}: {message}")


class ProtocolInvalid(DomainError):
    """A protocol file is inconsistent; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))
