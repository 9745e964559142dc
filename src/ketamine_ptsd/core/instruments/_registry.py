"""The registry of rating instruments and the ``score`` entry point.

Every instrument of PROTOCOL.md §7 is registered under a fixed id that other code (protocol
files, the record, the statistics engine) uses: ``caps5_past_month``, ``caps5_past_week``,
``madrs``, ``madrs_24h``, ``ies_r``, ``cgi_s``, ``cgi_i``, ``cadss``, ``bprs_positive``,
``ymrs_item1``, ``cssrs``, ``prise``, ``pcl5``.

Friendly aliases serve people typing at a terminal (:func:`resolve_instrument_id`); they are
matched after lower-casing and turning ``-`` and spaces into ``_``. ``caps5`` means the
past-month version: it is the CAPS-5 manual's diagnostic version and the one with which the
command-line contract's "other items … needed only for the diagnosis" makes sense (SYSTEM.md);
the past-week version is named ``caps5_past_week`` or ``caps5_week``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments._base import Instrument, ItemsInput, ScoredResult
from ketamine_ptsd.core.instruments.bprs import BPRS_POSITIVE
from ketamine_ptsd.core.instruments.cadss import CADSS
from ketamine_ptsd.core.instruments.caps5 import CAPS5_PAST_MONTH, CAPS5_PAST_WEEK
from ketamine_ptsd.core.instruments.cgi import CGI_I, CGI_S
from ketamine_ptsd.core.instruments.cssrs import CSSRS
from ketamine_ptsd.core.instruments.ies_r import IES_R
from ketamine_ptsd.core.instruments.madrs import MADRS, MADRS_24H
from ketamine_ptsd.core.instruments.pcl5 import PCL5
from ketamine_ptsd.core.instruments.prise import PRISE
from ketamine_ptsd.core.instruments.ymrs import YMRS_ITEM1

__all__ = [
    "ALIASES",
    "REGISTRY",
    "get_instrument",
    "instrument_ids",
    "resolve_instrument_id",
    "score",
]

REGISTRY: Mapping[str, Instrument] = {
    instrument.id: instrument
    for instrument in (
        CAPS5_PAST_MONTH,
        CAPS5_PAST_WEEK,
        MADRS,
        MADRS_24H,
        IES_R,
        CGI_S,
        CGI_I,
        CADSS,
        BPRS_POSITIVE,
        YMRS_ITEM1,
        CSSRS,
        PRISE,
        PCL5,
    )
}

ALIASES: Mapping[str, str] = {
    "caps5": "caps5_past_month",
    "caps_5": "caps5_past_month",
    "caps5_month": "caps5_past_month",
    "caps5_week": "caps5_past_week",
    "madrs_past_week": "madrs",
    "madrs_past_24h": "madrs_24h",
    "iesr": "ies_r",
    "cgis": "cgi_s",
    "cgii": "cgi_i",
    "bprs": "bprs_positive",
    "ymrs": "ymrs_item1",
    "ymrs1": "ymrs_item1",
    "c_ssrs": "cssrs",
    "pcl_5": "pcl5",
}


def resolve_instrument_id(name: str) -> str:
    """The registered id for ``name`` (an id or an alias, any case, ``-`` for ``_``)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in REGISTRY:
        known = ", ".join(REGISTRY)
        raise InvalidInput("instrument", f"unknown instrument {name!r}; known: {known}", name)
    return key


def get_instrument(name: str) -> Instrument:
    """The instrument registered under ``name`` (id or alias)."""
    return REGISTRY[resolve_instrument_id(name)]


def instrument_ids() -> tuple[str, ...]:
    """Every registered id, in registry order."""
    return tuple(REGISTRY)


def score(instrument_id: str, items: ItemsInput, **options: Any) -> ScoredResult:
    """Validate and score ``items`` for the instrument ``instrument_id`` (id or alias).

    ``items`` maps item keys (``7``, ``"7"``, ``"item_7"``) to values; ``options`` are the
    instrument's parameters (MADRS ``remission_max``/``bands``, PCL-5 ``cutoff``). Bad input
    raises :class:`~ketamine_ptsd.core.errors.InvalidInput` naming the item.
    """
    return get_instrument(instrument_id).score(items, **options)
