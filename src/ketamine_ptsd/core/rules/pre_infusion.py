"""Before each infusion: the checklist and the blood-pressure cutoff (PROTOCOL.md §6).

The cutoff is read over a series of readings taken before the infusion: a reading is *above* a
limit when its systolic OR its diastolic value exceeds the limit's bound (strictly), and each limit
allows at most so many readings above it. With the RCT's limits (no more than two above 140/90, no
more than one above 160/90) the third reading above 140/90 fails, and so does the second above
160/90. A reading above 160/90 is also above 140/90 and counts for both.

The checklist also confirms nil by mouth, a negative urine pregnancy test where applicable, a urine
toxicology screen negative except for what the protocol allows (marijuana, §6), baseline vitals,
the infusion-day ratings due before the start (minute 0), and — in the RCT — that the morning dose of a short-acting benzodiazepine was held (§1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInput
from ..protocol import BpLimit, Protocol

__all__ = [
    "BpCheckResult",
    "BpReading",
    "ChecklistItem",
    "PreInfusionFindings",
    "PreInfusionResult",
    "check_bp_cutoff",
    "hold_release_refusal",
    "parse_bp_reading",
    "parse_bp_readings",
    "pre_infusion_checklist",
]

_SECTION = "PROTOCOL.md §6"
_READING = re.compile(r"^\s*(\d{1,3})\s*/\s*(\d{1,3})\s*$")


@dataclass(frozen=True, slots=True)
class BpReading:
    """One blood-pressure reading in mmHg."""

    systolic_mmhg: int
    diastolic_mmhg: int

    def __post_init__(self) -> None:
        if not 50 <= self.systolic_mmhg <= 300:
            raise InvalidInput("systolic_mmhg", "must be 50–300 mmHg", self.systolic_mmhg)
        if not 20 <= self.diastolic_mmhg <= 200:
            raise InvalidInput("diastolic_mmhg", "must be 20–200 mmHg", self.diastolic_mmhg)
        if self.diastolic_mmhg >= self.systolic_mmhg:
            raise InvalidInput(
                "diastolic_mmhg",
                "must be below systolic",
                f"{self.systolic_mmhg}/{self.diastolic_mmhg}",
            )

    def __str__(self) -> str:
        return f"{self.systolic_mmhg}/{self.diastolic_mmhg}"

    def above(self, limit: BpLimit) -> bool:
        """Above the limit when systolic or diastolic exceeds its bound (§6)."""
        return (
            self.systolic_mmhg > limit.systolic_mmhg or self.diastolic_mmhg > limit.diastolic_mmhg
        )


def parse_bp_reading(text: str) -> BpReading:
    """``"150/85"`` → BpReading(150, 85); InvalidInput naming ``readings`` otherwise."""
    match = _READING.match(text)
    if match is None:
        raise InvalidInput(
            "readings", f"{text.strip()!r} is not SYSTOLIC/DIASTOLIC, e.g. 150/85", text
        )
    try:
        return BpReading(int(match.group(1)), int(match.group(2)))
    except InvalidInput as exc:
        raise InvalidInput("readings", f"{text.strip()}: {exc.field} {exc.message}", text) from None


def parse_bp_readings(text: str) -> tuple[BpReading, ...]:
    """Comma-separated readings in the order taken, e.g. ``"150/85,145/92"``."""
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise InvalidInput("readings", "give at least one reading, e.g. 150/85", text)
    return tuple(parse_bp_reading(p) for p in parts)


@dataclass(frozen=True, slots=True)
class BpCheckResult:
    """``passes`` and one reason per limit; ``failed_at_reading`` is 1-based."""

    passes: bool
    reasons: tuple[str, ...]
    readings: tuple[BpReading, ...]
    failed_at_reading: int | None


def check_bp_cutoff(readings: Sequence[BpReading], limits: Sequence[BpLimit]) -> BpCheckResult:
    """Apply the §6 cutoff rule with the protocol's limits to a series of readings."""
    if not readings:
        raise InvalidInput("readings", "give at least one reading, e.g. 150/85", ())
    reasons: list[str] = []
    fail_points: list[int] = []
    for lim in limits:
        bound = f"{lim.systolic_mmhg}/{lim.diastolic_mmhg} mmHg"
        above = [i for i, r in enumerate(readings, start=1) if r.above(lim)]
        listed = ", ".join(f"#{i} {readings[i - 1]}" for i in above)
        count = f"{len(above)} of {len(readings)} readings above {bound}"
        allowed = f"at most {lim.max_readings_above} allowed"
        if len(above) > lim.max_readings_above:
            failing = above[lim.max_readings_above]
            fail_points.append(failing)
            reasons.append(
                f"fails: {count} ({listed}); {allowed}, exceeded at reading {failing} ({_SECTION})"
            )
        else:
            detail = f" ({listed})" if above else ""
            reasons.append(f"ok: {count}{detail}; {allowed} ({_SECTION})")
    failed_at = min(fail_points) if fail_points else None
    return BpCheckResult(failed_at is None, tuple(reasons), tuple(readings), failed_at)


