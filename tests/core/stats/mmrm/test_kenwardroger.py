"""Kenward-Roger F tests (SAS DDFM=KR) do not depend on level order or on the rows of L.

Kenward & Roger (1997, Biometrics 53:983–997) build the scaled F and its df from
Θ = L'(L Φ L')⁻¹ L, which is the same for every basis M·L of the hypothesis (M invertible), so
unlike the multi-df Satterthwaite df (test_satterthwaite.py) the answer cannot depend on the
level order; these tests hold us to that. Single-df KR numbers against SAS listings are in
test_mmrm_kr_against_SAS.py (design/KR, design/ddfm_covtype of openpharma/mmrm); no SAS
listing of a multi-df KR test on fev_data exists there.

Tolerance 1e-6 relative: reordering levels permutes the covariance parameters, so the optimiser
stops a hair elsewhere; changing only the basis (same fit) agrees to 1e-9.
"""

from __future__ import annotations

from typing import Any

import pytest

from ketamine_ptsd.core.stats.mmrm import fit_mmrm

TIME_ORDERS = [
    ("VIS1", "VIS2", "VIS3", "VIS4"),
    ("VIS2", "VIS3", "VIS4", "VIS1"),
    ("VIS4", "VIS2", "VIS1", "VIS3"),
]


def _type3(mmrm_data: Any, **kwargs: Any) -> dict[str, tuple[float, float]]:
    frame, spec = mmrm_data("fev")
    spec.update(kwargs)
    res = fit_mmrm(frame, ddf="kenward-roger", **spec)
    return {r.effect: (r.den_df, r.F) for r in res.type3}


@pytest.mark.parametrize("covariance", ["cs", "un"])
def test_kenward_roger_type3_does_not_depend_on_time_or_group_order(
    mmrm_data: Any, covariance: str
) -> None:
    first = _type3(mmrm_data, covariance=covariance, time_order=TIME_ORDERS[0])
    assert first["time"][0] > 100 and first["group:time"][0] > 100  # multi-df rows present
    for order in TIME_ORDERS[1:]:
        for group_order in (("TRT", "PBO"), ("PBO", "TRT")):
            other = _type3(
                mmrm_data, covariance=covariance, time_order=order, group_order=group_order
            )
            for effect, values in first.items():
                assert other[effect] == pytest.approx(values, rel=1e-6), (effect, order)


@pytest.mark.parametrize("covariance", ["cs", "un"])
def test_kenward_roger_type3_is_the_same_in_sas_reference_rows(
    mmrm_data: Any, covariance: str
) -> None:
    ortho = _type3(mmrm_data, covariance=covariance, type3_basis="orthonormal")
    sas = _type3(mmrm_data, covariance=covariance, type3_basis="reference")
    for effect, values in ortho.items():
        assert sas[effect] == pytest.approx(values, rel=1e-9), effect
