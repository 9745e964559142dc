"""Absolute input limits shared by every form, the API and the protocol validator (§4).

One declaration: the web form's ``min``/``max``, the REST schema's bounds and the validator's
check of a protocol's ``weight_kg_range`` all read these, so the form cannot accept 250 kg while
the API accepts 500 (issue 12 item 3).
"""

from __future__ import annotations

__all__ = [
    "HEIGHT_CM_LIMITS",
    "MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT",
    "VITAL_RANGES",
    "WEIGHT_KG_LIMITS",
]

#: The weights (kg) any form or request accepts at all; a protocol's range lies within them.
WEIGHT_KG_LIMITS: tuple[float, float] = (30.0, 250.0)
#: Heights (cm) accepted at screening (as the ideal-body-weight formula's range, dose.py).
HEIGHT_CM_LIMITS: tuple[float, float] = (120.0, 230.0)
#: A larger tolerance would let a weight typed in pounds (+120 %) through unconfirmed.
MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT = 50.0

#: The possible range of each vital-sign reading (a value outside is a typing error, not a
#: patient): the one declaration the bedside form, the API, the rule (core.rules.vitals) and the
#: validator of a protocol's plausible ranges share (issues 11, 17).
VITAL_RANGES: dict[str, tuple[int, int]] = {
    "systolic_mmhg": (30, 320),
    "diastolic_mmhg": (10, 220),
    "heart_rate_bpm": (10, 300),
    "spo2_percent": (30, 100),
    "respiratory_rate_per_min": (0, 80),
    "moaas": (0, 5),  # Modified Observer's Assessment of Alertness/Sedation: 5 awake, 0 none
}
