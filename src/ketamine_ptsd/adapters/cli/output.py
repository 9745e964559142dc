"""Shared output helpers for CLI commands: JSON printing and one-line failures."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, NoReturn

import typer

__all__ = ["comma_list", "fail", "print_json", "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, pydantic models, numpy scalars and NaN into plain JSON values."""
    import dataclasses

    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        np = None  # type: ignore[assignment]
    if hasattr(obj, "model_dump"):
        return to_jsonable(obj.model_dump(mode="json"))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if np is not None and isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if np is not None and isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def comma_list(text: str | None) -> list[str] | None:
    """``"a, b,c"`` → ``["a", "b", "c"]`` (blank parts dropped); None when nothing is given."""
    if text is None:
        return None
    items = [part.strip() for part in text.split(",") if part.strip()]
    return items or None


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line on stderr and exit non-zero."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)
