"""Giving the drug: the day's weight, the bag, the end and the dose given (PROTOCOL.md §4, §6).

Pure rules the infusion services apply at the start and the end of an infusion (issue 12):

* :func:`weight_change` — the day's weight against the last recorded one (screening or the
  previous infusion day): a change beyond the protocol's tolerance, or a value that is the last
  weight in pounds (× 2.2046, within :data:`POUNDS_MATCH_PERCENT`), must be confirmed by a second
  staff member before it doses anyone. Exactly at the tolerance passes; just above does not.
* :func:`check_bag` — the bag's concentration equals the protocol's (a bag made up at 2 mg/mL
  against a 1 mg/mL protocol would double the dose), its volume the volume to infuse, and it has
  not expired (a bag expiring today may be used today).
* :func:`check_end_time` — the end lies between the start and now.
* :func:`dose_given_mg` — mg = volume given × the bag's concentration, in decimal.
* :func:`bmi` — body-mass index from screening weight and height.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from ..errors import InvalidInput
from ..protocol import HEIGHT_CM_LIMITS, WEIGHT_KG_LIMITS

__all__ = [
    "KG_PER_POUND",
    "POUNDS_MATCH_PERCENT",
    "WeightChange",
    "bmi",
    "check_bag",
    "check_end_time",
    "check_height",
    "check_weight",
    "dose_given_mg",
    "weight_change",
]

#: One pound in kilograms (exact by definition).
KG_PER_POUND = Decimal("0.45359237")
#: A day's weight within this many percent of the last weight in pounds is taken for pounds.
POUNDS_MATCH_PERCENT = Decimal("2")


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def _num(x: float) -> str:
    return f"{x:.6g}"


def _finite(field: str, value: object, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(field, f"expected a number in {unit}", value)
    return float(value)


def check_weight(weight_kg: object, field: str = "weight_kg") -> float:
    """A weight in kg within :data:`WEIGHT_KG_LIMITS` (the one bound of every form and the API)."""
    w = _finite(field, weight_kg, "kg")
    low, high = WEIGHT_KG_LIMITS
    if not low <= w <= high:
        raise InvalidInput(field, f"weight must be {low:g}–{high:g} kg", weight_kg)
    return w


def check_height(height_cm: object, field: str = "height_cm") -> float:
    """A height in cm within :data:`HEIGHT_CM_LIMITS`."""
    h = _finite(field, height_cm, "cm")
    low, high = HEIGHT_CM_LIMITS
    if not low <= h <= high:
        raise InvalidInput(field, f"height must be {low:g}–{high:g} cm", height_cm)
    return h


def bmi(weight_kg: float, height_cm: float) -> float:
    """kg/m², rounded to 0.1."""
    metres = _dec(height_cm) / 100
    return float((_dec(weight_kg) / (metres * metres)).quantize(Decimal("0.1")))


@dataclass(frozen=True, slots=True)
class WeightChange:
    """The day's weight against the last recorded one; ``reasons`` empty: no confirmation needed."""

    weight_kg: float
    previous_kg: float | None
    change_percent: float | None
    looks_like_pounds: bool
    reasons: tuple[str, ...]

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.reasons)


def weight_change(
    weight_kg: float, previous_kg: float | None, tolerance_percent: float
) -> WeightChange:
    """Does the day's weight need a second staff member's confirmation (PROTOCOL.md §4)?

    Yes when there is no earlier weight to compare with, when |weight − previous| is more than
    ``tolerance_percent`` of the previous weight (exactly at the tolerance: no), or when the weight
    is within :data:`POUNDS_MATCH_PERCENT` of the previous weight in pounds.
    """
    if previous_kg is None:
        return WeightChange(
            weight_kg,
            None,
            None,
            False,
            ("no earlier weight (screening or a previous infusion) to compare with (§4)",),
        )
    w, prev = _dec(weight_kg), _dec(previous_kg)
    change = (w - prev) / prev * 100
    reasons = []
    if abs(change) > _dec(tolerance_percent):
        reasons.append(
            f"{_num(weight_kg)} kg is {_num(float(change))} % from the last recorded "
            f"{_num(previous_kg)} kg, beyond the protocol's {_num(tolerance_percent)} % (§4)"
        )
    pounds = prev / KG_PER_POUND
    looks_like_pounds = abs(w - pounds) <= pounds * POUNDS_MATCH_PERCENT / 100
    if looks_like_pounds:
        reasons.append(
            f"{_num(weight_kg)} looks like the last weight {_num(previous_kg)} kg in pounds "
            f"({_num(float(pounds))} lb): weigh in kg (§4)"
        )
    return WeightChange(weight_kg, previous_kg, float(change), looks_like_pounds, tuple(reasons))


