"""The DataFrame front-end's coding of labels: the dict pass used for trial-sized data and
``pandas.factorize`` used beyond 50,000 rows give the same levels and codes."""

from __future__ import annotations

import numpy as np

from ketamine_ptsd.core.stats.mmrm import model


def test_both_factorisation_paths_give_the_same_levels_and_codes() -> None:
    rng = np.random.default_rng(0)
    values = rng.choice(np.array(["P10", "P2", "P1", "B", 7, 7.5], dtype=object), 60_000)
    big_raw, big_labels = model._factorize(values)  # pandas.factorize path
    small = [model._factorize(values[i : i + 20_000]) for i in range(0, 60_000, 20_000)]
    levels = tuple(sorted(model._present(big_raw, big_labels)))
    assert levels == ("7", "7.5", "B", "P1", "P10", "P2")
    big_codes = model._recode(big_raw, big_labels, levels)
    small_codes = np.concatenate([model._recode(raw, lab, levels) for raw, lab in small])
    np.testing.assert_array_equal(big_codes, small_codes)
    assert [levels[c] for c in big_codes[:50]] == [str(v) for v in values[:50]]


def test_value_keyed_pass_gives_the_codes_of_the_label_keyed_pass() -> None:
    """Integer, bool and pandas string columns are factorised on their values (no ``str``
    per row): the same labels and, after recoding to the sorted levels, the same codes as
    keying by the text of each value."""
    rng = np.random.default_rng(1)
    ints = rng.integers(-5, 40, 500)
    strings = rng.choice(np.array(["week10", "week2", "baseline", "Week2"], dtype=object), 500)
    bools = rng.integers(0, 2, 500).astype(bool)
    for values in (ints, strings, bools):
        by_text = model._factorize(values)
        by_value = model._factorize(values, as_text=False)
        levels = tuple(model._present(*by_text))
        assert levels == tuple(model._present(*by_value, complete=True))
        np.testing.assert_array_equal(
            model._recode(*by_text, levels), model._recode(*by_value, levels)
        )


def test_fit_is_the_same_with_integer_and_text_subject_ids() -> None:
    """The subject codes follow the sorted text of the ids either way (``"10" < "2"``), so
    the analysis is identical to the last bit."""
    import pandas as pd

    rng = np.random.default_rng(2)
    rows = [
        (sid, "a" if sid % 2 else "b", visit, float(rng.normal(20 - 3 * v, 5)))
        for sid in range(1, 25)
        for v, visit in enumerate(("v0", "v1", "v2"))
    ]
    frame = pd.DataFrame(rows, columns=["pid", "arm", "visit", "y"])
    as_text = frame.astype({"pid": str, "arm": object, "visit": object})
    kw = dict(subject="pid", group="arm", time="visit", outcome="y")
    assert model.fit_mmrm(frame, **kw).to_dict() == model.fit_mmrm(as_text, **kw).to_dict()
