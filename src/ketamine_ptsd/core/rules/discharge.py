"""Discharge readiness after an infusion (PROTOCOL.md §6, §12).

A patient may leave only when all of these hold, and the answer lists every one that does not:
the actual end of the infusion is recorded (§12; never counted from the start alone); the minimum
observation has passed (RCT: 120 minutes after the infusion *start*; clinical pathway: at least 2
hours after the infusion *end*); every scheduled vitals reading is on the record or recorded as
missed with its reason (§6); dissociation has resolved (the protocol's instrument, CADSS, is back
within the allowed points of the patient's own pre-infusion score); emergent psychosis or mania
(BPRS positive, YMRS item 1: the protocol's ``worsening_limits``) is no worse than the
pre-infusion score by more than the protocol's margin, unless a physician recorded the decision
to discharge with the reason; the patient walks unaided; delayed effects (persistent
dissociation, perceptual or mood change) were checked; no vital sign of the latest reading is
beyond an alert threshold; every alert raised on the day has been acknowledged (who was called,
when, what was done, §12); and a physician has signed off.

The workflow's discharge event (:mod:`ketamine_ptsd.core.workflow.table`) has one guard per
criterion, each answering with this rule's reasons for its :class:`DischargeCriterion`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import InvalidInput
from ..instruments import get_instrument
from ..protocol import Protocol
from .vitals import VitalSigns, vital_sign_alerts

__all__ = ["DischargeCriterion", "DischargeFindings", "DischargeReadiness", "discharge_readiness"]


class DischargeCriterion(StrEnum):
    """What keeps a patient from going home (PROTOCOL.md §6), by name: the code of each reason,
    for pages and scripts that must not parse the text."""

    INFUSION_END = "infusion_end"  # the actual end of the infusion is not recorded (§12)
    OBSERVATION = "observation"  # the observation time, or the end it counts from (clinic)
    VITALS_MISSING = "vitals_missing"  # a scheduled reading neither taken nor explained
    PSYCHIATRIC = "psychiatric"  # BPRS positive or YMRS item 1 worse than baseline (§6)
    DISSOCIATION = "dissociation"  # not back to baseline, or the scores to tell are missing
    AMBULATORY = "ambulatory"
    DELAYED_EFFECTS = "delayed_effects"
    VITAL_SIGNS = "vital_signs"  # one code per alert of the latest reading
    ALERTS_UNACKNOWLEDGED = "alerts_unacknowledged"  # an alert of the day nobody acknowledged
    PHYSICIAN_SIGNOFF = "physician_signoff"


@dataclass(frozen=True, slots=True)
class DischargeFindings:
    """What is known at ``now``; None = not yet recorded.

    ``vitals_missing``: the scheduled minutes with neither a reading nor a recorded reason
    (:func:`~.vitals.missing_vitals_minutes`); None means the timetable was not checked, which
    holds the discharge. ``rating_changes``: per instrument of the protocol's
    ``worsening_limits``, its (pre-infusion, latest) totals, None where not rated; an instrument
    missing from the mapping is unrated. ``worsening_decision``: a physician recorded the
    decision (with the reason) to discharge although a rating is worse than allowed.
    """

    infusion_start: dt.datetime
    infusion_end: dt.datetime | None
    now: dt.datetime
    dissociation_baseline: float | None
    dissociation_latest: float | None
    ambulatory_unaided: bool | None
    delayed_effects_checked: bool | None
    physician_signoff: bool | None
    latest_vitals: VitalSigns | None = None
    vitals_missing: tuple[int, ...] | None = None
    rating_changes: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    worsening_decision: bool = False
    #: The day's alerts (vital signs beyond a threshold, §6) not yet acknowledged with who was
    #: called, when and what was done (§12): each holds the discharge.
    unacknowledged_alerts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DischargeReadiness:
    """``codes[i]`` names the criterion of ``reasons[i]``."""

    ready: bool
    earliest_discharge: dt.datetime | None
    reasons: tuple[str, ...]
    codes: tuple[DischargeCriterion, ...] = ()


def _label(instrument: str) -> str:
    """The instrument's name as a person reads it ("BPRS positive subscale"), else its id."""
    try:
        return get_instrument(instrument).name
    except InvalidInput:
        return instrument


