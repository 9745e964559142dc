"""Blind canary over every interop file (PROTOCOL.md §3): without a sanction, and under a
partial (A/B) one, no file names a drug or an arm id; a full extract does (the canary can fail)."""

from __future__ import annotations

import re

import pytest
from interop_support import source

from ketamine_ptsd.adapters.interop import CONVERTERS

# "ketamine-ptsd" is this project's name (in code-system URLs and labels), not an allocation.
CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam", re.IGNORECASE)


def _leaks(unblinding: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for fmt, convert in CONVERTERS.items():
        for f in convert(source(unblinding)):
            # Transport (XPT) files are binary with ASCII text: latin-1 reads every byte.
            binary = f.media_type == "application/x-sas-xport"
            hits = CANARY.findall(f.content.decode("latin-1" if binary else "utf-8"))
            if hits:
                found[f"{fmt}/{f.name}"] = sorted(set(hits))
    return found


@pytest.mark.parametrize("unblinding", ["none", "partial"])
def test_blinded_and_coded_exports_name_no_drug_or_arm(unblinding: str) -> None:
    assert _leaks(unblinding) == {}


def test_the_canary_sees_the_drugs_in_a_fully_sanctioned_export() -> None:
    leaks = _leaks("full")
    assert {"sdtm/dm.csv", "sdtm/ex.csv", "sdtm/dm.xpt", "sdtm/ex.xpt", "fhir/bundle.json"} <= set(
        leaks
    )
