"""CADSS, the Clinician-Administered Dissociative States Scale, 23 patient-rated items.

Source: Bremner JD, Krystal JH, Putnam FW, et al. Measurement of dissociative states with the
Clinician-Administered Dissociative States Scale (CADSS). J Trauma Stress 1998;11:125–136;
PROTOCOL.md §6, §7. Ketamine trials (the RCT among them) use the 23 patient-rated items, each
0–4 (not at all … extremely), total 0–92; the 1998 paper's version had 19 patient-rated and 8
observer-rated items. Rated on infusion days before infusion and at 40 and 120 minutes after its
start; dissociation typically peaks at 40 minutes and has resolved by 120 (PROTOCOL.md §6).

Subscales: none. Depersonalization, derealization and amnesia subscales are used in some papers,
but we could not verify their item keying for the 23-item version against a published manual, so
none are encoded (PROTOCOL.md §7 asks for them only if verified). Item labels are positional for
the same reason: the short content labels would need the 23-item form to check against.

Missing-item rule: no prorating; all 23 items are needed for a total.
"""

from __future__ import annotations

from typing import Any

from ketamine_ptsd.core.instruments._base import (
    Instrument,
    Item,
    ItemValue,
    ScoredResult,
    require_items,
    sum_items,
)

__all__ = ["CADSS", "CADSS_ITEM_COUNT"]

CADSS_ITEM_COUNT = 23
_ANCHORS = {0: "not at all", 1: "slightly", 2: "moderately", 3: "considerably", 4: "extremely"}
_ITEMS = tuple(
    Item(str(n), n, f"patient-rated item {n}", anchors=_ANCHORS)
    for n in range(1, CADSS_ITEM_COUNT + 1)
)
_KEYS = tuple(item.key for item in _ITEMS)


def _score_cadss(
    instrument: Instrument, values: dict[str, ItemValue], **options: Any
) -> ScoredResult:
    if options:
        raise TypeError(f"CADSS takes no options, got {sorted(options)}")
    require_items(instrument, values, _KEYS, "the total")
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=sum_items(values, _KEYS),
        subscales={},
        derived={"subscales_note": "no subscales: keying for the 23-item version not verified"},
        items=values,
    )


CADSS = Instrument(
    id="cadss",
    name="CADSS",
    version="23 patient-rated items",
    recall_period="at the time of rating (infusion day)",
    field_prefix="cadss",
    items=_ITEMS,
    citation="Bremner JD et al. J Trauma Stress 1998;11:125-136; PROTOCOL.md §6, §7",
    missing_rule="No prorating: all 23 patient-rated items are needed for a total.",
    scorer=_score_cadss,
    total_range=(0, 92),
)
