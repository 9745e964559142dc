"""The RCT's published aggregates (PROTOCOL.md §8, §10) as data: the calibration targets of the
synthetic trial and the left column of the demo's "published vs this run" table.

Counts are per 15 patients per arm; the generator scales them to other sizes by largest
remainder (``scaled_counts``). Arm order everywhere: active (ketamine) first, control
(midazolam) second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "PUBLISHED",
    "ContinuousTarget",
    "PublishedTrial",
    "scaled_count",
    "scaled_counts",
]


@dataclass(frozen=True)
class ContinuousTarget:
    """Mean (SD) of one Table 1 variable in each arm, with the range the generator keeps to."""

    mean: tuple[float, float]
    sd: tuple[float, float]
    low: float
    high: float
    unit: str


def _frozen(d: Mapping[str, tuple[int, int]]) -> Mapping[str, tuple[int, int]]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class PublishedTrial:
    """PROTOCOL.md §10 (and §8 for durability), one field per published figure."""

    n_per_arm: int = 15
    n_assessed: int = 51
    n_ineligible: int = 12
    n_declined: int = 9
    n_withdrawn: int = 1
    # Table 1, continuous: (ketamine, midazolam).
    age_years: ContinuousTarget = ContinuousTarget((39.3, 38.5), (13.8, 13.0), 18, 70, "years")
    bmi_kg_m2: ContinuousTarget = ContinuousTarget((25.2, 26.9), (5.1, 5.6), 17, 45, "kg/m²")
    ptsd_duration_years: ContinuousTarget = ContinuousTarget(
        (15.1, 14.6), (17.8, 7.8), 0.25, 55, "years"
    )
    caps5_past_month: ContinuousTarget = ContinuousTarget(
        (41.9, 40.1), (6.1, 5.9), 30, 80, "points"
    )
    madrs_baseline: ContinuousTarget = ContinuousTarget((27.6, 26.4), (8.2, 7.2), 6, 60, "points")
    # Table 1, counts (ketamine, midazolam) out of 15 each.
    female: tuple[int, int] = (13, 10)
    hispanic: tuple[int, int] = (2, 1)
    comorbid_mdd: tuple[int, int] = (11, 10)
    concomitant_psychotherapy: tuple[int, int] = (9, 8)
    stable_psychotropics: tuple[int, int] = (7, 6)
    race: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: _frozen(
            {"Black": (2, 3), "Asian": (2, 3), "White": (9, 7), "Other": (2, 2)}
        )
    )
    primary_trauma: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: _frozen(
            {
                "sexual assault": (9, 4),
                "physical assault": (4, 4),
                "combat": (1, 1),
                "witnessed violence or death": (1, 3),
                "9/11 attacks": (0, 3),
            }
        )
    )
    # Primary outcome and clusters (midazolam − ketamine differences; F(2,55) time × treatment).
    caps5_difference: tuple[float, float, float] = (0.87, 8.80, 11.88)
    caps5_difference_se: tuple[float, float, float] = (3.93, 3.93, 3.96)
    caps5_d_week1: float = 0.85
    caps5_d_week2: float = 1.13
    caps5_interaction_f: float = 5.97
    cluster_interaction_f: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                "intrusion": 3.77,
                "avoidance": 12.29,
                "negative_cognitions_mood": 4.42,
                "arousal_reactivity": 2.47,
            }
        )
    )
    madrs_interaction_f: float = 5.68
    madrs_d_week2: float = 0.92
    cgi_s_interaction_f: float = 5.19
    cgi_i_treatment_f: float = 9.96
    responders: tuple[int, int] = (10, 3)
    responders_chi2_yates: float = 4.89
    nnt: float = 2.1
    ies_r_24h_f: float = 0.08
    madrs_24h_f: float = 0.50
    # PRISE, share of patients (counts of 15): after infusion start, and at other times.
    prise_after_start: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: _frozen(
            {
                "blurred_vision": (8, 0),
                "dizziness": (5, 2),
                "fatigue": (5, 13),
                "headache": (4, 2),
                "nausea_vomiting": (3, 1),
            }
        )
    )
    prise_other_times: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: _frozen(
            {"nausea_vomiting": (5, 3), "headache": (5, 3), "fatigue": (3, 1)}
        )
    )
    cssrs_positive_baseline: tuple[int, int] = (8, 2)
    cssrs_improved_week2: tuple[int, int] = (6, 1)
    # Durability among responders (§8): days from the primary outcome day.
    loss_q25_days: float = 23.0
    loss_median_days: float = 27.5
    loss_q75_days: float = 32.0
    never_lost_censor_days: tuple[float, ...] = (50.0, 102.0)


PUBLISHED = PublishedTrial()


def scaled_counts(counts: Mapping[str, int], n_published: int, n: int) -> dict[str, int]:
    """Counts out of ``n_published`` rescaled to ``n`` by largest remainder (sum preserved when
    the published counts partition ``n_published``)."""
    if n == n_published:
        return dict(counts)
    raw = {k: v * n / n_published for k, v in counts.items()}
    floors = {k: int(v) for k, v in raw.items()}
    target = round(sum(raw.values()))
    short = target - sum(floors.values())
    order = sorted(raw, key=lambda k: raw[k] - floors[k], reverse=True)
    for k in order[:short]:
        floors[k] += 1
    return floors


def scaled_count(count: int, n_published: int, n: int) -> int:
    """One count out of ``n_published`` rescaled to ``n`` (rounded half up, within [0, n])."""
    return max(0, min(n, int(count * n / n_published + 0.5)))
