"""PCL-5, the PTSD Checklist for DSM-5 (self-report, public domain).

Source: Weathers FW, Litz BT, Keane TM, Palmieri PA, Marx BP, Schnurr PP. The PTSD Checklist for
DSM-5 (PCL-5). National Center for PTSD, 2013; Bovin MJ et al. Psychol Assess 2016;28:1379–1391
(cut-offs 31–33); PROTOCOL.md §5, §7. The clinical pathway may track PTSD severity with it
(PROTOCOL.md §5).

20 items, each 0–4 (not at all, a little bit, moderately, quite a bit, extremely), in the same
DSM-5 order and clusters as CAPS-5 items 1–20 (see ``_dsm5``); total 0–80; cluster sums B, C, D, E
partition the total.

Interpretation (both in ``derived``, with the parameters that produced them):

- ``provisional_diagnosis``: the DSM-5 rule with an item rated ≥ 2 counting as a present symptom
  (≥1 B, ≥1 C, ≥2 D, ≥2 E). Provisional: a self-report cannot establish criteria A, F, G or H.
- ``above_cutoff``: total ≥ ``cutoff`` (default 33; 31–33 is the published range — a parameter).

Change: :func:`pcl5_change` tells whether a change between two totals reaches ``threshold_points``
(default 10, which the National Center for PTSD describes as clinically meaningful; 5 points is
its minimum detectable change).

Missing-item rule: no prorating. The PCL-5 materials give no imputation rule we can cite, so a
total needs all 20 items; missing items are refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments._base import (
    Instrument,
    Item,
    ItemValue,
    ScoredResult,
    require_items,
    sum_items,
)
from ketamine_ptsd.core.instruments._dsm5 import SYMPTOM_LABELS, cluster_scores, symptom_criteria

__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_MEANINGFUL_CHANGE_POINTS",
    "PCL5",
    "Pcl5Change",
    "pcl5_change",
]

DEFAULT_CUTOFF = 33
DEFAULT_MEANINGFUL_CHANGE_POINTS = 10
_ANCHORS = {0: "not at all", 1: "a little bit", 2: "moderately", 3: "quite a bit", 4: "extremely"}
_ITEMS = tuple(
    Item(str(n), n, label, anchors=_ANCHORS) for n, label in enumerate(SYMPTOM_LABELS, start=1)
)
_KEYS = tuple(item.key for item in _ITEMS)


def _check_total(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"pcl5.{name}", "must be a whole number 0–80", value)
    if not 0 <= value <= 80:
        raise InvalidInput(f"pcl5.{name}", f"must be 0–80, got {value}", value)
    return value


@dataclass(frozen=True)
class Pcl5Change:
    """Change between two PCL-5 totals; negative ``change_points`` is improvement."""

    baseline_total: int
    followup_total: int
    change_points: int
    threshold_points: int
    clinically_meaningful: bool
    direction: Literal["improved", "worsened", "no meaningful change"]


def pcl5_change(
    baseline_total: int,
    followup_total: int,
    threshold_points: int = DEFAULT_MEANINGFUL_CHANGE_POINTS,
) -> Pcl5Change:
    """Whether the change from ``baseline_total`` to ``followup_total`` is clinically meaningful.

    Meaningful means ``|follow-up − baseline| ≥ threshold_points`` (default 10; PROTOCOL.md §7).
    """
    baseline = _check_total("baseline_total", baseline_total)
    followup = _check_total("followup_total", followup_total)
    if isinstance(threshold_points, bool) or not isinstance(threshold_points, int):
        raise InvalidInput("pcl5.threshold_points", "must be a whole number", threshold_points)
    if not 1 <= threshold_points <= 80:
        raise InvalidInput("pcl5.threshold_points", "must be 1–80", threshold_points)
    change = followup - baseline
    meaningful = abs(change) >= threshold_points
    direction: Literal["improved", "worsened", "no meaningful change"]
    if not meaningful:
        direction = "no meaningful change"
    else:
        direction = "improved" if change < 0 else "worsened"
    return Pcl5Change(baseline, followup, change, threshold_points, meaningful, direction)


def _score_pcl5(
    instrument: Instrument,
    values: dict[str, ItemValue],
    *,
    cutoff: int = DEFAULT_CUTOFF,
) -> ScoredResult:
    cutoff = _check_total("cutoff", cutoff)
    require_items(instrument, values, _KEYS, "the total")
    total = sum_items(values, _KEYS)
    counts, met = symptom_criteria(values)
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=total,
        subscales=cluster_scores(values),
        derived={
            "symptoms_present": counts,
            "criteria_met": met,
            "provisional_diagnosis": all(met.values()),
            "cutoff": cutoff,
            "above_cutoff": total >= cutoff,
        },
        items=values,
    )


PCL5 = Instrument(
    id="pcl5",
    name="PCL-5",
    version="standard (past month)",
    recall_period="past month (may be given weekly to track change)",
    field_prefix="pcl5",
    items=_ITEMS,
    citation=(
        "Weathers FW et al. The PTSD Checklist for DSM-5 (PCL-5), National Center for PTSD, 2013; "
        "Bovin MJ et al. Psychol Assess 2016;28:1379-1391; PROTOCOL.md §7"
    ),
    missing_rule="No prorating: all 20 items are needed for a total.",
    scorer=_score_pcl5,
    total_range=(0, 80),
    subscale_ranges={
        "intrusion": (0, 20),
        "avoidance": (0, 8),
        "negative_cognitions_mood": (0, 28),
        "arousal_reactivity": (0, 24),
    },
    partition=("intrusion", "avoidance", "negative_cognitions_mood", "arousal_reactivity"),
)
