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
