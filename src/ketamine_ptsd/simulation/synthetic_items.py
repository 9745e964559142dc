"""Item-level answers that add up to a chosen total: the building block of the synthetic trial.

The synthetic trial (``synthetic_trial``) decides a patient's *total* first — because the trial's
published facts are about totals (CAPS-5 ≥ 30 at screening, ≥ 30 % reduction for response,
PROTOCOL.md §1, §8) and some must hold exactly by construction — and only then spreads the total
over the instrument's items. Spreading follows per-item weights (a patient's symptom profile,
times a cluster factor that lets avoidance improve faster than arousal, PROTOCOL.md §10), with
rounding noise, so that item sets look like real ratings while their sum is exact. Every item set
made here is scored by :func:`ketamine_ptsd.core.instruments.score` by the caller, so an invalid
set cannot slip through.

Pure: randomness only from the injected :class:`numpy.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["allocate_total", "water_fill"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# SD of the rounding noise, in item points: enough that two patients with the same total differ
# item by item, small enough that the weights (the profile) still show.
_ITEM_NOISE_SD = 0.6


def water_fill(total: float, weights: FloatArray, floors: FloatArray, cap: float) -> FloatArray:
    """Continuous item values ≥ ``floors`` and ≤ ``cap`` summing to ``total``, as proportional
    to ``weights`` as the caps allow (the excess of a capped item flows to the others)."""
    x = floors.astype(np.float64).copy()
    remaining = float(total) - float(x.sum())
    free = x < cap - 1e-12
    w_all = np.where(weights > 0, weights, 1e-9)
    for _ in range(len(x) + 1):
        if remaining <= 1e-9 or not free.any():
            break
        w = w_all * free
        share = remaining * w / w.sum()
        add = np.minimum(share, cap - x)
        x += add
        remaining -= float(add.sum())
        free = x < cap - 1e-9
    return x


def allocate_total(
    total: int,
    weights: Sequence[float] | FloatArray,
    rng: np.random.Generator,
    *,
    maximum: int,
    floors: Sequence[int] | IntArray | None = None,
    noise_sd: float = _ITEM_NOISE_SD,
) -> IntArray:
    """Whole-number items in ``[floor, maximum]`` that sum exactly to ``total``.

    ``floors`` (default 0) force some items up — e.g. a CAPS-5 symptom at severity 2 so that a
    screened patient meets the DSM-5 cluster rule (PROTOCOL.md §7). Raises ``ValueError`` if the
    total cannot be reached within the bounds.
    """
    w = np.asarray(weights, dtype=np.float64)
    n = w.size
    lo = np.zeros(n, dtype=np.int64) if floors is None else np.asarray(floors, dtype=np.int64)
    if lo.shape != (n,) or np.any(lo < 0) or np.any(lo > maximum):
        raise ValueError("floors must be one value in [0, maximum] per item")
    if not int(lo.sum()) <= total <= n * maximum:
        raise ValueError(f"total {total} outside [{int(lo.sum())}, {n * maximum}]")
    ideal = water_fill(total, w, lo.astype(np.float64), float(maximum))
    y = np.clip(np.round(ideal + rng.normal(0.0, noise_sd, n)), lo, maximum).astype(np.int64)
    diff = total - int(y.sum())
    w_pos = np.where(w > 0, w, 1e-6)
    while diff != 0:
        # Adjust |diff| distinct items by one point per round, weighted by room and profile.
        if diff > 0:
            cand = np.flatnonzero(y < maximum)
            p = w_pos[cand] * (maximum - y[cand])
        else:
            cand = np.flatnonzero(y > lo)
            p = (y[cand] - lo[cand]).astype(np.float64) / w_pos[cand]
        k = min(abs(diff), cand.size)
        picks = cand[rng.choice(cand.size, size=k, replace=False, p=p / p.sum())]
        step = 1 if diff > 0 else -1
        y[picks] += step
        diff -= step * k
    return y
