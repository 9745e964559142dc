"""The DSM-5 PTSD symptom structure shared by CAPS-5 items 1–20 and the PCL-5.

Both instruments list the 20 DSM-5 symptoms in the same order (PROTOCOL.md §7; Weathers et al.
2013, CAPS-5 and PCL-5), so the clusters and the symptom-count rule live here once:
B intrusion (1–5), C avoidance (6–7), D negative alterations in cognitions and mood (8–14),
E alterations in arousal and reactivity (15–20). A symptom counts as present when its rating is
≥ 2 (CAPS-5 "moderate/threshold"; the PCL-5 rule of thumb "moderately"), and criteria B–E need at
least 1, 1, 2 and 2 present symptoms (DSM-5, APA 2013).
"""

from __future__ import annotations

from collections.abc import Mapping

from ketamine_ptsd.core.instruments._base import ItemValue, count_at_or_above, sum_items

__all__ = [
    "CLUSTERS",
    "CLUSTER_ITEMS",
    "CLUSTER_MINIMUM_PRESENT",
    "SYMPTOM_LABELS",
    "SYMPTOM_PRESENT_AT",
    "cluster_scores",
    "symptom_criteria",
]

# Short labels of our own for the 20 DSM-5 symptoms (not the instruments' copyrighted prompts).
SYMPTOM_LABELS: tuple[str, ...] = (
    "intrusive memories",
    "distressing dreams",
    "flashbacks",
    "distress at reminders",
    "bodily reactions to reminders",
    "avoiding inner reminders",
    "avoiding outer reminders",
    "gaps in memory of the event",
    "negative beliefs",
    "distorted blame",
    "persistent negative emotions",
    "lost interest in activities",
    "detached from others",
    "no positive emotions",
    "irritability or aggression",
    "reckless or self-destructive",
    "hypervigilance",
    "startle",
    "poor concentration",
    "sleep problems",
)

# Cluster name → (DSM-5 criterion letter, item keys).
CLUSTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "intrusion": ("B", tuple(str(n) for n in range(1, 6))),
    "avoidance": ("C", ("6", "7")),
    "negative_cognitions_mood": ("D", tuple(str(n) for n in range(8, 15))),
    "arousal_reactivity": ("E", tuple(str(n) for n in range(15, 21))),
}
CLUSTER_ITEMS: dict[str, tuple[str, ...]] = {name: keys for name, (_, keys) in CLUSTERS.items()}
CLUSTER_MINIMUM_PRESENT: dict[str, int] = {"B": 1, "C": 1, "D": 2, "E": 2}
SYMPTOM_PRESENT_AT = 2


def cluster_scores(values: Mapping[str, ItemValue]) -> dict[str, int | float]:
    """Sum of each cluster's items (B 0–20, C 0–8, D 0–28, E 0–24); they partition the total."""
    return {name: sum_items(values, keys) for name, keys in CLUSTER_ITEMS.items()}


def symptom_criteria(values: Mapping[str, ItemValue]) -> tuple[dict[str, int], dict[str, bool]]:
    """Present-symptom counts per criterion letter and whether each of B–E is met."""
    counts = {
        letter: count_at_or_above(values, keys, SYMPTOM_PRESENT_AT)
        for letter, keys in CLUSTERS.values()
    }
    met = {letter: counts[letter] >= CLUSTER_MINIMUM_PRESENT[letter] for letter in counts}
    return counts, met
