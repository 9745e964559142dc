"""Type 3 F tests of the model terms (SAS "Type 3 Tests of Fixed Effects").

The hypothesis matrix of each term comes from ``design.build_design`` (a zero-sum coding mapped
onto the treatment-coded β, its rows chosen by ``type3_basis``); the F statistic is the Wald F,
F = (Lβ̂)'(LΦL')⁻¹(Lβ̂)/q, the same in every basis, with the denominator df of the chosen method
(for Kenward-Roger, the scaled F with Φ_A).
"""

from __future__ import annotations

from .inference import InferenceContext
from .result import Type3Row

__all__ = ["type3_tests"]


def type3_tests(ctx: InferenceContext) -> tuple[Type3Row, ...]:
    rows: list[Type3Row] = []
    for term in ctx.design.terms:
        lmat = ctx.design.type3_l[term.name]
        res = ctx.f_test(lmat, term.name)
        rows.append(
            Type3Row(effect=term.name, num_df=res.num_df, den_df=res.den_df, F=res.f_value, p=res.p)
        )
    return tuple(rows)
