"""BPRS positive-symptom subscale: 4 items of the 18-item Brief Psychiatric Rating Scale.

Source: Overall JE, Gorham DR. The Brief Psychiatric Rating Scale. Psychol Rep 1962;10:799–812
(18-item form); PROTOCOL.md §6, §7. The subscale is items 4 conceptual disorganization,
11 suspiciousness, 12 hallucinatory behaviour and 15 unusual thought content, keyed here by their
BPRS-18 numbers ("4", "11", "12", "15"). Rated on infusion days before infusion and at 40 and 120
minutes after its start (PROTOCOL.md §6).

Scoring convention: each item 1 (not present) … 7 (extremely severe), subscale 4–28. Some papers
score 0–6 (subscale 0–24); the result stores its convention in ``derived["scoring_convention"]``
and also gives the 0-based value (``positive_zero_based`` = subscale − 4) so the two can be
compared without guessing.

Missing-item rule: no prorating; all four items are needed.
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

__all__ = ["BPRS_POSITIVE", "BPRS_POSITIVE_ITEMS", "SCORING_CONVENTION"]

SCORING_CONVENTION = "1-7 per item (1 = not present), subscale 4-28"
_ANCHORS = {
    1: "not present",
    2: "very mild",
    3: "mild",
    4: "moderate",
    5: "moderately severe",
    6: "severe",
    7: "extremely severe",
}
BPRS_POSITIVE_ITEMS: dict[str, str] = {
    "4": "conceptual disorganization",
    "11": "suspiciousness",
    "12": "hallucinatory behaviour",
    "15": "unusual thought content",
}
_ITEMS = tuple(
    Item(key, position, label, minimum=1, maximum=7, anchors=_ANCHORS)
    for position, (key, label) in enumerate(BPRS_POSITIVE_ITEMS.items(), start=1)
)
_KEYS = tuple(BPRS_POSITIVE_ITEMS)


def _score_bprs_positive(
    instrument: Instrument, values: dict[str, ItemValue], **options: Any
) -> ScoredResult:
    if options:
        raise TypeError(f"BPRS takes no options, got {sorted(options)}")
    require_items(instrument, values, _KEYS, "the positive subscale")
    positive = sum_items(values, _KEYS)
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=positive,
        subscales={"positive": positive},
        derived={
            "scoring_convention": SCORING_CONVENTION,
            "positive_zero_based": positive - len(_KEYS),
        },
        items=values,
    )


BPRS_POSITIVE = Instrument(
    id="bprs_positive",
    name="BPRS positive subscale",
    version="BPRS-18 items 4, 11, 12, 15; scored 1-7",
    recall_period="at the time of rating (infusion day)",
    field_prefix="bprs",
    items=_ITEMS,
    citation="Overall JE, Gorham DR. Psychol Rep 1962;10:799-812; PROTOCOL.md §6, §7",
    missing_rule="No prorating: all four items are needed.",
    scorer=_score_bprs_positive,
    total_range=(4, 28),
    subscale_ranges={"positive": (4, 28)},
    partition=("positive",),
)
