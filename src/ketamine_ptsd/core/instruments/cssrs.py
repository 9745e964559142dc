"""C-SSRS screener, the Columbia–Suicide Severity Rating Scale screen version.

Source: Posner K, Brown GK, Stanley B, et al. The Columbia–Suicide Severity Rating Scale.
Am J Psychiatry 2011;168:1266–1277, and the C-SSRS Screen Version with its triage (The Columbia
Lighthouse Project); PROTOCOL.md §1, §5, §7. The RCT used it with past-week recall (PROTOCOL.md §5).

Items (yes/no), keyed "1"–"6" plus "6_recent":

1. wish to be dead; 2. non-specific active suicidal thoughts; 3. thoughts with a method (no
intent or plan); 4. intent, without a specific plan; 5. a plan with intent; 6. any suicidal
behaviour (done, started or prepared); "6_recent": was that behaviour recent (the screener asks
"within the past 3 months").

Skip logic (the screener's): items 1, 2 and 6 are always asked; 3–5 only if 2 is yes; "6_recent"
only if 6 is yes. An item asked must be answered; an item that the skip logic leaves out must be
left out (or ``None``) — an answer there means the form was filled against its logic, and is
refused rather than silently dropped.

Risk level (PROTOCOL.md §7, after the screener's triage colours): ``high`` if 4 or 5 is yes, or
behaviour (6) was recent; ``moderate`` if 3 is yes, or behaviour (6) was not recent (the triage
marks behaviour longer ago as moderate — PROTOCOL.md §7 names only recent behaviour, the triage
supplies this case); ``low`` if only 1 or 2 is yes; ``none`` if every answer is no.
``positive`` (any yes) is the RCT's "C-SSRS positive" (PROTOCOL.md §10).

No total.
"""

from __future__ import annotations

from typing import Any

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments._base import (
    Instrument,
    Item,
    ItemValue,
    ScoredResult,
    require_items,
)

__all__ = ["CSSRS", "RISK_LEVELS"]

RISK_LEVELS: tuple[str, ...] = ("none", "low", "moderate", "high")

_ITEMS = (
    Item("1", 1, "wish to be dead", kind="yes_no"),
    Item("2", 2, "non-specific active suicidal thoughts", kind="yes_no"),
    Item("3", 3, "suicidal thoughts with a method", kind="yes_no"),
    Item("4", 4, "suicidal intent without a specific plan", kind="yes_no"),
    Item("5", 5, "suicidal intent with a specific plan", kind="yes_no"),
    Item("6", 6, "suicidal behaviour", kind="yes_no"),
    Item("6_recent", 7, "that behaviour was recent (screener: past 3 months)", kind="yes_no"),
)


def _refuse_skipped(
    instrument: Instrument, values: dict[str, ItemValue], keys: tuple[str, ...], reason: str
) -> None:
    for key in keys:
        if key in values:
            raise InvalidInput(
                instrument.field_id(key),
                f"must be left out: {reason} (C-SSRS screener skip logic)",
                values[key],
            )


def _score_cssrs(
    instrument: Instrument, values: dict[str, ItemValue], **options: Any
) -> ScoredResult:
    if options:
        raise TypeError(f"C-SSRS takes no options, got {sorted(options)}")
    require_items(instrument, values, ("1", "2", "6"), "the screener")
    if values["2"] is True:
        require_items(instrument, values, ("3", "4", "5"), "a yes to item 2")
    else:
        _refuse_skipped(instrument, values, ("3", "4", "5"), "asked only if item 2 is yes")
    if values["6"] is True:
        require_items(instrument, values, ("6_recent",), "a yes to item 6")
    else:
        _refuse_skipped(instrument, values, ("6_recent",), "asked only if item 6 is yes")

    def yes(key: str) -> bool:
        return values.get(key) is True

    behaviour = yes("6")
    recent_behaviour = behaviour and yes("6_recent")
    if yes("4") or yes("5") or recent_behaviour:
        risk = "high"
    elif yes("3") or behaviour:
        risk = "moderate"
    elif yes("1") or yes("2"):
        risk = "low"
    else:
        risk = "none"
    ideation_items = [key for key in ("1", "2", "3", "4", "5") if yes(key)]
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=None,
        subscales={},
        derived={
            "risk_level": risk,
            "positive": bool(ideation_items) or behaviour,
            "ideation": bool(ideation_items),
            "highest_ideation_item": int(ideation_items[-1]) if ideation_items else None,
            "behaviour": behaviour,
            "recent_behaviour": recent_behaviour,
        },
        items=values,
    )


CSSRS = Instrument(
    id="cssrs",
    name="C-SSRS screener",
    version="screener",
    recall_period="past week (RCT); the standard screener asks about the past month",
    field_prefix="cssrs",
    items=_ITEMS,
    citation=(
        "Posner K et al. Am J Psychiatry 2011;168:1266-1277; C-SSRS Screen Version and triage, "
        "The Columbia Lighthouse Project; PROTOCOL.md §7"
    ),
    missing_rule=(
        "Items 1, 2 and 6 are required; 3-5 are required if 2 is yes and must be left out "
        "otherwise; 6_recent is required if 6 is yes and must be left out otherwise."
    ),
    scorer=_score_cssrs,
    total_range=None,
)