@dataclass(frozen=True, slots=True)
class PreInfusionFindings:
    """What the nurse has confirmed before the infusion; None = not yet recorded.

    ``urine_toxicology_positive_for``: the substances the screen was positive for (empty = all
    negative). ``pregnancy_test``: ``not_applicable`` for patients who cannot become pregnant.
    """

    nil_by_mouth: bool | None
    pregnancy_test: Literal["negative", "positive", "not_applicable"] | None
    urine_toxicology_positive_for: tuple[str, ...] | None
    bp_readings: tuple[BpReading, ...]
    baseline_vitals_recorded: bool | None
    short_acting_benzodiazepine_taken_this_morning: bool | None = None
    pregnancy_risk_benefit_decision_recorded: bool = False
    pre_infusion_ratings_recorded: bool | None = None
    #: The alerts the baseline (minute-0) vital signs raised (:func:`~.vitals.vital_sign_alerts`
    #: with the protocol's thresholds): a baseline beyond an alert holds the start like the
    #: blood-pressure rule (issue 12 item 6).
    baseline_vitals_alerts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One check; ``missing``: it failed because the finding was not recorded (record it; a
    physician cannot release what nobody looked at)."""

    id: str
    passed: bool
    reason: str
    section: str
    missing: bool = False


@dataclass(frozen=True, slots=True)
class PreInfusionResult:
    passes: bool
    items: tuple[ChecklistItem, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the infusion may not start (empty when it may)."""
        return tuple(f"{i.reason} ({i.section})" for i in self.items if not i.passed)


