"""IES-R, the Impact of Event Scale – Revised.

Source: Weiss DS, Marmar CR. The Impact of Event Scale – Revised. In: Wilson JP, Keane TM (eds),
Assessing Psychological Trauma and PTSD. Guilford, 1997, pp. 399–411; PROTOCOL.md §5, §7.
22 self-report items, each 0–4 (not at all, a little bit, moderately, quite a bit, extremely),
past 7 days by default; the RCT used a past-24-hour adaptation at baseline and 24 h after
infusion 1 (PROTOCOL.md §5) — the items and scoring are the same, the version names the recall.

Subscales (the authors' keying): intrusion 1, 2, 3, 6, 9, 14, 16, 20; avoidance 5, 7, 8, 11, 12,
13, 17, 22; hyperarousal 4, 10, 15, 18, 19, 21. Some scoring software puts item 14 under
hyperarousal; we follow the authors (PROTOCOL.md §7). The authors recommend subscale *means*
(0–4); we report the means and, because the three subscales partition the items, the sums, which
add up to the total (0–88).

Missing-item rule: no prorating. The authors publish no rule for imputing missing items, so a
total or subscale needs all 22 items; missing items are refused by name.
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

__all__ = ["IES_R", "IES_R_SUBSCALES"]

IES_R_SUBSCALES: dict[str, tuple[str, ...]] = {
    "intrusion": tuple(str(n) for n in (1, 2, 3, 6, 9, 14, 16, 20)),
    "avoidance": tuple(str(n) for n in (5, 7, 8, 11, 12, 13, 17, 22)),
    "hyperarousal": tuple(str(n) for n in (4, 10, 15, 18, 19, 21)),
}

# Short labels of our own, not the copyrighted item wording.
_LABELS = (
    "reminders bring back feelings",
    "trouble staying asleep",
    "other things keep bringing it to mind",
    "irritable and angry",
    "avoided getting upset",
    "thought about it unintentionally",
    "felt as if it had not happened",
    "stayed away from reminders",
    "pictures popped into mind",
    "jumpy, easily startled",
    "tried not to think about it",
    "feelings not dealt with",
    "feelings numb",
    "acting or feeling as if back then",
    "trouble falling asleep",
    "waves of strong feelings",
    "tried to remove it from memory",
    "trouble concentrating",
    "physical reactions to reminders",
    "dreams about it",
    "watchful and on guard",
    "tried not to talk about it",
)
_ANCHORS = {0: "not at all", 1: "a little bit", 2: "moderately", 3: "quite a bit", 4: "extremely"}
_ITEMS = tuple(Item(str(n), n, label, anchors=_ANCHORS) for n, label in enumerate(_LABELS, start=1))
_KEYS = tuple(item.key for item in _ITEMS)


def _score_ies_r(
    instrument: Instrument, values: dict[str, ItemValue], **options: Any
) -> ScoredResult:
    if options:
        raise TypeError(f"IES-R takes no options, got {sorted(options)}")
    require_items(instrument, values, _KEYS, "the total and subscales")
    subscales: dict[str, int | float] = {}
    for name, keys in IES_R_SUBSCALES.items():
        subscale_sum = sum_items(values, keys)
        subscales[f"{name}_sum"] = subscale_sum
        subscales[f"{name}_mean"] = subscale_sum / len(keys)
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=sum_items(values, _KEYS),
        subscales=subscales,
        derived={"item_14_subscale": "intrusion (Weiss & Marmar 1997)"},
        items=values,
    )


IES_R = Instrument(
    id="ies_r",
    name="IES-R",
    version="standard",
    recall_period="past 7 days (past 24 hours in the RCT's 24-hour assessments)",
    field_prefix="ies_r",
    items=_ITEMS,
    citation=(
        "Weiss DS, Marmar CR. The Impact of Event Scale-Revised. In: Wilson JP, Keane TM (eds). "
        "Assessing Psychological Trauma and PTSD. Guilford; 1997:399-411; PROTOCOL.md §7"
    ),
    missing_rule="No prorating: all 22 items are needed; the authors give no imputation rule.",
    scorer=_score_ies_r,
    total_range=(0, 88),
    subscale_ranges={
        "intrusion_sum": (0, 32),
        "intrusion_mean": (0, 4),
        "avoidance_sum": (0, 32),
        "avoidance_mean": (0, 4),
        "hyperarousal_sum": (0, 24),
        "hyperarousal_mean": (0, 4),
    },
    partition=("intrusion_sum", "avoidance_sum", "hyperarousal_sum"),
)
