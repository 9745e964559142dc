"""core/stats."""

# Responders, survival, power and group-sequential designs (one module each); the ``X as X``
# form re-exports without claiming the package's ``__all__``, which other modules share.
# Cumulative-logit mixed model for CGI-S / CGI-I (PROTOCOL.md §9).
from ketamine_ptsd.core.stats.ordinal import OrdinalFit as OrdinalFit
from ketamine_ptsd.core.stats.ordinal import fit_cumulative_logit as fit_cumulative_logit
from ketamine_ptsd.core.stats.ordinal import fit_ordinal as fit_ordinal
from ketamine_ptsd.core.stats.power import PowerResult as PowerResult
from ketamine_ptsd.core.stats.power import SampleSizeResult as SampleSizeResult
from ketamine_ptsd.core.stats.power import t_test_power as t_test_power
from ketamine_ptsd.core.stats.power import t_test_sample_size as t_test_sample_size
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
