"""Screening decisions: every criterion of a protocol evaluated, with its reason and § (SYSTEM.md
capability 3; PROTOCOL.md §1 for the RCT, §2 for the clinical pathway).

Facts come in as a mapping ``{fact name: bool or number}`` — the vocabulary is the protocol's, so a
site protocol can add criteria without code. A fact that is not recorded leaves its criterion
``missing`` rather than guessed. What a true condition means depends on the criterion's kind:

- inclusion: must hold, else ``fail``;
- exclusion / absolute contraindication: ``fail`` when it holds;
- relative contraindication (§2): when it holds, ``needs_risk_benefit_decision`` until a decision is
  recorded; a recorded decision to proceed passes, one not to proceed fails;
- safety plan (§2, active suicidal intent): when it holds, ``needs_safety_plan`` until the fact
  named by ``satisfied_by`` (the documented plan) is true.

The overall status is ``ineligible`` if any criterion fails, else ``incomplete`` if a fact is
missing, else ``pending`` while a decision or safety plan is outstanding, else ``eligible``.
Screen failures keep every reason, for CONSORT (§10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import InvalidInput, ProtocolInvalid
from ..protocol import Criterion, Protocol

__all__ = [
    "CriterionResult",
    "CriterionStatus",
    "EligibilityDecision",
    "EligibilityStatus",
    "FactValue",
    "RiskBenefitDecision",
    "evaluate_criterion",
    "evaluate_eligibility",
]

FactValue = bool | int | float


class CriterionStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"
    NEEDS_RISK_BENEFIT_DECISION = "needs_risk_benefit_decision"
    NEEDS_SAFETY_PLAN = "needs_safety_plan"


class EligibilityStatus(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    INCOMPLETE = "incomplete"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class RiskBenefitDecision:
    """A clinician's recorded decision on a relative contraindication (§2)."""

    proceed: bool
    decided_by: str
    rationale: str


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criterion_id: str
    kind: str
    section: str
    status: CriterionStatus
    reason: str


@dataclass(frozen=True, slots=True)
class EligibilityDecision:
    protocol: str
    status: EligibilityStatus
    results: tuple[CriterionResult, ...] = field(default_factory=tuple)

    @property
    def eligible(self) -> bool:
        return self.status is EligibilityStatus.ELIGIBLE

    @property
    def reasons(self) -> tuple[str, ...]:
        """Reasons of every criterion that is not a pass, each with its §."""
        return tuple(
            f"{r.reason} ({r.section})"
            for r in self.results
            if r.status is not CriterionStatus.PASS
        )


def _describe(c: Criterion) -> str:
    unit = f" {c.unit}" if c.unit else ""
    symbols = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    if c.op == "between":
        return f"{c.low:g}–{c.high:g}{unit}"
    if c.op in symbols:
        return f"{symbols[c.op]} {c.value:g}{unit}"
    return "yes" if c.op == "is_true" else "no"


def _holds(c: Criterion, value: FactValue) -> bool:
    if c.op in ("is_true", "is_false"):
        if not isinstance(value, bool):
            raise InvalidInput(c.fact, "expected yes/no (true or false)", value)
        return value is (c.op == "is_true")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(c.fact, "expected a number", value)
    if c.op == "between":
        if c.low is None or c.high is None:
            raise ProtocolInvalid([f"eligibility ({c.id}): operator between needs low and high"])
        return c.low <= value <= c.high
    if c.value is None:
        raise ProtocolInvalid([f"eligibility ({c.id}): operator {c.op} needs a value"])
    if c.op == "ge":
        return value >= c.value
    if c.op == "gt":
        return value > c.value
    if c.op == "le":
        return value <= c.value
    return value < c.value


def _shown(value: FactValue) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}"


def evaluate_criterion(
    c: Criterion,
    facts: Mapping[str, FactValue],
    decisions: Mapping[str, RiskBenefitDecision] | None = None,
) -> CriterionResult:
    """One criterion against the recorded facts (see the module docstring for the semantics)."""

    def result(status: CriterionStatus, reason: str) -> CriterionResult:
        return CriterionResult(c.id, c.kind, c.section, status, reason)

    if c.fact not in facts:
        return result(CriterionStatus.MISSING, f"{c.text}: {c.fact} not recorded")
    value = facts[c.fact]
    holds = _holds(c, value)
    seen = f"{c.fact} = {_shown(value)}"
    if c.kind == "inclusion":
        if holds:
            return result(CriterionStatus.PASS, f"{c.text}: met ({seen})")
        return result(CriterionStatus.FAIL, f"{c.text}: not met ({seen}; required {_describe(c)})")
    if not holds:
        return result(CriterionStatus.PASS, f"{c.text}: absent ({seen})")
    if c.kind in ("exclusion", "absolute_contraindication"):
        label = "exclusion" if c.kind == "exclusion" else "absolute contraindication"
        return result(CriterionStatus.FAIL, f"{c.text}: present ({seen}), an {label}")
    if c.kind == "relative_contraindication":
        decision = (decisions or {}).get(c.id)
        if decision is None:
            return result(
                CriterionStatus.NEEDS_RISK_BENEFIT_DECISION,
                f"{c.text}: present ({seen}), needs documented risk-benefit decision",
            )
        verdict = "proceed" if decision.proceed else "not proceed"
        status = CriterionStatus.PASS if decision.proceed else CriterionStatus.FAIL
        return result(
            status,
            f"{c.text}: present; risk-benefit decision by {decision.decided_by} to {verdict}: "
            f"{decision.rationale}",
        )
    # safety_plan
    plan_fact = c.satisfied_by or "safety_plan_documented"
    plan = facts.get(plan_fact)
    if plan is not None and not isinstance(plan, bool):
        raise InvalidInput(plan_fact, "expected yes/no (true or false)", plan)
    if plan:
        return result(CriterionStatus.PASS, f"{c.text}: present ({seen}); safety plan documented")
    return result(
        CriterionStatus.NEEDS_SAFETY_PLAN,
        f"{c.text}: present ({seen}), requires a documented safety plan ({plan_fact})",
    )


def evaluate_eligibility(
    protocol: Protocol,
    facts: Mapping[str, FactValue],
    decisions: Mapping[str, RiskBenefitDecision] | None = None,
) -> EligibilityDecision:
    """Every criterion of ``protocol`` evaluated; the overall status as the module says.

    ``decisions`` maps a relative contraindication's criterion id to its recorded decision. A
    decision keyed by an id the protocol lacks is refused, so a typo cannot silently unblock.
    """
    ids = {c.id for c in protocol.eligibility}
    for key in decisions or {}:
        if key not in ids:
            raise InvalidInput(
                "decisions", f"protocol {protocol.name!r} has no criterion {key!r}", key
            )
    results = tuple(evaluate_criterion(c, facts, decisions) for c in protocol.eligibility)
    statuses = {r.status for r in results}
    if CriterionStatus.FAIL in statuses:
        overall = EligibilityStatus.INELIGIBLE
    elif CriterionStatus.MISSING in statuses:
        overall = EligibilityStatus.INCOMPLETE
    elif statuses & {
        CriterionStatus.NEEDS_RISK_BENEFIT_DECISION,
        CriterionStatus.NEEDS_SAFETY_PLAN,
    }:
        overall = EligibilityStatus.PENDING
    else:
        overall = EligibilityStatus.ELIGIBLE
    return EligibilityDecision(protocol.name, overall, results)
