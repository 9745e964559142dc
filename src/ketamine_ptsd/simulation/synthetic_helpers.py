"""Draws for the synthetic trial: matched moments, exact counts, weekdays, block lists, instrument items."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ketamine_ptsd.core.instruments.caps5 import SYMPTOM_KEYS
from ketamine_ptsd.simulation.synthetic_items import allocate_total
from ketamine_ptsd.simulation.synthetic_records import (
    Demographics,
)
from ketamine_ptsd.simulation.synthetic_targets import (
    PUBLISHED,
)

FloatArray = npt.NDArray[np.float64]


# CAPS-5 clusters (PROTOCOL.md §7) and how strongly each follows the overall change. §10's
# time × treatment F: avoidance 12.29 > negative cognitions 4.42 ≈ intrusion 3.77 > arousal 2.47.
CLUSTER_OF_ITEM = tuple(
    "intrusion" if n <= 5 else "avoidance" if n <= 7 else "negcog" if n <= 14 else "arousal"
    for n in range(1, 21)
)


DSM5_FLOORS = {"intrusion": 1, "avoidance": 1, "negcog": 2, "arousal": 2}


RCT_FAILING_FACT = {
    "psychotic_or_bipolar": "lifetime_psychotic_or_bipolar_disorder",
    "substance_use_disorder": "substance_use_disorder_past_3_months",
    "suicidal_homicidal_ideation": "active_suicidal_or_homicidal_ideation",
    "unstable_medical_illness": "serious_unstable_medical_illness",
    "long_acting_benzodiazepine": "current_long_acting_benzodiazepine",
    "ketamine_pcp_recent": "recreational_ketamine_pcp_use_past_2_years",
}


@dataclass(frozen=True)
class ArmProfile:
    """How one arm responds. Reductions are fractions of the baseline CAPS-5 total at week 2,
    as (mean, SD) of a normal truncated to the responder (≥ threshold) or non-responder side;
    ``week1_share`` is the week-1 reduction as a share of week 2's; ``h24_*`` are IES-R
    reductions 24 h after infusion 1 (§10: no arm difference overall, −63 % in ketamine
    responders); ``baseline_shift`` moves the past-week baseline CAPS-5 from the screening
    (past-month) total, so the baseline arm difference resembles §10's 0.87."""

    responder_rate: float
    responder_reduction: tuple[float, float]
    nonresponder_reduction: tuple[float, float]
    week1_share: float
    h24_responder_reduction: tuple[float, float]
    h24_nonresponder_reduction: tuple[float, float]
    baseline_shift: float = 0.0
    cluster_responsiveness: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class SyntheticTrialConfig:
    """What to generate. Defaults reproduce PROTOCOL.md §10.

    ``arms``: arm ids, active first (``None``: the protocol's arms, else ketamine/midazolam; the
    clinic: ketamine alone). ``profiles``: one per arm (default ketamine-like for the first,
    control-like for the second). ``n_ineligible``/``n_declined``/``n_withdrawn``: ``None`` scales
    the published 12/9/1 per 30 randomized; ``withdrawn_have_week1``: the withdrawn patient was
    still rated at week 1 (§9's 89 observations of 30 patients need it). ``n_never_lose``: responders
    censored at ``censor_days`` (``None``: 2 per 13 responders, §8).
    ``allocation_sequence``: the arms in enrolment order, taken from a list made elsewhere (the
    demo seals the randomization service's own permuted-block list, PROTOCOL.md §3, and makes the
    trial follow it, so the real allocation service hands out the generated arms); it must hold
    ``n_per_arm`` of each arm. ``None`` draws permuted blocks of 2 or 4 here.
    """

    n_per_arm: int = 15
    mode: str = "trial"  # "trial" | "clinic"
    arms: tuple[str, ...] | None = None
    profiles: tuple[ArmProfile, ...] | None = None
    n_ineligible: int | None = None
    n_declined: int | None = None
    n_withdrawn: int | None = None
    withdrawn_after_infusion: int = 2
    withdrawn_have_week1: bool = True
    n_never_lose: int | None = None
    censor_days: tuple[int, ...] = (50, 102)
    loss_quartiles_days: tuple[float, float, float] = (
        PUBLISHED.loss_q25_days,
        PUBLISHED.loss_median_days,
        PUBLISHED.loss_q75_days,
    )
    start_date: dt.date = dt.date(2016, 1, 4)
    id_prefix: str = "P"
    allocation_sequence: tuple[str, ...] | None = None
    allocation_block_sizes: tuple[int, ...] = ()


@dataclass
class ArmPlan:
    """Per-arm assignments decided before any patient is drawn (the exact counts)."""

    responder: list[bool]
    withdrawn: list[bool]
    cssrs_positive: list[bool]
    cssrs_improved: list[bool]
    prise_after: dict[str, list[bool]]
    prise_other: dict[str, list[bool]]
    hypertensive: list[bool]
    never_lose: list[bool]
    demographics: list[Demographics]
    caps5_screen: list[int]
    madrs_baseline: list[int]


def truncnorm(rng: np.random.Generator, mean: float, sd: float, low: float, high: float) -> float:
    a, b = (low - mean) / sd, (high - mean) / sd
    return float(stats.truncnorm.ppf(rng.uniform(), a, b, loc=mean, scale=sd))


