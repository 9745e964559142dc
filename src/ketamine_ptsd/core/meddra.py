"""MedDRA coding of adverse-event terms: the site's own release, read from its ASCII files.

MedDRA is licensed by the ICH MSSO, so the system ships no dictionary: a site loads the release
it subscribes to (``ketamine-ptsd meddra load DIR``). This module reads the two ASCII files the
coding needs — ``llt.asc`` (lowest level terms: code, name, the PT it belongs to, currency) and
``mdhier.asc`` (the hierarchy of each PT: HLT, HLGT, SOC with names, and the primary-SOC flag) —
and optionally ``meddra_release.asc`` (the version). Fields are ``$``-separated and a line ends
with ``$`` (MedDRA ASCII distribution format). A term is coded to its LLT and carried up the PT's
*primary* SOC path (MedDRA's rule for single-path summaries, as the ICH "MedDRA Term Selection:
Points to Consider" document and the SDTM AEBODSYS expect).

Pure: text in, a dictionary out; the service stores it and audits who codes what.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .errors import InvalidInput

__all__ = ["Coding", "MeddraDictionary", "parse_release"]


@dataclass(frozen=True)
class Coding:
    """One LLT with its primary path up to the SOC."""

    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str
    hlt_code: int
    hlt_name: str
    hlgt_code: int
    hlgt_name: str
    soc_code: int
    soc_name: str
    current: bool


@dataclass(frozen=True)
class MeddraDictionary:
    """A release: its version and every LLT of it, by code."""

    version: str
    terms: Mapping[int, Coding]

    def code(self, llt_code: int) -> Coding:
        """The coding of an LLT code; refused (naming the field) if the release lacks it."""
        coding = self.terms.get(llt_code)
        if coding is None:
            raise InvalidInput("llt_code", f"not an LLT of MedDRA {self.version}", llt_code)
        return coding

    def match(self, verbatim: str) -> Coding | None:
        """The current LLT whose name is the verbatim term (case and spacing ignored), if any:
        the suggestion a coder confirms, never an automatic coding."""
        wanted = " ".join(verbatim.split()).casefold()
        for coding in self.terms.values():
            if coding.current and coding.llt_name.casefold() == wanted:
                return coding
        return None


def _rows(text: str, name: str, minimum: int) -> Iterator[tuple[int, list[str]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("$")
        if len(fields) < minimum:
            raise InvalidInput(
                name, f"line {number}: {len(fields)} fields, a MedDRA record has {minimum}", line
            )
        yield number, fields


def _int(value: str, name: str, number: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(name, f"line {number}: {value!r} is not a MedDRA code", value) from None


def parse_release(llt: str, mdhier: str, release: str | None = None) -> MeddraDictionary:
    """A dictionary from the texts of ``llt.asc``, ``mdhier.asc`` and ``meddra_release.asc``.

    Refused, naming the file and line: a record with too few fields, a code that is not a
    number, an LLT whose PT has no primary SOC path in ``mdhier.asc``.
    """
    paths: dict[int, tuple[str, int, str, int, str, int, str, int, str]] = {}
    for number, f in _rows(mdhier, "mdhier.asc", 12):
        if f[11] != "Y":
            continue
        pt = _int(f[0], "mdhier.asc", number)
        paths[pt] = (
            f[4],
            _int(f[1], "mdhier.asc", number),
            f[5],
            _int(f[2], "mdhier.asc", number),
            f[6],
            _int(f[3], "mdhier.asc", number),
            f[7],
            pt,
            "",
        )
    terms: dict[int, Coding] = {}
    for number, f in _rows(llt, "llt.asc", 11):
        code, pt = _int(f[0], "llt.asc", number), _int(f[2], "llt.asc", number)
        path = paths.get(pt)
        if path is None:
            raise InvalidInput(
                "mdhier.asc", f"llt.asc line {number}: PT {pt} has no primary SOC path", pt
            )
        pt_name, hlt, hlt_name, hlgt, hlgt_name, soc, soc_name, _, _ = path
        terms[code] = Coding(
            llt_code=code,
            llt_name=f[1],
            pt_code=pt,
            pt_name=pt_name,
            hlt_code=hlt,
            hlt_name=hlt_name,
            hlgt_code=hlgt,
            hlgt_name=hlgt_name,
            soc_code=soc,
            soc_name=soc_name,
            current=f[9] == "Y",
        )
    if not terms:
        raise InvalidInput("llt.asc", "no lowest level terms", None)
    version = "unknown"
    if release:
        first = next((line for line in release.splitlines() if line.strip()), "")
        version = first.split("$")[0].strip() or "unknown"
    return MeddraDictionary(version, terms)
