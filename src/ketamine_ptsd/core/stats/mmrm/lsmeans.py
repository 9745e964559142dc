"""LS means per group × time and the arm difference at each time (SAS LSMEANS / emmeans).

Each LS mean is L β̂ with L the design row for that group and time, other class covariates
averaged with equal weights and numeric covariates at their means — the defaults of SAS's
LSMEANS and R's emmeans. The df of an LS mean and of a difference is the method's df for that
contrast; under between-within it is the df of the group:time effect, as SAS assigns the df of
the LSMEANS effect.
"""

from __future__ import annotations

import numpy as np

from .effect_size import cohens_d_from_t
from .inference import InferenceContext
from .result import Difference, LsMean

__all__ = ["differences", "ls_means"]


def _df_term(ctx: InferenceContext, group: str, time: str) -> str:
    names = [t.name for t in ctx.design.terms]
    for candidate in (f"{group}:{time}", time, group):
        if candidate in names:
            return candidate
    return names[0]


def ls_means(ctx: InferenceContext, group: str, time: str) -> tuple[LsMean, ...]:
    design = ctx.design
    g_levels = design.class_vars[group].levels
    t_levels = design.class_vars[time].levels
    df_term = _df_term(ctx, group, time)
    out: list[LsMean] = []
    for gi, g in enumerate(g_levels):
        for ti, t in enumerate(t_levels):
            row = design.reference_row({group: gi, time: ti})
            res = ctx.contrast(row, df_term)
            out.append(LsMean(group=g, time=t, estimate=res.estimate, se=res.se, df=res.df))
    return tuple(out)


def differences(
    ctx: InferenceContext, group: str, time: str, n_per_group: tuple[int, int]
) -> tuple[Difference, ...]:
    """First group minus second at every time level, with Cohen's d (effect_size.py)."""
    design = ctx.design
    t_levels = design.class_vars[time].levels
    df_term = _df_term(ctx, group, time)
    out: list[Difference] = []
    for ti, t in enumerate(t_levels):
        lvec = design.reference_row({group: 0, time: ti}) - design.reference_row(
            {group: 1, time: ti}
        )
        res = ctx.contrast(lvec, df_term)
        eff = cohens_d_from_t(res.t, *n_per_group) if np.isfinite(res.t) else None
        out.append(
            Difference(
                time=t,
                estimate=res.estimate,
                se=res.se,
                df=res.df,
                t=res.t,
                p=res.p,
                d=eff.d if eff else float("nan"),
                d_ci_low=eff.ci_low if eff else float("nan"),
                d_ci_high=eff.ci_high if eff else float("nan"),
            )
        )
    return tuple(out)