def matched_moments(
    rng: np.random.Generator,
    n: int,
    mean: float,
    sd: float,
    low: float,
    high: float,
    *,
    log_normal: bool = False,
) -> FloatArray:
    """``n`` draws shifted and scaled to sample mean ``mean`` and SD ``sd``, kept in range."""
    if log_normal:
        s2 = math.log1p((sd / mean) ** 2)
        x = rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)
    else:
        x = rng.normal(mean, sd, n)
    x = np.clip(x, low, high)
    if n < 3:
        return x
    for _ in range(30):
        cur_sd = float(np.std(x, ddof=1))
        if cur_sd > 0:
            x = mean + (x - float(np.mean(x))) * (sd / cur_sd)
        x = np.clip(x, low, high)
    return x


def exact_labels(rng: np.random.Generator, counts: dict[str, int], n: int, fill: str) -> list[str]:
    labels = [k for k, c in counts.items() for _ in range(c)]
    labels = labels[:n] + [fill] * max(0, n - len(labels))
    return [labels[i] for i in rng.permutation(n)]


def exact_flags(rng: np.random.Generator, count: int, n: int) -> list[bool]:
    chosen = set(rng.choice(n, size=min(count, n), replace=False).tolist()) if n else set()
    return [i in chosen for i in range(n)]


def next_weekday(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def block_sequence(
    rng: np.random.Generator, n_per_arm: int, arms: Sequence[str]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Permuted blocks with random sizes (1 or 2 of each arm per block), ending exactly."""
    left = n_per_arm
    seq: list[str] = []
    sizes: list[int] = []
    while left > 0:
        per_arm = 1 if left == 1 else int(rng.choice((1, 2)))
        block = [a for a in arms for _ in range(per_arm)]
        seq.extend(block[i] for i in rng.permutation(len(block)))
        sizes.append(len(block))
        left -= per_arm
    return tuple(seq), tuple(sizes)


def given_sequence(
    cfg: SyntheticTrialConfig, n_per_arm: int, arms: Sequence[str]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The configured allocation sequence, checked: only known arms, ``n_per_arm`` of each."""
    sequence = tuple(cfg.allocation_sequence or ())
    counts = {arm: sequence.count(arm) for arm in arms}
    if set(sequence) - set(arms) or any(c != n_per_arm for c in counts.values()):
        raise ValueError(
            f"allocation_sequence must hold {n_per_arm} of each arm {tuple(arms)}; got {counts}"
        )
    return sequence, tuple(cfg.allocation_block_sizes)


def caps5_items(
    rng: np.random.Generator,
    total: int,
    profile: FloatArray,
    reduction: float,
    *,
    dsm5_floors: bool = False,
    responsiveness: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> dict[str, int]:
    """20 CAPS-5 severities summing to ``total``; clusters follow ``reduction`` unevenly
    (``responsiveness`` per cluster B, C, D, E; > 1 improves faster than the total)."""
    by_cluster = dict(
        zip(("intrusion", "avoidance", "negcog", "arousal"), responsiveness, strict=True)
    )
    factors = np.array([max(0.05, 1.0 - by_cluster[c] * reduction) for c in CLUSTER_OF_ITEM])
    floors = np.zeros(20, dtype=np.int64)
    if dsm5_floors:
        for cluster, k in DSM5_FLOORS.items():
            members = [i for i, c in enumerate(CLUSTER_OF_ITEM) if c == cluster]
            floors[rng.choice(members, size=k, replace=False)] = 2
    values = allocate_total(total, profile * factors, rng, maximum=4, floors=floors, noise_sd=0.45)
    return {key: int(v) for key, v in zip(SYMPTOM_KEYS, values, strict=True)}


def caps5_past_month(
    rng: np.random.Generator, total: int, profile: FloatArray, duration_months: float
) -> dict[str, Any]:
    items: dict[str, Any] = caps5_items(rng, total, profile, 0.0, dsm5_floors=total >= 12)
    severe = total >= 30
    items.update(
        {
            "21": int(rng.choice((0, 0, 0, 7, 12))),
            "22": round(max(duration_months, 1.5), 1),
            "23": int(rng.integers(2, 5)) if severe else int(rng.integers(1, 3)),
            "24": int(rng.integers(2, 5)) if severe else int(rng.integers(0, 3)),
            "25": int(rng.integers(1, 4)),
            "26": 0,
            "27": int(np.clip(round(total / 14), 1, 4)),
            "29": int(rng.choice(3, p=(0.7, 0.2, 0.1))),
            "30": int(rng.choice(3, p=(0.75, 0.15, 0.1))),
        }
    )
    return items


def spread(
    rng: np.random.Generator,
    total: int,
    n_items: int,
    maximum: int,
    weights: FloatArray | None = None,
) -> dict[str, int]:
    w = rng.gamma(3.0, 1 / 3, n_items) if weights is None else weights
    values = allocate_total(int(np.clip(total, 0, n_items * maximum)), w, rng, maximum=maximum)
    return {str(k + 1): int(v) for k, v in enumerate(values)}


def cssrs_items(rng: np.random.Generator, positive: bool) -> dict[str, bool]:
    """A C-SSRS screener following its skip logic; positive patients endorse ideation without
    intent or plan (an active plan was a §1 exclusion)."""
    if not positive:
        return {"1": False, "2": False, "6": False}
    active = bool(rng.uniform() < 0.5)
    items = {"1": True, "2": active, "6": False}
    if active:
        items.update({"3": False, "4": False, "5": False})
    return items


def cgi_s_score(rng: np.random.Generator, caps_total: int) -> int:
    return int(np.clip(round(1.6 + caps_total / 11.0 + rng.normal(0.0, 0.45)), 1, 7))


def cgi_i_score(rng: np.random.Generator, reduction: float) -> int:
    return int(np.clip(round(4.0 - 5.5 * reduction + rng.normal(0.0, 0.55)), 1, 7))
