"""Group-sequential designs (core/stats/sequential.py) against rpact 3.3.4 and PROTOCOL.md §9."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.sequential import (
    SequentialDesign,
    classical_boundary_design,
    design_for_rct_interim,
    obrien_fleming_spending,
    pocock_spending,
    spending_design,
)

REFERENCE = Path(__file__).parents[2] / "reference" / "sequential" / "rpact_designs.csv"
Z_TOL = 1e-6  # measured ≤ 9e-8 (grid r = 32 vs rpact's own integration)
ALPHA_TOL = 2e-8  # rpact stops its search 1e-8 short of alpha (alphaSpent 0.04999999)


def _designs() -> list[list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    with REFERENCE.open(newline="") as fh:
        for row in csv.DictReader(fh):
            groups[row["design"]].append(row)
    return list(groups.values())


def _ours(row: dict[str, str]) -> SequentialDesign:
    t = [float(v) for v in row["information"].split(";")]
    alpha, sides = float(row["alpha"]), int(row["sides"])
    kind = "pocock" if row["type"] in ("asP", "P") else "obrien-fleming"
    if row["type"].startswith("as"):
        return spending_design(alpha, sides, t, kind, two_sided_spending=row["convention"])
    return classical_boundary_design(alpha, sides, t, kind)


def _id(rows: list[dict[str, str]]) -> str:
    r = rows[0]
    return f"{r['type']}-{r['convention']}-{r['sides']}s-{r['alpha']}-{r['information']}"


@pytest.mark.parametrize("rows", _designs(), ids=_id)
def test_design_matches_rpact_get_design_group_sequential_against_R(
    rows: list[dict[str, str]],
) -> None:
    """rpact: getDesignGroupSequential(kMax, alpha, sided, typeOfDesign = asP/asOF/P/OF or asUser,
    informationRates); z within 1e-6, nominal and cumulative alpha within 2e-8."""
    design = _ours(rows[0])
    sides = int(rows[0]["sides"])
    assert len(design.looks) == len(rows)
    for look, row in zip(design.looks, rows, strict=True):
        assert look.information == pytest.approx(float(row["t"]), abs=1e-12)
        assert look.z == pytest.approx(float(row["z"]), abs=Z_TOL)
        assert look.nominal_alpha == pytest.approx(
            sides * float(row["stage_level_one_sided"]), abs=ALPHA_TOL
        )
        assert look.cumulative_alpha == pytest.approx(float(row["cumulative_alpha"]), abs=ALPHA_TOL)


def test_rct_interim_nominal_alpha_0_0304_is_classical_pocock_two_looks_one_sided_005() -> None:
    """PROTOCOL.md §9: alpha 0.0304 'per the Pocock alpha spending function' at the interim."""
    design = design_for_rct_interim()
    assert design.method == "boundary"
    assert design.kind == "pocock"
    assert (design.alpha, design.sides) == (0.05, 1)
    assert [lk.information for lk in design.looks] == [0.5, 1.0]
    assert round(design.looks[0].nominal_alpha, 4) == 0.0304
    assert design.looks[0].z == pytest.approx(1.875423, abs=1e-6)


def test_only_one_searched_configuration_gives_nominal_0_0304() -> None:
    """The search that design_for_rct_interim's docstring reports."""
    hits = []
    for alpha in (0.025, 0.05, 0.10):
        for sides in (1, 2):
            for t in ((0.5, 1.0), (0.75, 1.0)):
                candidates = {
                    "spending": spending_design(alpha, sides, t, "pocock"),
                    "boundary": classical_boundary_design(alpha, sides, t, "pocock"),
                }
                for method, design in candidates.items():
                    for k, look in enumerate(design.looks):
                        if round(look.nominal_alpha, 4) == 0.0304:
                            hits.append((method, alpha, sides, t, k))
    assert hits == [
        ("boundary", 0.05, 1, (0.5, 1.0), 0),
        ("boundary", 0.05, 1, (0.5, 1.0), 1),
    ]


def test_pocock_spending_at_30_of_40_patients_spends_0_0414_not_0_0304() -> None:
    design = spending_design(0.05, 2, (0.75, 1.0), "pocock")
    assert design.looks[0].nominal_alpha == pytest.approx(0.05 * math.log1p((math.e - 1) * 0.75))
    assert round(design.looks[0].nominal_alpha, 4) == 0.0414


def test_spending_functions_spend_all_alpha_at_full_information() -> None:
    assert obrien_fleming_spending(1.0, 0.05) == pytest.approx(0.05, abs=1e-15)
    assert pocock_spending(1.0, 0.05) == pytest.approx(0.05, abs=1e-15)
    assert obrien_fleming_spending(0.5, 0.05) < pocock_spending(0.5, 0.05)


def test_two_sided_conventions_differ_for_obrien_fleming_only() -> None:
    t = (0.5, 1.0)
    per_side = spending_design(0.05, 2, t, "obrien-fleming")
    total = spending_design(0.05, 2, t, "obrien-fleming", two_sided_spending="total")
    assert total.looks[0].cumulative_alpha == pytest.approx(obrien_fleming_spending(0.5, 0.05))
    assert per_side.looks[0].cumulative_alpha == pytest.approx(
        2 * obrien_fleming_spending(0.5, 0.025)
    )
    assert total.looks[0].z < per_side.looks[0].z
    p1 = spending_design(0.05, 2, t, "pocock")
    p2 = spending_design(0.05, 2, t, "pocock", two_sided_spending="total")
    assert p1.looks[0].z == pytest.approx(p2.looks[0].z, abs=1e-12)


def test_single_look_is_the_fixed_sample_test() -> None:
    design = classical_boundary_design(0.05, 2, (1.0,), "obrien-fleming")
    assert design.looks[0].z == pytest.approx(1.959963985, abs=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"sides": 3}, "sides"),
        ({"information": (0.5, 0.9)}, "information"),
        ({"information": (0.6, 0.5, 1.0)}, "information"),
        ({"information": (0.0, 1.0)}, "information"),
        ({"information": ()}, "information"),
        ({"spending": "haybittle"}, "spending"),
    ],
)
def test_spending_design_refuses_bad_input(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "alpha": 0.05,
        "sides": 2,
        "information": (0.5, 1.0),
        "spending": "pocock",
    }
    args.update(kwargs)
    with pytest.raises(InvalidInput) as info:
        spending_design(**args)  # type: ignore[arg-type]
    assert info.value.field == field
