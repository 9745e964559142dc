"""Every registered instrument honours the shared contract (STYLE.md: one conformance test).

Per instrument: each rating item accepts its range edges and refuses the values just outside;
wrong types are refused naming the item; a missing required item is refused by name; totals and
subscales stay in range and, where the subscales partition the items, add up to the total
(Hypothesis, derandomized). Source of the ranges: PROTOCOL.md §7.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ketamine_ptsd.core.instruments as instruments_pkg
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import REGISTRY, Instrument, Item, score

EXPECTED_IDS = {
    "caps5_past_month",
    "caps5_past_week",
    "madrs",
    "madrs_24h",
    "ies_r",
    "cgi_s",
    "cgi_i",
    "cadss",
    "bprs_positive",
    "ymrs_item1",
    "cssrs",
    "prise",
    "pcl5",
}
# Items an instrument scores without (everything else is required for a valid form).
OPTIONAL_ITEMS: dict[str, set[str]] = {
    "caps5_past_month": {str(n) for n in range(21, 31)},
    "caps5_past_week": {str(n) for n in range(21, 31)},
}
INSTRUMENTS = [pytest.param(instrument, id=instrument.id) for instrument in REGISTRY.values()]


def lowest_value(item: Item) -> Any:
    if item.kind == "yes_no":
        return False
    if item.kind == "choice":
        return item.choices[0]
    return item.minimum


def apply_skip_logic(instrument: Instrument, form: dict[str, Any]) -> dict[str, Any]:
    """Drop the C-SSRS items its screener logic leaves unasked (cssrs module docstring)."""
    if instrument.id != "cssrs":
        return form
    form = dict(form)
    if form.get("2") is not True:
        for key in ("3", "4", "5"):
            form.pop(key, None)
    if form.get("6") is not True:
        form.pop("6_recent", None)
    return form


def base_form(instrument: Instrument) -> dict[str, Any]:
    return apply_skip_logic(instrument, {item.key: lowest_value(item) for item in instrument.items})


def value_strategy(item: Item) -> st.SearchStrategy[Any]:
    if item.kind == "yes_no":
        return st.booleans()
    if item.kind == "choice":
        return st.sampled_from(item.choices)
    if item.kind == "months":
        return st.integers(item.minimum, item.maximum) | st.floats(
            item.minimum, item.maximum, allow_nan=False
        )
    return st.integers(item.minimum, item.maximum)


def test_registry_holds_exactly_the_protocol_instruments() -> None:
    assert set(REGISTRY) == EXPECTED_IDS
    assert all(instrument_id == inst.id for instrument_id, inst in REGISTRY.items())


def test_package_exports_are_complete() -> None:
    for name in instruments_pkg.__all__:
        assert hasattr(instruments_pkg, name), name
    for name in ("score", "REGISTRY", "ScoredResult", "Instrument", "get_instrument"):
        assert name in instruments_pkg.__all__


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_instrument_documents_citation_missing_rule_and_short_labels(
    instrument: Instrument,
) -> None:
    assert "PROTOCOL.md §" in instrument.citation
    assert instrument.missing_rule.strip()
    assert instrument.recall_period.strip()
    keys = [item.key for item in instrument.items]
    assert len(keys) == len(set(keys))
    assert [item.position for item in instrument.items] == list(range(1, len(keys) + 1))
    for item in instrument.items:
        assert 0 < len(item.label) <= 60, item.label


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_lowest_valid_form_scores_at_the_bottom_of_the_range(instrument: Instrument) -> None:
    result = score(instrument.id, base_form(instrument))
    assert result.instrument == instrument.id
    assert result.version == instrument.version
    if instrument.total_range is None:
        assert result.total is None
    else:
        assert result.total == instrument.total_range[0]


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_every_rating_item_accepts_its_edges_and_refuses_just_outside(
    instrument: Instrument,
) -> None:
    for item in instrument.items:
        if item.kind != "rating":
            continue
        for edge in (item.minimum, item.maximum):
            form = base_form(instrument) | {item.key: edge}
            assert score(instrument.id, form).items[item.key] == edge
        for outside in (item.minimum - 1, item.maximum + 1):
            form = base_form(instrument) | {item.key: outside}
            with pytest.raises(InvalidInput) as caught:
                score(instrument.id, form)
            assert caught.value.field == instrument.field_id(item.key)
            assert caught.value.value == outside


@pytest.mark.parametrize("instrument", INSTRUMENTS)
@pytest.mark.parametrize("bad", [True, 2.5, "2", [2]], ids=["bool", "float", "str", "list"])
def test_every_item_refuses_wrong_types_naming_the_item(instrument: Instrument, bad: Any) -> None:
    for item in instrument.items:
        if item.kind == "yes_no" and bad is True:
            continue  # True is a valid yes
        if item.kind == "months" and bad == 2.5:
            continue  # months may be fractional (caps5 items 21, 22)
        form = base_form(instrument) | {item.key: bad}
        with pytest.raises(InvalidInput) as caught:
            score(instrument.id, form)
        assert caught.value.field == instrument.field_id(item.key)


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_missing_required_item_is_refused_by_name(instrument: Instrument) -> None:
    full = base_form(instrument)
    optional = OPTIONAL_ITEMS.get(instrument.id, set())
    for key in full:
        form = {k: v for k, v in full.items() if k != key}
        if key in optional:
            score(instrument.id, form)
            continue
        with pytest.raises(InvalidInput) as caught:
            score(instrument.id, form)
        assert caught.value.field == instrument.field_id(key)
        assert "missing" in caught.value.message


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_unknown_item_is_refused(instrument: Instrument) -> None:
    with pytest.raises(InvalidInput) as caught:
        score(instrument.id, base_form(instrument) | {"99": 1})
    assert caught.value.field == f"{instrument.field_prefix}.item_99"


@pytest.mark.parametrize("instrument", INSTRUMENTS)
@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_scores_stay_in_range_and_subscales_partition_the_total(
    instrument: Instrument, data: st.DataObject
) -> None:
    form = {item.key: data.draw(value_strategy(item), label=item.key) for item in instrument.items}
    form = apply_skip_logic(instrument, form)
    result = score(instrument.id, form)
    assert result.items == form
    if instrument.total_range is not None:
        low, high = instrument.total_range
        assert result.total is not None
        assert low <= result.total <= high
    for name, value in result.subscales.items():
        low_sub, high_sub = instrument.subscale_ranges[name]
        assert low_sub <= value <= high_sub, name
    if instrument.partition:
        assert sum(result.subscales[name] for name in instrument.partition) == result.total
