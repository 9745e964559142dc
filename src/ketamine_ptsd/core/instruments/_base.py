"""The shape every rating instrument shares: items, their value kinds, validation, the result.

An instrument is declarative data (:class:`Instrument`): its items with ranges and short labels
(our own words — the published item wordings are copyrighted, PROTOCOL.md §7), its recall period,
its missing-item rule in words, its citation, and one pure scoring function. Validation is shared
here so that every instrument refuses bad input the same way: an
:class:`~ketamine_ptsd.core.errors.InvalidInput` whose ``field`` is the item id
(``"<prefix>.item_<key>"``, e.g. ``"caps5.item_7"``), with the value as entered.

Value kinds:

- ``rating``: a whole number in ``[minimum, maximum]``. ``bool`` is refused (``True`` is not a
  rating), and so are floats such as ``2.5`` and strings: a rating scale has no half points, and
  text must be parsed by the adapter that received it.
- ``yes_no``: ``True``/``False``, ``"yes"``/``"no"`` (any case) or ``1``/``0``; stored as ``bool``.
- ``choice``: one of the item's ``choices`` (a string, any case) or its 0-based code; stored as the
  choice string.
- ``months``: a non-negative finite number of months (fractions allowed), for the CAPS-5 onset and
  duration items, which the manual records as a count of months.

``None`` means "not answered": it is treated as absent, and each instrument's scorer decides,
per its missing-item rule, whether it can score without the item.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ketamine_ptsd.core.errors import InvalidInput

__all__ = [
    "Instrument",
    "Item",
    "ItemKind",
    "ItemValue",
    "ItemsInput",
    "ScoredResult",
    "count_at_or_above",
    "require_items",
    "score_single_rating",
    "sum_items",
    "validate_items",
]

ItemKind = Literal["rating", "yes_no", "choice", "months"]
ItemValue = int | float | bool | str
# What callers may pass: item keys as numbers, names, or both (``Mapping`` keys are invariant,
# so ``dict[int, int]`` would not match ``Mapping[str | int, Any]`` alone).
ItemsInput = Mapping[str, Any] | Mapping[int, Any] | Mapping[str | int, Any]

_YES = frozenset({"yes", "y", "true"})
_NO = frozenset({"no", "n", "false"})


@dataclass(frozen=True)
class Item:
    """One item of an instrument.

    ``key`` is how the item is named in input and output (``"7"`` for CAPS-5 item 7,
    ``"blurred_vision"`` for a PRISE symptom); ``position`` is its 1-based place on the form, which
    the command line uses for ``--items a,b,c``. ``anchors`` gives short labels of our own for
    scale points where the manual defines them.
    """

    key: str
    position: int
    label: str
    kind: ItemKind = "rating"
    minimum: int = 0
    maximum: int = 4
    anchors: Mapping[int, str] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    group: str | None = None


@dataclass(frozen=True)
class ScoredResult:
    """The scored form: what every instrument returns from ``score``.

    ``total`` is ``None`` where the instrument has no total (C-SSRS, PRISE). ``subscales`` holds
    numbers only (sums, or means where the authors recommend them); ``derived`` holds
    interpretations (a diagnosis, a risk level, a band) and the parameters used for them, so that
    a stored result says which cut-off produced it. ``items`` echoes the validated answers, keyed
    by item key, in form order; unanswered items are absent.
    """

    instrument: str
    version: str
    total: int | None
    subscales: dict[str, int | float]
    derived: dict[str, Any]
    items: dict[str, ItemValue]


Scorer = Callable[..., ScoredResult]


@dataclass(frozen=True)
class Instrument:
    """A rating instrument as data, plus its pure scoring function.

    ``field_prefix`` starts every item id in errors (``"caps5"`` → ``"caps5.item_7"``).
    ``total_range`` is ``None`` for instruments without a total. ``partition`` names the
    subscales whose sum is the total (empty where the subscales do not partition the items);
    ``subscale_ranges`` gives each subscale's bounds for range checks. ``cli_item_keys`` are the
    items the command line's ``--items`` list fills, in order (all items unless the instrument
    says otherwise, e.g. CAPS-5 items 1–20 only, SYSTEM.md).
    """

    id: str
    name: str
    version: str
    recall_period: str
    field_prefix: str
    items: tuple[Item, ...]
    citation: str
    missing_rule: str
    scorer: Scorer
    total_range: tuple[int, int] | None
    subscale_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    partition: tuple[str, ...] = ()
    cli_item_keys: tuple[str, ...] | None = None
    accepts_positions: bool = False

    def item(self, key: str) -> Item:
        """The item named ``key`` (a key such as ``"7"``); ``KeyError`` if there is none."""
        for candidate in self.items:
            if candidate.key == key:
                return candidate
        raise KeyError(key)

    def field_id(self, key: str) -> str:
        """The id an error uses for item ``key``, e.g. ``"caps5.item_7"``."""
        return f"{self.field_prefix}.item_{key}"

    @property
    def command_line_keys(self) -> tuple[str, ...]:
        """Keys filled, in order, by the command line's ``--items`` list."""
        if self.cli_item_keys is not None:
            return self.cli_item_keys
        return tuple(item.key for item in self.items)

    def score(self, items: ItemsInput, **options: Any) -> ScoredResult:
        """Validate ``items`` and score them; options are the instrument's parameters."""
        return self.scorer(self, validate_items(self, items), **options)