def discharge_readiness(protocol: Protocol, findings: DischargeFindings) -> DischargeReadiness:
    """Whether the patient may go now, the earliest time by the clock, and what is missing."""
    rules = protocol.monitoring.discharge
    start, end, now = findings.infusion_start, findings.infusion_end, findings.now
    if end is not None and end < start:
        raise InvalidInput("infusion_end", "is before the infusion start", end.isoformat())
    if now < start:
        raise InvalidInput("now", "is before the infusion start", now.isoformat())
    found: list[tuple[DischargeCriterion, str]] = []
    if end is None:
        found.append(
            (
                DischargeCriterion.INFUSION_END,
                "the actual end of the infusion is not recorded (PROTOCOL.md §12)",
            )
        )
    wait = dt.timedelta(minutes=rules.observation_minutes)
    earliest: dt.datetime | None
    if rules.observation_from == "infusion_start":
        earliest = start + wait
        anchor_words = "infusion start"
    elif end is None:
        earliest = None
        anchor_words = "infusion end"
        found.append(
            (
                DischargeCriterion.OBSERVATION,
                "infusion end not recorded; observation counts from it",
            )
        )
    else:
        earliest = end + wait
        anchor_words = "infusion end"
    if earliest is not None and now < earliest:
        left = math.ceil((earliest - now).total_seconds() / 60)
        found.append(
            (
                DischargeCriterion.OBSERVATION,
                f"observation runs {rules.observation_minutes} min from {anchor_words}, until "
                f"{earliest.strftime('%H:%M')} ({left} min to go)",
            )
        )
    if findings.vitals_missing is None:
        found.append(
            (DischargeCriterion.VITALS_MISSING, "the scheduled vitals readings were not checked")
        )
    elif findings.vitals_missing:
        minutes = ", ".join(f"{m}'" for m in findings.vitals_missing)
        found.append(
            (
                DischargeCriterion.VITALS_MISSING,
                f"scheduled vitals neither recorded nor explained at minute(s) {minutes}: record "
                "each reading, or record it as missed with the reason",
            )
        )
    instrument = rules.dissociation_instrument
    if findings.dissociation_baseline is None or findings.dissociation_latest is None:
        found.append(
            (
                DischargeCriterion.DISSOCIATION,
                f"{instrument} before the infusion and now are both needed",
            )
        )
    else:
        excess = findings.dissociation_latest - findings.dissociation_baseline
        if excess > rules.dissociation_max_points_above_baseline:
            found.append(
                (
                    DischargeCriterion.DISSOCIATION,
                    f"dissociation not resolved: {instrument} {findings.dissociation_latest:g} "
                    f"is {excess:g} above baseline {findings.dissociation_baseline:g} (at most "
                    f"{rules.dissociation_max_points_above_baseline:g})",
                )
            )
    for limit in rules.worsening_limits:
        before, latest = findings.rating_changes.get(limit.instrument, (None, None))
        label = _label(limit.instrument)
        if before is None or latest is None:
            found.append(
                (
                    DischargeCriterion.PSYCHIATRIC,
                    f"{label} before the infusion and after it are both needed",
                )
            )
            continue
        worse = latest - before
        if worse > limit.max_points_above_baseline and not findings.worsening_decision:
            found.append(
                (
                    DischargeCriterion.PSYCHIATRIC,
                    f"{label} {latest:g} is {worse:g} above baseline {before:g} (at "
                    f"most {limit.max_points_above_baseline:g}): emergent psychosis or mania "
                    "needs a physician's recorded decision, with the reason",
                )
            )
    if rules.require_ambulatory and not findings.ambulatory_unaided:
        found.append((DischargeCriterion.AMBULATORY, "not yet confirmed walking unaided"))
    if rules.require_delayed_effects_check and not findings.delayed_effects_checked:
        found.append(
            (
                DischargeCriterion.DELAYED_EFFECTS,
                "delayed effects (dissociation, perception, mood) not yet checked",
            )
        )
    if findings.latest_vitals is not None:
        for alert in vital_sign_alerts(findings.latest_vitals, protocol.monitoring.alerts):
            found.append(
                (DischargeCriterion.VITAL_SIGNS, alert.message.removesuffix(" (PROTOCOL.md §6)"))
            )
    for open_alert in findings.unacknowledged_alerts:
        text = open_alert.removesuffix(" (PROTOCOL.md §6)")
        found.append(
            (
                DischargeCriterion.ALERTS_UNACKNOWLEDGED,
                f"alert not acknowledged: {text} (record who "
                "was called, when, and what was done, PROTOCOL.md §12)",
            )
        )
    if rules.require_physician_signoff and not findings.physician_signoff:
        found.append(
            (DischargeCriterion.PHYSICIAN_SIGNOFF, "physician assessment and sign-off outstanding")
        )
    return DischargeReadiness(
        not found,
        earliest,
        tuple(text if "(PROTOCOL.md" in text else f"{text} (PROTOCOL.md §6)" for _, text in found),
        tuple(code for code, _ in found),
    )
