"""Discharge readiness after an infusion (PROTOCOL.md §6).

A patient may leave only when all of these hold, and the answer lists every one that does not:
the minimum observation has passed (RCT: 120 minutes after the infusion *start*; clinical pathway:
at least 2 hours after the infusion *end*); dissociation has resolved (the protocol's instrument,
CADSS, is back within the allowed points of the patient's own pre-infusion score); the patient
walks unaided; delayed effects (persistent dissociation, perceptual or mood change) were checked;
no vital sign is beyond an alert threshold; and a physician has signed off.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum

from ..errors import InvalidInput
from ..protocol import Protocol
from .vitals import VitalSigns, vital_sign_alerts

__all__ = ["DischargeCriterion", "DischargeFindings", "DischargeReadiness", "discharge_readiness"]


class DischargeCriterion(StrEnum):
    """What keeps a patient from going home (PROTOCOL.md §6), by name: the code of each reason,
    for pages and scripts that must not parse the text."""

    OBSERVATION = "observation"  # the observation time, or the end it counts from (clinic)
    DISSOCIATION = "dissociation"  # not back to baseline, or the scores to tell are missing
    AMBULATORY = "ambulatory"
    DELAYED_EFFECTS = "delayed_effects"
    VITAL_SIGNS = "vital_signs"  # one code per alert of the latest reading
    PHYSICIAN_SIGNOFF = "physician_signoff"


@dataclass(frozen=True, slots=True)
class DischargeFindings:
    """What is known at ``now``; None = not yet recorded."""

    infusion_start: dt.datetime
    infusion_end: dt.datetime | None
    now: dt.datetime
    dissociation_baseline: float | None
    dissociation_latest: float | None
    ambulatory_unaided: bool | None
    delayed_effects_checked: bool | None
    physician_signoff: bool | None
    latest_vitals: VitalSigns | None = None


@dataclass(frozen=True, slots=True)
class DischargeReadiness:
    """``codes[i]`` names the criterion of ``reasons[i]``."""

    ready: bool
    earliest_discharge: dt.datetime | None
    reasons: tuple[str, ...]
    codes: tuple[DischargeCriterion, ...] = ()


def discharge_readiness(protocol: Protocol, findings: DischargeFindings) -> DischargeReadiness:
    """Whether the patient may go now, the earliest time by the clock, and what is missing."""
    rules = protocol.monitoring.discharge
    start, end, now = findings.infusion_start, findings.infusion_end, findings.now
    if end is not None and end < start:
        raise InvalidInput("infusion_end", "is before the infusion start", end.isoformat())
    if now < start:
        raise InvalidInput("now", "is before the infusion start", now.isoformat())
    found: list[tuple[DischargeCriterion, str]] = []
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
    if rules.require_physician_signoff and not findings.physician_signoff:
        found.append(
            (DischargeCriterion.PHYSICIAN_SIGNOFF, "physician assessment and sign-off outstanding")
        )
    return DischargeReadiness(
        not found,
        earliest,
        tuple(f"{text} (PROTOCOL.md §6)" for _, text in found),
        tuple(code for code, _ in found),
    )
