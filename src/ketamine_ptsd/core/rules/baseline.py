"""The baseline the primary outcome needs before infusion 1 (PROTOCOL.md §5, §8, §9).

A patient whose baseline CAPS-5 is missing drops out of the intent-to-treat analysis (issue 12
item 12), and a response cannot be judged without it. Which instruments are required comes from
the protocol, never from literals: the response instrument (§8: CAPS-5), and in a protocol with
an analysis plan (§9) every outcome it models by mixed model from the response's baseline to its
primary time point (RCT: CAPS-5 and MADRS). The time point is the response's baseline assessment.
"""

from __future__ import annotations

from collections.abc import Collection

from ..protocol import Protocol

__all__ = ["baseline_instruments", "missing_baseline"]


def baseline_instruments(protocol: Protocol) -> tuple[str, tuple[str, ...]]:
    """The baseline time point and the instruments required there before infusion 1."""
    response = protocol.response
    required = [response.instrument]
    if protocol.analysis is not None:
        for outcome in protocol.analysis.outcomes:
            spans = (
                outcome.model == "mmrm"
                and response.baseline_assessment in outcome.time_points
                and response.assessment in outcome.time_points
            )
            if spans and outcome.instrument not in required:
                required.append(outcome.instrument)
    return response.baseline_assessment, tuple(required)


def missing_baseline(protocol: Protocol, recorded: Collection[str]) -> tuple[str, ...]:
    """The required baseline instruments not among ``recorded`` (the instruments stored at the
    baseline time point), in the protocol's order."""
    _, required = baseline_instruments(protocol)
    return tuple(i for i in required if i not in recorded)
