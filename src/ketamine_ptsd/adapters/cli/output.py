"""Shared output helpers for CLI commands: JSON printing, one-line failures, output folders.

**Output folders** (``export --out DIR``, ``import long ... --out DIR``). A command writes only
into a folder that is new, empty, or one it wrote before (it holds :data:`OUTPUT_MARKER`); an
existing file (``--out /etc/passwd``) or a folder holding other files is refused with one line
and exit 2, and a file is never written through a symbolic link (``O_NOFOLLOW``): the command
writes its own files where the user meant, and never over anything that is not its own.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from ketamine_ptsd.adapters.private_files import FILE_MODE, private_dir

__all__ = [
    "OUTPUT_MARKER",
    "claim_folder",
    "comma_list",
    "fail",
    "output_folder",
    "print_json",
    "to_jsonable",
    "write_output",
]

#: The file that marks a folder as written by this program (so a re-run may write there again).
OUTPUT_MARKER = ".ketamine-ptsd-output"


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


def output_folder(path: Path, *, option: str = "--out") -> Path:
    """The absolute folder ``path`` if a command may write its files there (see the module
    docstring), or a one-line failure naming ``option``. Checks only: :func:`claim_folder`
    creates it when the files are ready, so a refused command leaves nothing behind."""
    target = path.expanduser().absolute()
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        fail(f"{option} {path}: exists and is not a folder; give a new or empty folder")
    if target.is_dir() and any(target.iterdir()) and not (target / OUTPUT_MARKER).is_file():
        fail(
            f"{option} {path}: the folder holds files this program did not write; "
            "give a new or empty folder"
        )
    return target


def claim_folder(target: Path, *, option: str = "--out") -> Path:
    """Create ``target`` (checked by :func:`output_folder`) and mark it as this program's."""
    try:
        private_dir(target)
        write_output(target, OUTPUT_MARKER, b"written by ketamine-ptsd\n")
    except OSError as exc:
        fail(f"{option} {target}: cannot write there ({exc.strerror or exc})")
    return target


def write_output(folder: Path, name: str, content: bytes) -> Path:
    """Write ``content`` to ``folder/name``, never through a symbolic link (OSError then)."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise OSError(f"not a plain file name: {name!r}")
    path = folder / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)  # 0600 whatever the umask (patient data; issue 16)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    return path
