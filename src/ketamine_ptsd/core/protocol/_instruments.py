"""Instrument identifiers a protocol may name.

The instruments themselves (items, ranges, scoring) live in ``ketamine_ptsd.core.instruments``;
a protocol only refers to them by id. The validator checks every id a protocol names against this
set so that a typo ("caps5_pastweek") is caught when the file is loaded, not on the day a rater
opens the form. Ids follow PROTOCOL.md §5–§7.
"""

from __future__ import annotations

__all__ = ["KNOWN_INSTRUMENT_IDS"]

KNOWN_INSTRUMENT_IDS: frozenset[str] = frozenset(
    {
        "caps5_past_month",  # screening and diagnosis (§1, §7)
        "caps5_past_week",  # tracking change (§5, §7)
        "madrs",  # past-week recall (§5)
        "madrs_24h",  # past-24 h recall (§5)
        "ies_r",  # self-report (§5, §7)
        "cgi_s",
        "cgi_i",
        "cadss",  # infusion-day dissociation (§6)
        "bprs_positive",  # infusion-day positive symptoms (§6)
        "ymrs_item1",  # infusion-day elevated mood (§6)
        "cssrs",
        "prise",  # side effects (§6)
        "pcl5",  # self-report option of the clinical pathway (§5)
    }
)
