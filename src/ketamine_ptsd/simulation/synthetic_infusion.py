"""One synthetic infusion day: vitals, infusion-day ratings and side effects (PROTOCOL.md §6).

Shapes, from §6 and §10:

- **Vitals** every 5 minutes during the 40-minute infusion and every 15 after, to 120 minutes.
  Ketamine raises blood pressure and heart rate transiently: the rise builds over the first
  ~25 minutes, holds to the end of the infusion and fades with a ~20-minute half-life after it.
  Midazolam lowers them slightly. A *hypertensive reaction* (the one RCT patient who needed
  labetalol 5 mg IV during infusion 5) rises much further; labetalol is given at the first
  reading at or above 165/100 mmHg and the pressure falls over the next ~10 minutes.
- **CADSS** (dissociation, 23 items 0–4): near zero before, peaking at 40 minutes (large with
  ketamine, small with midazolam), resolved by 120.
- **BPRS positive** (4 items 1–7) and **YMRS item 1**: a small, transient rise at 40 minutes with
  ketamine.
- **PRISE** before the infusion (effects since the last assessment) and at 120 minutes (since the
  start); which symptoms appear is decided by the caller so that the published frequencies hold
  exactly across patients.

Pure: randomness only from the injected generator; dates come in as arguments.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

import numpy as np

from ketamine_ptsd.core.instruments.cadss import CADSS_ITEM_COUNT
from ketamine_ptsd.core.instruments.prise import PRISE_GROUPS
from ketamine_ptsd.simulation.synthetic_items import allocate_total
from ketamine_ptsd.simulation.synthetic_records import (
    InfusionDay,
    Intervention,
    Rating,
    VitalSigns,
)

__all__ = [
    "DEFAULT_VITALS_MINUTES",
    "PRISE_KEYS",
    "RATING_MINUTES",
    "make_infusion_day",
    "prise_form",
]

# §6: every 5 min during the 40-min infusion, every 15 min after, to 120 min from the start.
DEFAULT_VITALS_MINUTES: tuple[int, ...] = (*range(0, 41, 5), 55, 70, 85, 100, 115, 120)
RATING_MINUTES: tuple[int, ...] = (0, 40, 120)
PRISE_KEYS: tuple[str, ...] = tuple(key for pairs in PRISE_GROUPS.values() for key, _ in pairs)

_LABETALOL_SYSTOLIC_MMHG = 165
_LABETALOL_DIASTOLIC_MMHG = 100


def prise_form(reported: Mapping[str, str]) -> dict[str, str]:
    """A complete PRISE form: ``reported`` symptoms (``tolerable``/``distressing``), others ``no``."""
    form = dict.fromkeys(PRISE_KEYS, "no")
    for key, value in reported.items():
        if key not in form:
            raise KeyError(key)
        form[key] = value
    return form


def _shape(minute: int, infusion_minutes: int) -> float:
    """Relative size of the ketamine pressor effect at ``minute`` (0 before, 1 at plateau)."""
    if minute <= 0:
        return 0.0
    if minute <= infusion_minutes:
        return min(minute / 25.0, 1.0)
    return math.exp(-(minute - infusion_minutes) * math.log(2.0) / 20.0)


def _vitals(
    rng: np.random.Generator,
    *,
    ketamine: bool,
    minutes: Sequence[int],
    infusion_minutes: int,
    base: tuple[float, float, float],
    hypertensive_reaction: bool,
) -> tuple[tuple[VitalSigns, ...], tuple[Intervention, ...]]:
    base_sys, base_dia, base_hr = base
    if hypertensive_reaction:
        rise = (52.0, 24.0, 14.0)
    elif ketamine:
        rise = (
            max(rng.normal(14.0, 5.0), 2.0),
            max(rng.normal(8.0, 3.0), 1.0),
            rng.normal(8.0, 4.0),
        )
    else:
        rise = (rng.normal(-3.0, 3.0), rng.normal(-2.0, 2.0), rng.normal(1.0, 2.5))
    readings: list[VitalSigns] = []
    interventions: list[Intervention] = []
    treated_at: int | None = None
    for minute in minutes:
        s = _shape(minute, infusion_minutes)
        if treated_at is not None and minute > treated_at:
            s *= math.exp(-(minute - treated_at) / 10.0)
        systolic = round(base_sys + rise[0] * s + rng.normal(0.0, 4.0))
        diastolic = round(base_dia + rise[1] * s + rng.normal(0.0, 3.0))
        heart_rate = round(base_hr + rise[2] * s + rng.normal(0.0, 3.0))
        spo2_drop = 1.0 if (not ketamine and 0 < minute <= infusion_minutes) else 0.0
        spo2 = round(min(100.0, rng.normal(98.0 - spo2_drop, 0.8)))
        readings.append(
            VitalSigns(minute, int(systolic), int(diastolic), int(heart_rate), int(spo2))
        )
        if (
            hypertensive_reaction
            and treated_at is None
            and 0 < minute <= infusion_minutes
            and (systolic >= _LABETALOL_SYSTOLIC_MMHG or diastolic >= _LABETALOL_DIASTOLIC_MMHG)
        ):
            treated_at = minute
            interventions.append(
                Intervention(
                    minute=minute,
                    drug="labetalol",
                    dose_mg=5.0,
                    route="IV",
                    reason=f"blood pressure {systolic}/{diastolic} mmHg during the infusion",
                )
            )
    return tuple(readings), tuple(interventions)


def _cadss_items(rng: np.random.Generator, total: int) -> dict[str, int]:
    weights = rng.gamma(2.0, 0.5, CADSS_ITEM_COUNT)
    values = allocate_total(total, weights, rng, maximum=4, noise_sd=0.4)
    return {str(k + 1): int(v) for k, v in enumerate(values)}


def _bprs_items(rng: np.random.Generator, points_above_floor: int) -> dict[str, int]:
    keys = ("4", "11", "12", "15")
    # Perceptual change (hallucinatory behaviour, 12) and unusual thought content (15) carry
    # most of ketamine's transient positive-symptom signal.
    values = allocate_total(points_above_floor, [0.6, 0.5, 1.4, 1.0], rng, maximum=6, noise_sd=0.3)
    return {key: int(v) + 1 for key, v in zip(keys, values, strict=True)}


def make_infusion_day(
    rng: np.random.Generator,
    *,
    number: int,
    date: dt.date,
    drug: str,
    weight_kg: float,
    dose_mg: float,
    infusion_minutes: int = 40,
    vitals_minutes: Sequence[int] = DEFAULT_VITALS_MINUTES,
    baseline_vitals: tuple[float, float, float],
    prise_before: Mapping[str, str],
    prise_after: Mapping[str, str],
    hypertensive_reaction: bool = False,
) -> InfusionDay:
    """Make one infusion day. ``baseline_vitals`` is the patient's usual (systolic, diastolic,
    heart rate); ``prise_before``/``prise_after`` name the side effects reported on the PRISE
    before the infusion and at 120 minutes (everything else is ``no``)."""
    ketamine = drug == "ketamine"
    base_sys, base_dia, _ = baseline_vitals
    pre_bp = tuple(
        (round(base_sys + rng.normal(0.0, 5.0)), round(base_dia + rng.normal(0.0, 3.0)))
        for _ in range(3)
    )
    # The cutoff (§6: ≤ 2 readings above 140/90, ≤ 1 above 160/90) was met on every day the
    # trial infused; keep the synthetic readings inside it.
    pre_bp = tuple(
        (min(s, 139), min(d, 89)) if i > 0 else (s, d) for i, (s, d) in enumerate(pre_bp)
    )
    pre_bp = tuple((min(s, 158), min(d, 90)) for s, d in pre_bp)
    vitals, interventions = _vitals(
        rng,
        ketamine=ketamine,
        minutes=vitals_minutes,
        infusion_minutes=infusion_minutes,
        base=baseline_vitals,
        hypertensive_reaction=hypertensive_reaction,
    )
    time_point = f"infusion_{number}"
    ratings: list[Rating] = []
    for minute in RATING_MINUTES:
        if minute == 40:
            peak = rng.normal(19.0, 9.0) if ketamine else rng.normal(3.0, 2.5)
            cadss_total = int(np.clip(round(peak), 3 if ketamine else 0, 70))
            bprs_above = int(rng.poisson(1.6 if ketamine else 0.15))
            ymrs = int(rng.choice(3, p=(0.55, 0.3, 0.15) if ketamine else (0.93, 0.07, 0.0)))
        else:
            cadss_total = int(min(rng.poisson(1.2 if minute == 0 else 0.8), 8))
            bprs_above = int(rng.poisson(0.05))
            ymrs = 0
        ratings.append(Rating("cadss", time_point, date, _cadss_items(rng, cadss_total), minute))
        ratings.append(
            Rating("bprs_positive", time_point, date, _bprs_items(rng, min(bprs_above, 24)), minute)
        )
        ratings.append(Rating("ymrs_item1", time_point, date, {"1": ymrs}, minute))
        if minute == 0:
            ratings.append(Rating("prise", time_point, date, prise_form(prise_before), minute))
        if minute == 120:
            ratings.append(Rating("prise", time_point, date, prise_form(prise_after), minute))
    return InfusionDay(
        number=number,
        date=date,
        drug=drug,
        weight_kg=weight_kg,
        dose_mg=dose_mg,
        infusion_minutes=infusion_minutes,
        pre_infusion_bp_mmhg=pre_bp,
        vitals=vitals,
        ratings=tuple(ratings),
        interventions=interventions,
    )
