"""Absolute input limits shared by every form, the API and the protocol validator (§4).

One declaration: the web form's ``min``/``max``, the REST schema's bounds and the validator's
check of a protocol's ``weight_kg_range`` all read these, so the form cannot accept 250 kg while
the API accepts 500 (issue 12 item 3).
"""

from __future__ import annotations

__all__ = ["HEIGHT_CM_LIMITS", "MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT", "WEIGHT_KG_LIMITS"]

#: The weights (kg) any form or request accepts at all; a protocol's range lies within them.
WEIGHT_KG_LIMITS: tuple[float, float] = (30.0, 250.0)
#: Heights (cm) accepted at screening (as the ideal-body-weight formula's range, dose.py).
HEIGHT_CM_LIMITS: tuple[float, float] = (120.0, 230.0)
#: A larger tolerance would let a weight typed in pounds (+120 %) through unconfirmed.
MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT = 50.0
