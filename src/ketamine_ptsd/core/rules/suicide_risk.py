"""When a C-SSRS screener result needs a physician (PROTOCOL.md §7; issue 12 item 8).

The screener's risk level (``low`` for ideation items 1-2, ``moderate`` for item 3 or past
behaviour, ``high`` for items 4-5 or recent behaviour; :mod:`ketamine_ptsd.core.instruments.cssrs`)
is compared with the protocol's ``monitoring.suicide_risk_review_level``. At or above it, the
record raises an alert and a physician task, and the next infusion is held until a physician has
reviewed it (acknowledged the alert with the action taken). ``none`` never alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput
from ..instruments.cssrs import RISK_LEVELS
from ..protocol import Protocol

__all__ = ["suicide_risk_alert"]


def suicide_risk_alert(protocol: Protocol, derived: Mapping[str, Any], where: str) -> str | None:
    """The alert's text when the scored screener's risk level is at or above the protocol's
    review level (None: below it). ``derived`` is the scored C-SSRS's derived values; ``where``
    says which visit it was (e.g. "week 1 on 2026-03-02")."""
    level = derived.get("risk_level")
    if level not in RISK_LEVELS:
        raise InvalidInput("risk_level", f"one of {', '.join(RISK_LEVELS)}", level)
    threshold = protocol.monitoring.suicide_risk_review_level
    if RISK_LEVELS.index(level) < RISK_LEVELS.index(threshold) or level == "none":
        return None
    return (
        f"C-SSRS {level} suicide risk at {where} (the protocol's review level is {threshold}; "
        "PROTOCOL.md §7)"
    )
