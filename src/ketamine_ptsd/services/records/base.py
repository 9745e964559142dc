"""The base of every entity."""

from __future__ import annotations

from typing import Any

__all__ = ["Record"]


class Record:
    """Base of every entity: keyword construction, a readable repr."""

    id: int

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={getattr(self, 'id', None)!r}>"
