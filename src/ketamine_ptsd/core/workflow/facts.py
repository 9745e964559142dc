"""The facts a guard reads, and the typed refusal it gives: pure values, loaded by the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..protocol import Protocol
from ..rules.discharge import DischargeFindings
from ..rules.eligibility import EligibilityStatus
from .states import PatientState

__all__ = ["MIN_REASON_CHARS", "Refusal", "WorkflowFacts"]


#: The shortest reason a recorded decision accepts (SYSTEM.md capability 12: a sentence, not a
#: tick).
MIN_REASON_CHARS = 10


@dataclass(frozen=True, slots=True)
class WorkflowFacts:
    """What the record knows about one patient, as far as the workflow's guards need it.

    ``randomized_protocol``: the protocol allocates from a sealed list (a trial with more than
    one arm); a clinic's single open-label arm needs no allocation. ``eligibility`` is the latest
    decision of :func:`~ketamine_ptsd.core.rules.evaluate_eligibility` (None: no screening visit
    decided yet) and ``open_criteria`` the ids of the criteria it found failed or missing.
    ``named_criteria`` and ``reasons`` are what the user gives with an override, a screen
    failure or a refusal. ``response`` is what the stored scores say at the primary time point
    (None: not known yet). The infusion facts say when the previous infusion of the series was
    given and whether it was discharged, today's date (the core reads no clock), the schedule's
    minimum days between infusions and weekly maximum, and how many were started this week;
    then the facts of giving the drug (the weight's confirmation, the pump's double-check, the
    supervising physician).
    """

    randomized_protocol: bool = False
    consent_recorded: bool = False
    eligibility: EligibilityStatus | None = None
    open_criteria: tuple[str, ...] = ()
    named_criteria: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    allocated: bool = False
    infusions_started: int = 0
    response: PatientState | None = None
    # Starting infusion ``infusion_number`` (PROTOCOL.md §5, §6): the day before it, whether it
    # was discharged, today, and the schedule's limits.
    infusion_number: int = 0
    previous_day: dt.date | None = None
    previous_discharged: bool = False
    today: dt.date | None = None
    min_days_between: int = 0
    per_week_max: int = 0
    started_this_week: int = 0
    # PROTOCOL.md §12: the nurse confirmed name and date of birth for this infusion.
    identity_confirmed: bool = False
    # PROTOCOL.md §5, §8, §9: the baseline instruments of the primary outcome not yet recorded
    # (checked before infusion 1 only), and the time point they belong to.
    baseline_missing: tuple[str, ...] = ()
    baseline_time_point: str = "baseline"
    # Discharging after an infusion (PROTOCOL.md §6, §12): the day's findings as the discharge
    # rule reads them, the protocol whose criteria apply, and the physician who signs (a named,
    # re-authenticated user; None: nobody has signed).
    discharge: DischargeFindings | None = None
    discharge_protocol: Protocol | None = None
    signed_off_by: str | None = None
    # Giving the drug (PROTOCOL.md §4, §6; issue 12): why the day's weight needs a second staff
    # member (core.rules.weight_change; empty: within the tolerance), whether one confirmed it,
    # whether another user than the one starting checked the pump, and whether a physician
    # supervises. Judged only when ``infusion_number`` is given.
    weight_change_reasons: tuple[str, ...] = ()
    weight_confirmed_by_other: bool = False
    pump_checked_by_other: bool = False
    supervising_physician_named: bool = False
    # The day's weekday (0 = Monday) must be one the schedule gives infusions on (§5; empty:
    # not checked), and a physician's recorded decision to move this infusion's day (with the
    # reason) lets the interval, the weekly maximum and the weekday yield (issue 12 item 1).
    allowed_weekdays: tuple[int, ...] = ()
    day_moved_by_physician: bool = False
    # The morning's holds (PROTOCOL.md §6; issue 12 items 2, 6): every reason the day is held
    # (the blood-pressure series over every checklist of the day and the minute-0 reading, a
    # positive toxicology or pregnancy result, a baseline vital sign beyond its alert), and the
    # reasons a physician released with a recorded, re-authenticated decision. A reason not
    # released holds the start.
    hold_reasons: tuple[str, ...] = ()
    released_holds: tuple[str, ...] = ()
    # C-SSRS results at or above the protocol's review level that no physician has reviewed
    # yet (PROTOCOL.md §7; issue 12 item 8): they hold the next infusion.
    suicide_risk_unreviewed: tuple[str, ...] = ()
    # Maintenance (PROTOCOL.md §8, §11; issue 13): the acute series' length, the protocol's
    # periodic IV intervals, the interval asked for (or in force) and its window, and whether
    # the last infusion given is still open (not discharged).
    acute_infusion_count: int = 0
    maintenance_intervals: tuple[int, ...] = ()
    maintenance_interval_days: int | None = None
    maintenance_window_days: int = 0
    last_infusion_open: bool = False
    # Blinding guesses at the end of treatment (PROTOCOL.md §3, §5; issue 15): the protocol
    # blinds patients and staff, and how many infusions of the acute series (numbers 1 to
    # ``acute_infusion_count``) are discharged.
    blinded_protocol: bool = False
    acute_infusions_discharged: int = 0
    # Retreatment (PROTOCOL.md §5, §8; issue 13): the states the protocol retreats from (empty:
    # it offers no retreatment), its limit of series, the retreatment series already started,
    # where the current acute series' numbering starts (1, or after the last infusion given),
    # whether a retreatment series is under way (its earlier response does not decide the
    # state), and how many of its infusions are discharged.
    retreatment_from: tuple[PatientState, ...] = ()
    retreatment_max_courses: int = 0
    retreatment_courses: int = 0
    series_first_infusion: int = 1
    retreatment_open: bool = False
    retreatment_infusions_discharged: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event may not happen: the rule, where it comes from, and (for bad input) the field.

    ``source`` cites the document and section (``PROTOCOL.md §1``, ``SYSTEM.md capability 4``);
    ``field`` names the input at fault when the refusal is about what the user gave (an adapter
    shows it at that field), and is None when it is about the patient's state.
    """

    rule: str
    source: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.message} [{self.rule}, {self.source}]"
