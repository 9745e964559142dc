"""core/stats: the statistics engine (MMRM in ``mmrm``; one module each for responders,
survival, power, group-sequential designs, blinding indices, reference-based imputation (``mi``,
``refbased``) and
the cumulative-logit mixed model).

The names below are re-exported lazily (PEP 562): importing ``core.stats.sequential`` or
``core.protocol`` does not load scipy.stats for the ordinal model, which costs most of a
command-line start-up. ``from ketamine_ptsd.core.stats import fit_ordinal`` works as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the ``X as X`` form re-exports for the type checker
    from ketamine_ptsd.core.stats.blinding import BlindingIndices as BlindingIndices
    from ketamine_ptsd.core.stats.blinding import blinding_indices as blinding_indices
    from ketamine_ptsd.core.stats.mi import MIResult as MIResult
    from ketamine_ptsd.core.stats.mi import run_mi as run_mi
    from ketamine_ptsd.core.stats.ordinal import OrdinalFit as OrdinalFit
    from ketamine_ptsd.core.stats.ordinal import fit_cumulative_logit as fit_cumulative_logit
    from ketamine_ptsd.core.stats.ordinal import fit_ordinal as fit_ordinal
    from ketamine_ptsd.core.stats.power import PowerResult as PowerResult
    from ketamine_ptsd.core.stats.power import SampleSizeResult as SampleSizeResult
    from ketamine_ptsd.core.stats.power import t_test_power as t_test_power
    from ketamine_ptsd.core.stats.power import t_test_sample_size as t_test_sample_size
    from ketamine_ptsd.core.stats.refbased import RefBasedResult as RefBasedResult
    from ketamine_ptsd.core.stats.refbased import condmean_jackknife as condmean_jackknife
    from ketamine_ptsd.core.stats.responders import ResponderResult as ResponderResult
    from ketamine_ptsd.core.stats.responders import analyse_responders as analyse_responders
    from ketamine_ptsd.core.stats.sequential import Look as Look
    from ketamine_ptsd.core.stats.sequential import SequentialDesign as SequentialDesign
    from ketamine_ptsd.core.stats.sequential import (
        classical_boundary_design as classical_boundary_design,
    )
    from ketamine_ptsd.core.stats.sequential import design_for_rct_interim as design_for_rct_interim
    from ketamine_ptsd.core.stats.sequential import spending_design as spending_design
    from ketamine_ptsd.core.stats.survival import KaplanMeier as KaplanMeier
    from ketamine_ptsd.core.stats.survival import LogRank as LogRank
    from ketamine_ptsd.core.stats.survival import kaplan_meier as kaplan_meier
    from ketamine_ptsd.core.stats.survival import logrank_test as logrank_test

_LAZY = {
    "BlindingIndices": "ketamine_ptsd.core.stats.blinding",
    "blinding_indices": "ketamine_ptsd.core.stats.blinding",
    "MIResult": "ketamine_ptsd.core.stats.mi",
    "run_mi": "ketamine_ptsd.core.stats.mi",
    "RefBasedResult": "ketamine_ptsd.core.stats.refbased",
    "condmean_jackknife": "ketamine_ptsd.core.stats.refbased",
    "OrdinalFit": "ketamine_ptsd.core.stats.ordinal",
    "fit_cumulative_logit": "ketamine_ptsd.core.stats.ordinal",
    "fit_ordinal": "ketamine_ptsd.core.stats.ordinal",
    "PowerResult": "ketamine_ptsd.core.stats.power",
    "SampleSizeResult": "ketamine_ptsd.core.stats.power",
    "t_test_power": "ketamine_ptsd.core.stats.power",
    "t_test_sample_size": "ketamine_ptsd.core.stats.power",
    "ResponderResult": "ketamine_ptsd.core.stats.responders",
    "analyse_responders": "ketamine_ptsd.core.stats.responders",
    "Look": "ketamine_ptsd.core.stats.sequential",
    "SequentialDesign": "ketamine_ptsd.core.stats.sequential",
    "classical_boundary_design": "ketamine_ptsd.core.stats.sequential",
    "design_for_rct_interim": "ketamine_ptsd.core.stats.sequential",
    "spending_design": "ketamine_ptsd.core.stats.sequential",
    "KaplanMeier": "ketamine_ptsd.core.stats.survival",
    "LogRank": "ketamine_ptsd.core.stats.survival",
    "kaplan_meier": "ketamine_ptsd.core.stats.survival",
    "logrank_test": "ketamine_ptsd.core.stats.survival",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
