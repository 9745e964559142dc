"""Infusion days: checklist and holds, dose from the day's weight, vitals, interventions, ratings,
PRISE, adverse events, discharge readiness and the physician's signed sign-off.

SYSTEM.md capability 5; PROTOCOL.md §3 (the blind), §4 (dose), §6 (the infusion day). Infusions
are numbered 1..N (the protocol's ``schedule.infusion_count``); everything recorded on a day is
keyed by (patient, infusion number), so the minute-0 vitals and ratings can be taken before the
start.

* **Checklist.** :meth:`InfusionService.record_checklist` runs
  :func:`ketamine_ptsd.core.rules.pre_infusion_checklist` on the nurse's findings plus what the
  record knows (baseline vitals and minute-0 ratings recorded; a risk-benefit decision for
  pregnancy in the clinic). Every run is stored; a failed run is a recorded hold with its reasons.
  :meth:`InfusionService.start` refuses (:class:`InfusionHeld`, with the reasons) unless today's
  latest checklist for that infusion passed.
* **Allocation.** In the trial, infusion 1 is when the patient is allocated (§3: "assignment on
  the morning of the first infusion"): ``start`` of infusion 1 by someone allowed to allocate
  does it (services/randomization.py); anyone else is asked to have it done first.
* **Dose.** The drug, its mg dose and concentration break the blind (§4: 0.5 vs 0.045 mg/kg)
  and are stored with ``allocation`` sensitivity; a blinded reader sees "study drug", the volume
  and the pump rate, which must then be identical whatever the arm. So a blinded protocol with
  more than one drug doses by :func:`ketamine_ptsd.core.rules.blinded_dose` (the volume from the
  mL/kg every arm shares, the mg delivered = volume × concentration; a protocol whose arms differ
  in mL/kg or minutes is refused, naming the field); an open-label one by
  :func:`ketamine_ptsd.core.rules.calculate_dose`.
* **Giving the drug** (issue 12). The day's weight is compared with the last recorded one
  (screening or the previous infusion): beyond the protocol's ``weight_change_tolerance_percent``
  or looking like pounds, it needs a second staff member's confirmation; a dose above the
  protocol's ``max_dose_mg`` is refused (§4). The nurse enters the bag (lot, expiry, volume, who
  prepared it; its concentration only when they see the drug — a blinded nurse confirms the
  volume, docs/blinding.md), a second staff member checks the pump with their own password
  (independent double-check, ISMP) and the supervising physician is named (§6). The end takes
  the actual time and, for an early stop, the volume given and the reason: the mg given is
  recomputed from it; the waste is recorded with a witness (drug accountability).
* **Vitals** (every 5 min during, every 15 after — ``vitals_due_minutes``) are stored with the
  alerts :func:`vital_sign_alerts` raises. **Interventions** (e.g. labetalol 5 mg IV) with drug,
  dose, route, time and reason.
* **Ratings** at the protocol's minutes (0/40/120: CADSS, BPRS positive, YMRS item 1; PRISE at
  0 and 120), scored by the instruments; stored with ``infusion_rating`` sensitivity and readable
  only with ``infusion_rating.read`` — never by an outcome rater (§3).
* **Concomitant medications** (drug, class, dose, dates): the checklist flags those taken today
  in a class the protocol flags (``pre_infusion.flag_medication_classes``: benzodiazepines,
  opioids, sedative hypnotics, psychostimulants, MAOIs, lamotrigine; PROTOCOL.md §1, §11).
* **Discharge.** The nurse records walking unaided and the delayed-effects check;
  :meth:`InfusionService.readiness` applies :func:`discharge_readiness`; the physician's
  :meth:`InfusionService.sign_off_discharge` re-authenticates, refuses while anything but the
  sign-off is outstanding, and signs the infusion record ("discharge sign-off").

The package follows the day's events: ``checklist`` (holds), ``day`` (start, end, dose),
``monitoring`` (vitals, interventions, ratings), ``adverse_events``, ``discharge``,
``accountability`` (the pharmacy's reconciliation), ``safety`` (owned alerts, the physician's
release of a hold and move of a day); ``administration`` the second staff member's
countersignature and the supervising physician; ``views`` holds the inputs and views, ``queries``
the frequent reads. :class:`InfusionService` is all of them.
"""

from __future__ import annotations

from ketamine_ptsd.core.rules import DischargeCriterion

from .accountability import AccountabilityRow, AccountabilityUseCases
from .adverse_events import AdverseEventUseCases
from .day import DayUseCases
from .discharge import DischargeUseCases
from .medications import MedicationInput, MedicationUseCases, MedicationView
from .monitoring import MonitoringUseCases
from .safety import AlertView, DecisionView, SafetyUseCases
from .views import (
    AE_OUTCOMES,
    AE_RELATEDNESS,
    AE_SEVERITIES,
    ROUTES,
    AdministrationView,
    AdverseEventInput,
    AdverseEventView,
    BagInput,
    ChecklistInput,
    ChecklistView,
    Countersign,
    DischargeView,
    EarlyStop,
    IdentityCheckView,
    InfusionDayView,
    InfusionHeld,
    InterventionInput,
    InterventionView,
    PumpCheck,
    RatingView,
    VitalsInput,
    VitalsView,
)

__all__ = [
    "AE_OUTCOMES",
    "AE_RELATEDNESS",
    "AE_SEVERITIES",
    "ROUTES",
    "AccountabilityRow",
    "AdministrationView",
    "AdverseEventInput",
    "AdverseEventView",
    "AlertView",
    "BagInput",
    "ChecklistInput",
    "ChecklistView",
    "Countersign",
    "DecisionView",
    "DischargeCriterion",
    "DischargeView",
    "EarlyStop",
    "IdentityCheckView",
    "InfusionDayView",
    "InfusionHeld",
    "InfusionService",
    "InterventionInput",
    "InterventionView",
    "MedicationInput",
    "MedicationView",
    "PumpCheck",
    "RatingView",
    "VitalsInput",
    "VitalsView",
]


class InfusionService(
    DayUseCases,
    MonitoringUseCases,
    AdverseEventUseCases,
    DischargeUseCases,
    MedicationUseCases,
    AccountabilityUseCases,
    SafetyUseCases,
):
    """Every use case of an infusion day (see the package docstring)."""