def check_bag(
    *,
    expiry: dt.date,
    today: dt.date,
    concentration_mg_per_ml: float | None,
    protocol_concentration_mg_per_ml: float,
    volume_ml: float,
    dose_volume_ml: float,
    volume_step_ml: float,
) -> None:
    """Refuse a bag that does not match what is to be given (PROTOCOL.md §4, §6).

    ``concentration_mg_per_ml`` None: a blinded reader, who confirms the volume only (the
    concentration would tell the arm; the pharmacy that prepared the bag confirmed it).
    """
    if expiry < today:
        raise InvalidInput(
            "bag_expiry",
            f"the bag expired on {expiry.isoformat()}; do not use it (§6)",
            expiry.isoformat(),
        )
    if concentration_mg_per_ml is not None:
        c = _finite("bag_concentration_mg_per_ml", concentration_mg_per_ml, "mg/mL")
        if _dec(c) != _dec(protocol_concentration_mg_per_ml):
            raise InvalidInput(
                "bag_concentration_mg_per_ml",
                f"the bag is {_num(c)} mg/mL but the protocol makes it up at "
                f"{_num(protocol_concentration_mg_per_ml)} mg/mL: the volume and the pump rate "
                "would be wrong; do not use it (§4)",
                concentration_mg_per_ml,
            )
    v = _finite("bag_volume_ml", volume_ml, "mL")
    if abs(_dec(v) - _dec(dose_volume_ml)) > _dec(volume_step_ml) / 2:
        raise InvalidInput(
            "bag_volume_ml",
            f"the bag holds {_num(v)} mL but {_num(dose_volume_ml)} mL is to be infused (§4)",
            volume_ml,
        )


#: How much earlier than its planned duration an infusion may be recorded as ended without
#: being an early stop (the pump's own end and the nurse's reading of the clock).
END_EARLY_TOLERANCE_MINUTES = 2


def check_end_time(
    ended_at: dt.datetime,
    started_at: dt.datetime,
    now: dt.datetime,
    *,
    infusion_minutes: int | None = None,
    stopped_early: bool = False,
) -> dt.datetime:
    """The end of an infusion lies between its start and now (§6). With ``infusion_minutes``
    (the planned duration, §4), an end more than :data:`END_EARLY_TOLERANCE_MINUTES` before it
    is an early stop: refused unless recorded as one (volume given, reason), so that the whole
    dose is never recorded for an infusion that did not run its course."""
    if ended_at.tzinfo is None:
        raise InvalidInput("ended_at", "give the time with its time zone", ended_at.isoformat())
    if ended_at < started_at:
        raise InvalidInput(
            "ended_at",
            f"the end ({ended_at.isoformat(timespec='minutes')}) is before the start "
            f"({started_at.isoformat(timespec='minutes')})",
            ended_at.isoformat(),
        )
    if ended_at > now:
        raise InvalidInput("ended_at", "the end may not lie in the future", ended_at.isoformat())
    if infusion_minutes is not None and not stopped_early:
        ran = (ended_at - started_at).total_seconds() / 60
        if ran < infusion_minutes - END_EARLY_TOLERANCE_MINUTES:
            raise InvalidInput(
                "ended_at",
                f"the infusion runs {infusion_minutes} min; an end after {ran:.0f} min is an "
                "early stop: record it as stopped early, with the volume given and the reason "
                "(PROTOCOL.md §4)",
                ended_at.isoformat(),
            )
    return ended_at


def dose_given_mg(
    volume_given_ml: float, volume_ml: float, concentration_mg_per_ml: float
) -> float:
    """mg given = volume given × the bag's concentration; the volume given lies in 0–volume."""
    v = _finite("volume_given_ml", volume_given_ml, "mL")
    if not 0 <= v <= volume_ml:
        raise InvalidInput(
            "volume_given_ml",
            f"the volume given must be 0–{_num(volume_ml)} mL (the volume prepared)",
            volume_given_ml,
        )
    return float(_dec(v) * _dec(concentration_mg_per_ml))