def pre_infusion_checklist(protocol: Protocol, findings: PreInfusionFindings) -> PreInfusionResult:
    """Every pre-infusion check the protocol requires, each passed or not with a reason."""
    rules = protocol.pre_infusion
    items: list[ChecklistItem] = []

    def add(
        item_id: str, passed: bool, reason: str, section: str = _SECTION, *, missing: bool = False
    ) -> None:
        items.append(ChecklistItem(item_id, passed, reason, section, missing))

    if rules.require_nil_by_mouth:
        if findings.nil_by_mouth is None:
            add("nil_by_mouth", False, "nil by mouth not confirmed", missing=True)
        else:
            add(
                "nil_by_mouth",
                findings.nil_by_mouth,
                "nil by mouth confirmed"
                if findings.nil_by_mouth
                else "patient is not nil by mouth",
            )
    if rules.require_pregnancy_test:
        test = findings.pregnancy_test
        pregnancy_relative = any(
            c.fact == "pregnant" and c.kind == "relative_contraindication"
            for c in protocol.eligibility
        )
        if test is None:
            add("pregnancy_test", False, "urine pregnancy test not recorded", missing=True)
        elif test == "positive":
            if pregnancy_relative and findings.pregnancy_risk_benefit_decision_recorded:
                add(
                    "pregnancy_test",
                    True,
                    "pregnancy test positive; a risk-benefit decision is recorded",
                    "PROTOCOL.md §2, §6",
                )
            else:
                add("pregnancy_test", False, "urine pregnancy test positive")
        else:
            add("pregnancy_test", True, f"urine pregnancy test {test.replace('_', ' ')}")
    if rules.require_urine_toxicology:
        found = findings.urine_toxicology_positive_for
        allowed = {a.lower() for a in rules.urine_toxicology_allowed}
        if found is None:
            add("urine_toxicology", False, "urine toxicology not recorded", missing=True)
        else:
            barred = [s for s in found if s.strip().lower() not in allowed]
            if barred:
                add("urine_toxicology", False, f"urine toxicology positive for {', '.join(barred)}")
            else:
                tolerated = f" (positive only for allowed {', '.join(found)})" if found else ""
                add("urine_toxicology", True, f"urine toxicology negative{tolerated}")
    if rules.require_baseline_vitals:
        ok = bool(findings.baseline_vitals_recorded)
        add(
            "baseline_vitals",
            ok,
            "baseline vital signs recorded" if ok else "baseline vital signs not recorded",
            missing=not ok,
        )
    if findings.baseline_vitals_alerts:
        add(
            "baseline_vitals_alerts",
            False,
            "baseline vital signs beyond the alert thresholds: "
            + "; ".join(
                a.removesuffix(" (PROTOCOL.md §6)") for a in findings.baseline_vitals_alerts
            ),
        )
    if rules.hold_short_acting_benzodiazepine_morning_dose:
        taken = findings.short_acting_benzodiazepine_taken_this_morning
        if taken is None:
            add(
                "benzodiazepine_held",
                False,
                "not recorded whether a short-acting benzodiazepine was taken this morning",
                "PROTOCOL.md §1",
                missing=True,
            )
        else:
            add(
                "benzodiazepine_held",
                not taken,
                "morning short-acting benzodiazepine dose taken; it is held on infusion days"
                if taken
                else "no short-acting benzodiazepine this morning",
                "PROTOCOL.md §1",
            )
    before = [r for r in protocol.monitoring.ratings if r.minute == 0]
    if before:
        names = ", ".join(before[0].instruments)
        ok = bool(findings.pre_infusion_ratings_recorded)
        add(
            "pre_infusion_ratings",
            ok,
            f"ratings before the infusion recorded ({names})"
            if ok
            else f"ratings before the infusion not recorded ({names})",
            missing=not ok,
        )
    if not findings.bp_readings:
        add("bp_cutoff", False, "no blood-pressure readings", missing=True)
    else:
        bp = check_bp_cutoff(findings.bp_readings, rules.bp_cutoff)
        add("bp_cutoff", bp.passes, "; ".join(r.rsplit(" (", 1)[0] for r in bp.reasons))
    return PreInfusionResult(all(i.passed for i in items), tuple(items))


def hold_release_refusal(protocol: Protocol, item: ChecklistItem) -> str | None:
    """Why a physician may not release this failed check (None: the release may be recorded).

    A hold for a finding nobody recorded is lifted by recording it, not by a decision; a
    positive pregnancy test where the protocol makes pregnancy an absolute contraindication
    (the RCT's exclusion, PROTOCOL.md §1) is not the physician's to release. Every other failed
    check (the blood-pressure series, a positive toxicology screen, a baseline vital sign beyond
    its alert, not nil by mouth, the morning benzodiazepine) may be, with the reason (§6).
    """
    if item.passed:
        return f"{item.id}: passed; nothing to release"
    if item.missing:
        return f"{item.reason}: record it (a release is for a finding, not a missing one)"
    if item.id == "pregnancy_test":
        relative = any(
            c.fact == "pregnant" and c.kind == "relative_contraindication"
            for c in protocol.eligibility
        )
        if not relative:
            return (
                "a positive pregnancy test: pregnancy is an absolute contraindication in this "
                "protocol (PROTOCOL.md §1); it cannot be released"
            )
    return None