def _resolve_key(instrument: Instrument, raw_key: str | int) -> str:
    """Map an input key (``7``, ``"7"``, ``"item_7"``, ``"caps5.item_7"``, a position) to a key."""
    if isinstance(raw_key, bool) or not isinstance(raw_key, str | int):
        raise InvalidInput(
            f"{instrument.field_prefix}.items",
            f"item keys must be item numbers or names, got {type(raw_key).__name__}",
            raw_key,
        )
    text = str(raw_key).strip().lower()
    text = text.removeprefix(f"{instrument.field_prefix}.").removeprefix("item_")
    for item in instrument.items:
        if item.key == text:
            return item.key
    if instrument.accepts_positions and text.isdigit():
        for item in instrument.items:
            if item.position == int(text):
                return item.key
    raise InvalidInput(
        instrument.field_id(text),
        f"{instrument.name} has no item {raw_key!r}",
        raw_key,
    )


def _coerce(instrument: Instrument, item: Item, value: Any) -> ItemValue:
    field_id = instrument.field_id(item.key)
    if item.kind == "rating":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidInput(
                field_id,
                f"must be a whole number {item.minimum}–{item.maximum}, "
                f"got {type(value).__name__} {value!r}",
                value,
            )
        number = int(value)
        if not item.minimum <= number <= item.maximum:
            raise InvalidInput(
                field_id, f"must be {item.minimum}–{item.maximum}, got {number}", value
            )
        return number
    if item.kind == "yes_no":
        if isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and int(value) in (0, 1):
            return int(value) == 1
        if isinstance(value, str) and value.strip().lower() in _YES | _NO:
            return value.strip().lower() in _YES
        raise InvalidInput(field_id, f"must be yes or no, got {value!r}", value)
    if item.kind == "choice":
        if isinstance(value, str) and value.strip().lower() in item.choices:
            return value.strip().lower()
        if (
            not isinstance(value, bool)
            and isinstance(value, numbers.Integral)
            and 0 <= int(value) < len(item.choices)
        ):
            return item.choices[int(value)]
        allowed = " / ".join(item.choices)
        raise InvalidInput(field_id, f"must be one of {allowed}, got {value!r}", value)
    # months
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(
            field_id, f"must be a number of months, got {type(value).__name__} {value!r}", value
        )
    months = float(value)
    if not math.isfinite(months) or not item.minimum <= months <= item.maximum:
        raise InvalidInput(
            field_id, f"must be {item.minimum}–{item.maximum} months, got {value!r}", value
        )
    return int(value) if isinstance(value, numbers.Integral) else months


def validate_items(instrument: Instrument, items: ItemsInput) -> dict[str, ItemValue]:
    """Check every answered item's key, type and range; return them keyed by item key, form order.

    Unknown items and duplicates (``7`` and ``"item_7"`` both given) are refused; ``None`` values
    are dropped (not answered). Whether an unanswered item blocks scoring is the scorer's call.
    """
    if not isinstance(items, Mapping):
        raise InvalidInput(
            f"{instrument.field_prefix}.items",
            f"items must be a mapping of item → value, got {type(items).__name__}",
            items,
        )
    found: dict[str, ItemValue] = {}
    seen: set[str] = set()
    for raw_key, value in items.items():
        key = _resolve_key(instrument, raw_key)
        if key in seen:
            raise InvalidInput(instrument.field_id(key), "given more than once", value)
        seen.add(key)
        if value is None:
            continue
        found[key] = _coerce(instrument, instrument.item(key), value)
    return {item.key: found[item.key] for item in instrument.items if item.key in found}


def require_items(
    instrument: Instrument, values: Mapping[str, ItemValue], keys: Iterable[str], purpose: str
) -> None:
    """Refuse, naming the first missing item and listing all of them, if any of ``keys`` is absent."""
    missing = [key for key in keys if key not in values]
    if missing:
        listed = ", ".join(missing)
        raise InvalidInput(
            instrument.field_id(missing[0]),
            f"missing; {purpose} needs every one of them (missing items: {listed})",
            None,
        )


def sum_items(values: Mapping[str, ItemValue], keys: Iterable[str]) -> int:
    """Sum of the rating items ``keys`` (all must be present; the scorer checked)."""
    return sum(_as_int(values[key]) for key in keys)


def count_at_or_above(values: Mapping[str, ItemValue], keys: Iterable[str], threshold: int) -> int:
    """How many of the rating items ``keys`` are at or above ``threshold``."""
    return sum(1 for key in keys if _as_int(values[key]) >= threshold)


def _as_int(value: ItemValue) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a rating, got {value!r}")
    return value


def score_single_rating(
    instrument: Instrument, values: dict[str, ItemValue], **options: Any
) -> ScoredResult:
    """Score a one-item scale (CGI-S, CGI-I, YMRS item 1): the total is the rating itself.

    ``derived["label"]`` is the anchor of the chosen point, where the scale defines one.
    """
    if options:
        raise TypeError(f"{instrument.name} takes no options, got {sorted(options)}")
    (item,) = instrument.items
    require_items(instrument, values, (item.key,), "the score")
    rating = _as_int(values[item.key])
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=rating,
        subscales={},
        derived={"label": item.anchors.get(rating)},
        items=values,
    )
