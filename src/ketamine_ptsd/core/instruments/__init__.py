"""Rating instruments of PROTOCOL.md §7: items, ranges, subscales, missing-item rules, scoring.

One module per instrument (``caps5``, ``madrs``, ``ies_r``, ``cgi``, ``cadss``, ``bprs``,
``ymrs``, ``cssrs``, ``prise``, ``pcl5``), each a declarative :class:`Instrument` with its
citation, and one registry with a single entry point::

    from ketamine_ptsd.core.instruments import score
    result = score("madrs", {n: 2 for n in range(1, 11)})
    result.total  # 20

Pure code: no I/O, no clock.
"""

from __future__ import annotations

from ketamine_ptsd.core.instruments._base import (
    Instrument,
    Item,
    ItemKind,
    ItemsInput,
    ItemValue,
    ScoredResult,
)
from ketamine_ptsd.core.instruments._registry import (
    ALIASES,
    REGISTRY,
    get_instrument,
    instrument_ids,
    resolve_instrument_id,
    score,
)
from ketamine_ptsd.core.instruments.madrs import madrs_band
from ketamine_ptsd.core.instruments.pcl5 import Pcl5Change, pcl5_change

__all__ = [
    "ALIASES",
    "REGISTRY",
    "Instrument",
    "Item",
    "ItemKind",
    "ItemValue",
    "ItemsInput",
    "Pcl5Change",
    "ScoredResult",
    "get_instrument",
    "instrument_ids",
    "madrs_band",
    "pcl5_change",
    "resolve_instrument_id",
    "score",
]
