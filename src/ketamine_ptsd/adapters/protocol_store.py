"""Reads protocol files: the built-in ones shipped as package data, a site's own, or any path.

This is the only place protocol text is read from disk; the core parses and validates text it is
handed (STYLE.md "Our shape" §1). ``load_protocol`` refuses a protocol that fails
``validate`` — nothing clinical runs from an inconsistent file (SYSTEM.md capability 1).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from ketamine_ptsd.core.errors import InvalidInput, ProtocolInvalid
from ketamine_ptsd.core.protocol import Protocol, parse_protocol, validate

__all__ = [
    "PROTOCOL_DIR_ENV",
    "SiteProtocol",
    "builtin_protocol_names",
    "load_protocol",
    "protocol_dirs",
    "protocol_loader",
    "read_protocol",
    "read_protocol_text",
    "site_protocols",
]

#: A site's protocol folders (``os.pathsep``-separated), searched after the built-in ones.
PROTOCOL_DIR_ENV = "KETAMINE_PTSD_PROTOCOL_DIR"

_SUFFIXES: dict[str, Literal["yaml", "toml"]] = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}


@functools.cache
def builtin_protocol_names() -> tuple[str, ...]:
    """Names of the protocols shipped with the package (``rct``, ``clinical``)."""
    folder = resources.files("ketamine_ptsd") / "protocols"
    return tuple(
        sorted(
            entry.name.rsplit(".", 1)[0]
            for entry in folder.iterdir()
            if entry.is_file() and entry.name.endswith(".yaml")
        )
    )


def read_protocol_text(
    name_or_path: str | Path, search_dirs: Iterable[Path] = ()
) -> tuple[str, Literal["yaml", "toml"], str]:
    """(text, format, where) of a protocol given by built-in name, site folder name, or path.

    A built-in name wins; then ``NAME.yaml|.yml|.toml`` in each of ``search_dirs`` (a site's
    protocol folder); then the value as a file path.
    """
    raw = str(name_or_path)
    if raw in builtin_protocol_names():
        entry = resources.files("ketamine_ptsd") / "protocols" / f"{raw}.yaml"
        return entry.read_text(encoding="utf-8"), "yaml", f"built-in protocol {raw!r}"
    for folder in search_dirs:
        for suffix, fmt in _SUFFIXES.items():
            candidate = Path(folder) / f"{raw}{suffix}"
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8"), fmt, str(candidate)
    path = Path(raw)
    if path.is_file():
        fmt = _SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise InvalidInput(
                "protocol", f"{raw}: unknown file type; use .yaml, .yml or .toml", raw
            )
        try:
            return path.read_text(encoding="utf-8"), fmt, str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput("protocol", f"{raw}: cannot read ({exc})", raw) from None
    known = ", ".join(builtin_protocol_names())
    raise InvalidInput(
        "protocol", f"{raw!r} is neither a built-in protocol ({known}) nor a readable file", raw
    )


def read_protocol(name_or_path: str | Path, search_dirs: Iterable[Path] = ()) -> Protocol:
    """Parse a protocol without the consistency check (for ``protocol validate`` to report on)."""
    text, fmt, _ = read_protocol_text(name_or_path, search_dirs)
    return parse_protocol(text, fmt)


@functools.cache
def _load_builtin(name: str) -> Protocol:
    # Built-in files are package data and cannot change while the process runs; a Protocol is
    # frozen, so one parsed copy is shared.
    return _load(name, ())


def load_protocol(name_or_path: str | Path, search_dirs: Iterable[Path] = ()) -> Protocol:
    """A parsed protocol that passed ``validate``; ProtocolInvalid lists the problems otherwise."""
    if str(name_or_path) in builtin_protocol_names():
        return _load_builtin(str(name_or_path))
    return _load(name_or_path, search_dirs)


def _load(name_or_path: str | Path, search_dirs: Iterable[Path]) -> Protocol:
    text, fmt, where = read_protocol_text(name_or_path, search_dirs)
    protocol = parse_protocol(text, fmt)
    problems = validate(protocol)
    if problems:
        raise ProtocolInvalid([f"{where}: {p}" for p in problems])
    return protocol


def protocol_dirs(
    extra: Iterable[Path] = (), environ: Mapping[str, str] | None = None
) -> tuple[Path, ...]:
    """A site's protocol folders: ``--protocol-dir`` values first, then
    ``KETAMINE_PTSD_PROTOCOL_DIR``; a folder that does not exist is an error naming it."""
    environ = os.environ if environ is None else environ
    from_env = [Path(p) for p in environ.get(PROTOCOL_DIR_ENV, "").split(os.pathsep) if p.strip()]
    folders = []
    for folder in [*extra, *from_env]:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise InvalidInput("protocol_dir", f"{folder} is not a folder", str(folder))
        if folder not in folders:
            folders.append(folder)
    return tuple(folders)


def protocol_loader(search_dirs: Iterable[Path] = ()) -> Callable[[str], Protocol]:
    """``name -> Protocol`` over the built-in protocols and the site's folders."""
    dirs = tuple(search_dirs)
    return functools.partial(_load_named, search_dirs=dirs)


def _load_named(name: str, search_dirs: tuple[Path, ...]) -> Protocol:
    return load_protocol(name, search_dirs)


@dataclass(frozen=True)
class SiteProtocol:
    """A protocol file found in a site's folder, with its version, or why it cannot be used."""

    name: str
    version: str | None
    where: str
    problem: str | None = None


def site_protocols(search_dirs: Iterable[Path]) -> list[SiteProtocol]:
    """Every protocol file in the site's folders (a name found twice: the first folder wins,
    as :func:`read_protocol_text` searches), each checked as :func:`load_protocol` would."""
    found: dict[str, SiteProtocol] = {}
    for folder in search_dirs:
        for path in sorted(Path(folder).iterdir()):
            if path.suffix.lower() not in _SUFFIXES or not path.is_file():
                continue
            name = path.stem
            if name in found or name in builtin_protocol_names():
                continue
            try:
                protocol = _load(path, ())
            except InvalidInput as exc:
                found[name] = SiteProtocol(name, None, str(path), exc.message)
            except ProtocolInvalid as exc:
                version = None
                with contextlib.suppress(InvalidInput, ProtocolInvalid, ValueError):
                    version = read_protocol(path).version
                more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
                found[name] = SiteProtocol(name, version, str(path), exc.problems[0] + more)
            else:
                found[name] = SiteProtocol(name, protocol.version, str(path))
    return list(found.values())
