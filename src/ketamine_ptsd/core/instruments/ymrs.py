"""YMRS item 1, elevated mood, from the Young Mania Rating Scale.

Source: Young RC, Biggs JT, Ziegler VE, Meyer DA. A rating scale for mania: reliability, validity
and sensitivity. Br J Psychiatry 1978;133:429–435; PROTOCOL.md §6, §7. Only item 1 is used, on
infusion days before infusion and at 40 and 120 minutes after its start (PROTOCOL.md §6), to catch
ketamine-induced mood elevation. Item 1 is rated 0–4 (items 5, 6, 8 and 9 of the full scale are
0–8, item 1 is not).

Missing-item rule: the single item is required.
"""

from __future__ import annotations

from ketamine_ptsd.core.instruments._base import Instrument, Item, score_single_rating

__all__ = ["YMRS_ITEM1", "YMRS_ITEM1_LABELS"]

# Short labels of our own for the five anchors.
YMRS_ITEM1_LABELS: dict[int, str] = {
    0: "absent",
    1: "mildly or possibly raised",
    2: "definite subjective elevation",
    3: "elevated, inappropriate to content",
    4: "euphoric",
}

YMRS_ITEM1 = Instrument(
    id="ymrs_item1",
    name="YMRS item 1",
    version="item 1 only",
    recall_period="at the time of rating (infusion day)",
    field_prefix="ymrs",
    items=(Item("1", 1, "elevated mood", maximum=4, anchors=YMRS_ITEM1_LABELS),),
    citation="Young RC et al. Br J Psychiatry 1978;133:429-435; PROTOCOL.md §6, §7",
    missing_rule="The single item is required.",
    scorer=score_single_rating,
    total_range=(0, 4),
)
