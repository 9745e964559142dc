"""Mixed model for repeated measures (MMRM), hand-written to match SAS PROC MIXED.

One module per topic, as openpharma/mmrm is organised: ``design`` (model matrices, contrasts),
``covariance`` (CS, UN, AR(1), CSH, Toeplitz with analytic derivatives), ``engine``
(likelihood by missingness pattern), ``cs_profile`` (the profiled CS REML with a batch axis:
one engine for a single fit, the batched simulator and the registry), ``fit`` (REML/ML
optimisation; ``fit_arrays`` is the array-level API), ``batched`` / ``batched_un`` (thousands
of trials at once), ``ddf`` / ``satterthwaite`` / ``kenwardroger`` (denominator df), ``type3``,
``lsmeans``, ``effect_size``, ``result`` and ``model`` (the DataFrame front-end).
"""

from .covariance import STRUCTURES, CovarianceStructure, get_structure
from .ddf import DDF_METHODS
from .design import TYPE3_BASES, ClassVar, NumericVar, Term, build_design
from .effect_size import CohensD, cohens_d_from_t
from .fit import CoreFit, fit_arrays
from .model import MAX_ABS_OUTCOME, MMRM, analyse_arrays, fit_mmrm
from .result import Difference, FixedEffect, LsMean, MMRMResult, Type3Row

__all__ = [
    "DDF_METHODS",
    "MAX_ABS_OUTCOME",
    "MMRM",
    "STRUCTURES",
    "TYPE3_BASES",
    "ClassVar",
    "CohensD",
    "CoreFit",
    "CovarianceStructure",
    "Difference",
    "FixedEffect",
    "LsMean",
    "MMRMResult",
    "NumericVar",
    "Term",
    "Type3Row",
    "analyse_arrays",
    "build_design",
    "cohens_d_from_t",
    "fit_arrays",
    "fit_mmrm",
    "get_structure",
]
