"""Eligibility criteria as declarative data (PROTOCOL.md §1 for the RCT, §2 for the clinic).

Each criterion tests one named screening *fact* (``age_years``, ``caps5_past_month_total``,
``active_psychosis`` …) with one operator. What the test means depends on the criterion's kind:

- ``inclusion``: the patient must satisfy the condition;
- ``exclusion`` and ``absolute_contraindication``: the condition rules the patient out;
- ``relative_contraindication``: the condition needs a recorded risk-benefit decision (§2);
- ``safety_plan``: the condition needs the fact named by ``satisfied_by`` (a documented safety
  plan) to be true before treatment (§2, active suicidal intent).

Keeping the test declarative lets a site add or tighten a criterion in its own protocol file
without code, and lets the rule engine cite the § of every decision.
"""

from __future__ import annotations

from typing import Literal

from ._base import FrozenModel

__all__ = ["Criterion", "CriterionKind", "Operator"]

CriterionKind = Literal[
    "inclusion",
    "exclusion",
    "absolute_contraindication",
    "relative_contraindication",
    "safety_plan",
]

#: ``between`` is inclusive at both ends (age 18–70 admits 18 and 70, refuses 17 and 71).
Operator = Literal["is_true", "is_false", "ge", "gt", "le", "lt", "between"]


class Criterion(FrozenModel):
    """One eligibility criterion: a test on one screening fact, with its kind and source."""

    id: str
    kind: CriterionKind
    section: str
    text: str
    fact: str
    op: Operator
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    satisfied_by: str | None = None
