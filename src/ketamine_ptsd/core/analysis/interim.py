"""DSMB interim monitoring: the primary z against Lan-DeMets spending at the observed information."""

from __future__ import annotations

import dataclasses

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.sequential import spending_design

from .model import (
    TIME_LABELS,
    AnalysisResults,
    InterimMonitoring,
)


def interim_monitoring(
    results: AnalysisResults,
    *,
    observed_patients: int,
    planned_patients: int,
    alpha: float,
    sides: int = 2,
    spending: str = "pocock",
    outcome: str | None = None,
) -> InterimMonitoring:
    """The stopping boundary at this interim and the primary outcome's z against it.

    PROTOCOL.md §9: the trial tested at alpha 0.0304 "per the Pocock alpha spending function" at
    a planned interim (30 of 40 patients). Here the boundary is the Lan-DeMets Pocock-type
    spending function (a·ln(1 + (e − 1)t), Lan & DeMets 1983) — or O'Brien-Fleming type — at
    overall level ``alpha`` (the caller passes the protocol's ``analysis.alpha``), two looks:
    the interim at t = observed ÷ planned and the final at t = 1 (``core.stats.sequential``,
    checked against rpact). A look at t ≥ 1 is the final analysis (one look).

    ``observed_patients`` are the randomized patients with primary-endpoint data
    (``Consort.with_primary``), so the information fraction is the share of the planned
    primary-endpoint data in hand, not of the patients merely randomized.
    """
    if planned_patients < 1 or observed_patients < 1:
        raise InvalidInput("planned_patients", "observed and planned patients must be ≥ 1")
    key = outcome or next(iter(results.mmrm), None)
    if key is None or key not in results.mmrm:
        raise InvalidInput("outcome", "no MMRM result to monitor", outcome)
    spec, fit = results.mmrm[key]
    last = spec.time_points[-1]
    diff = next((d for d in fit.differences if d.time == last), None)
    if diff is None or not diff.se > 0:
        raise InvalidInput("outcome", f"{key}: no arm difference at {last}", key)
    information = min(1.0, observed_patients / planned_patients)
    looks = (information,) if information >= 1.0 else (information, 1.0)
    design = spending_design(alpha, sides, looks, spending)
    look = design.looks[0]
    z = diff.estimate / diff.se
    # A one-sided boundary is crossed only in the direction of benefit. The packet codes the arms
    # A/B, so the sign of A − B says nothing about benefit: compare |z| and say that the
    # direction must be confirmed by the unblinded statistician.
    crossed = abs(z) >= look.z
    direction = (
        ""
        if sides == 2
        else "; one-sided: arms are coded A/B, so |z| is compared and the direction of benefit "
        "must be confirmed unblinded"
    )
    kind = "Pocock-type" if spending == "pocock" else "O'Brien-Fleming-type"
    description = (
        f"Lan-DeMets {kind} alpha spending, {'two' if sides == 2 else 'one'}-sided overall alpha "
        f"{alpha:g} (protocol analysis plan), looks at information "
        f"{', '.join(f'{lk.information:.3f}' for lk in design.looks)} "
        f"({observed_patients} of {planned_patients} planned patients with primary-endpoint "
        f"data: information {observed_patients} ÷ {planned_patients} = "
        f"{observed_patients / planned_patients:.3f}); interim boundary "
        f"|z| ≥ {look.z:.3f} (nominal alpha {look.nominal_alpha:.4f}); {spec.label} "
        f"{results.difference_label} at {TIME_LABELS.get(last, last)}: "
        f"{diff.estimate:.2f} / SE {diff.se:.2f} = z {z:.2f}, "
        + ("crosses the boundary" if crossed else "inside the continuation region")
        + direction
    )
    return InterimMonitoring(
        outcome=key,
        time=last,
        observed_patients=observed_patients,
        planned_patients=planned_patients,
        information=information,
        alpha=alpha,
        sides=sides,
        spending=spending,
        design=design,
        boundary_z=look.z,
        nominal_alpha=look.nominal_alpha,
        estimate=diff.estimate,
        se=diff.se,
        z=z,
        crossed=crossed,
        description=description,
    )


def with_interim(results: AnalysisResults, monitoring: InterimMonitoring) -> AnalysisResults:
    """``results`` with the DSMB's monitoring, stating one alpha: this look's nominal level,
    derived from the protocol's overall alpha (``monitoring.alpha``), which the packet's cover,
    tables and boundary table then all print (``AnalysisResults.alpha_statement``)."""
    kind = "Pocock-type" if monitoring.spending == "pocock" else "O'Brien-Fleming-type"
    return dataclasses.replace(
        results,
        interim=monitoring,
        alpha=monitoring.nominal_alpha,
        alpha_note=(
            f"nominal level of this look: Lan-DeMets {kind} spending of the protocol's "
            f"{'two' if monitoring.sides == 2 else 'one'}-sided overall alpha {monitoring.alpha:g} "
            f"(analysis.interim) at "
            f"information {monitoring.information:.3f}; the interim is judged by its z against "
            "the boundary"
        ),
    )
