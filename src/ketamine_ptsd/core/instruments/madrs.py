"""MADRS, the Montgomery–Åsberg Depression Rating Scale: past-week and past-24-hour versions.

Source: Montgomery SA, Åsberg M. A new depression scale designed to be sensitive to change.
Br J Psychiatry 1979;134:382–389; PROTOCOL.md §5, §7. Ten clinician-rated items, each 0–6 (the
manual defines even-numbered anchors; odd values lie between them), total 0–60.

Versions: ``madrs`` is the standard past-week recall; ``madrs_24h`` is the same ten items rated
for the past 24 hours, as the RCT used at baseline and 24 h after infusion 1 (PROTOCOL.md §5).

Severity bands and the remission cut-off differ between sources (PROTOCOL.md §7), so they are
parameters, never facts of the scale: ``remission_max`` (default 10; 12 is also used) and
``bands``, a tuple of ``(upper bound inclusive, label)`` in increasing order (default
:data:`SNAITH_1986_BANDS`, from Snaith RP et al., Br J Psychiatry 1986;148:599–601). The result
records which parameters produced its interpretation.

Missing-item rule: no prorating; all ten items are needed for a total.
"""

from __future__ import annotations

from typing import Any

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments._base import (
    Instrument,
    Item,
    ItemValue,
    ScoredResult,
    require_items,
    sum_items,
)

__all__ = [
    "DEFAULT_REMISSION_MAX",
    "MADRS",
    "MADRS_24H",
    "SNAITH_1986_BANDS",
    "madrs_band",
]

Bands = tuple[tuple[int, str], ...]

DEFAULT_REMISSION_MAX = 10
# Snaith et al. 1986 grading: 0–6 normal, 7–19 mild, 20–34 moderate, 35–60 severe.
SNAITH_1986_BANDS: Bands = ((6, "normal"), (19, "mild"), (34, "moderate"), (60, "severe"))

_LABELS = (
    "apparent sadness",
    "reported sadness",
    "inner tension",
    "reduced sleep",
    "reduced appetite",
    "concentration difficulties",
    "lassitude",
    "inability to feel",
    "pessimistic thoughts",
    "suicidal thoughts",
)
_ITEMS = tuple(Item(str(n), n, label, maximum=6) for n, label in enumerate(_LABELS, start=1))
_KEYS = tuple(item.key for item in _ITEMS)


def madrs_band(total: int, bands: Bands = SNAITH_1986_BANDS) -> str:
    """The label of the first band whose inclusive upper bound is ≥ ``total``.

    ``bands`` must be increasing and end at 60 so that every total 0–60 has a band.
    """
    uppers = [upper for upper, _ in bands]
    if not bands or uppers != sorted(set(uppers)) or uppers[-1] != 60:
        raise InvalidInput(
            "madrs.bands", "bands must be strictly increasing upper bounds ending at 60", bands
        )
    for upper, label in bands:
        if total <= upper:
            return label
    raise InvalidInput("madrs.total", "total must be 0–60", total)  # pragma: no cover


def _score_madrs(
    instrument: Instrument,
    values: dict[str, ItemValue],
    *,
    remission_max: int = DEFAULT_REMISSION_MAX,
    bands: Bands = SNAITH_1986_BANDS,
) -> ScoredResult:
    if isinstance(remission_max, bool) or not isinstance(remission_max, int):
        raise InvalidInput("madrs.remission_max", "must be a whole number", remission_max)
    if not 0 <= remission_max <= 60:
        raise InvalidInput("madrs.remission_max", "must be 0–60", remission_max)
    require_items(instrument, values, _KEYS, "the total")
    total = sum_items(values, _KEYS)
    derived: dict[str, Any] = {
        "severity_band": madrs_band(total, bands),
        "bands": [[upper, label] for upper, label in bands],
        "remission": total <= remission_max,
        "remission_max": remission_max,
    }
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=total,
        subscales={},
        derived=derived,
        items=values,
    )


def _madrs(instrument_id: str, version: str, recall: str) -> Instrument:
    return Instrument(
        id=instrument_id,
        name="MADRS",
        version=version,
        recall_period=recall,
        field_prefix="madrs",
        items=_ITEMS,
        citation=(
            "Montgomery SA, Asberg M. Br J Psychiatry 1979;134:382-389; bands: Snaith RP et al. "
            "Br J Psychiatry 1986;148:599-601; PROTOCOL.md §5, §7"
        ),
        missing_rule="No prorating: all ten items are needed for a total.",
        scorer=_score_madrs,
        total_range=(0, 60),
    )


MADRS = _madrs("madrs", "past-week", "past week")
MADRS_24H = _madrs("madrs_24h", "past-24h", "past 24 hours")
