"""The trial dashboard's figures, read through the services only (issue 5 "Trial dashboard").

PROTOCOL.md §3 (blinding), §7 (the assessment time points and their windows), §10 (CONSORT
flow, safety). Everything here is a count over patients and time points; no arm, drug or dose is
read or shown, so the page is the same for every role that may open it (blinded by default; the
unblinded comparison lives on the analysis page, under a sanction).

* **Enrolment** — randomized patients against the target: the protocol's
  ``analysis.interim.planned_patients`` when it gives one.
* **CONSORT counts** — registered (all), screened (a screening decision recorded), ineligible
  (screen failed), declined, randomized (allocated), withdrawn.
* **Visit completeness** per time point (``services.assessments.schedule`` and ``list``): *done*
  when every instrument of the time point is recorded (not voided), otherwise *overdue* once the
  window has closed, *due* while it is open, *upcoming* before it opens.
* **Safety** — adverse events (all, serious, by severity) and vital-sign readings with an alert
  (``services.infusions``). A section the role may not read is marked unavailable, not guessed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.core.workflow import PatientState as S
from ketamine_ptsd.core.workflow import Treatment
from ketamine_ptsd.services import Actor, NotFound, PermissionDenied, Services, ValidationFailed
from ketamine_ptsd.services.patients import PatientView

__all__ = ["Dashboard", "OverdueVisit", "TimePointCompleteness", "trial_dashboard"]


@dataclass
class TimePointCompleteness:
    name: str
    label: str
    done: int = 0
    due: int = 0
    overdue: int = 0
    upcoming: int = 0

    @property
    def expected(self) -> int:
        """Windows already open or closed: the visits that should have happened by now."""
        return self.done + self.due + self.overdue

    @property
    def percent_done(self) -> float | None:
        return None if self.expected == 0 else 100.0 * self.done / self.expected


@dataclass(frozen=True)
class OverdueVisit:
    patient_id: int
    study_id: str
    label: str
    window_end: dt.date
    days_overdue: int
    missing: tuple[str, ...]


@dataclass
class SiteFigures:
    site: str
    registered: int = 0
    randomized: int = 0
    open_queries: int | None = None  # None: the role may not read queries
    sdv_verified: int | None = None
    sdv_changed: int | None = None
    sdv_total: int | None = None


@dataclass
class Dashboard:
    protocol_name: str
    protocol_names: list[str]
    target: int | None
    consort: dict[str, int] = field(default_factory=dict)
    visits: list[TimePointCompleteness] = field(default_factory=list)
    visits_available: bool = True
    overdue: list[OverdueVisit] = field(default_factory=list)
    # Patients whose calendar cannot be planned (e.g. an allocation dated on a day the protocol
    # gives no infusions): listed with the reason instead of failing the whole dashboard.
    unplanned: list[tuple[int, str, str]] = field(default_factory=list)
    adverse_events: Counter[str] = field(default_factory=Counter)
    adverse_events_available: bool = True
    vitals_alert_readings: int = 0
    vitals_alerts: int = 0
    vitals_readings: int = 0
    vitals_available: bool = True
    # Per site (issue 17): registered, randomized, open queries, SDV verified/changed/total.
    sites: list[SiteFigures] = field(default_factory=list)

    @property
    def randomized(self) -> int:
        return self.consort.get("randomized", 0)

    @property
    def percent_of_target(self) -> float | None:
        return None if not self.target else 100.0 * self.randomized / self.target


def _target(services: Services, protocol_name: str) -> int | None:
    analysis = services.context.protocol(protocol_name).analysis
    interim = getattr(analysis, "interim", None)
    return getattr(interim, "planned_patients", None)


def _consort(patients: list[PatientView]) -> dict[str, int]:
    return {
        "registered": len(patients),
        # a decision reached (consented patients still being screened are not counted yet)
        "screened": sum(p.status not in (S.REGISTERED, S.SCREENING) for p in patients),
        "ineligible": sum(p.status == S.SCREEN_FAILED for p in patients),
        "declined": sum(p.status == S.DECLINED for p in patients),
        "randomized": sum(p.visibility is not Treatment.UNALLOCATED for p in patients),
        "withdrawn": sum(p.status == S.WITHDRAWN for p in patients),
    }


def _site_figures(
    services: Services, actor: Actor, patients: list[PatientView]
) -> list[SiteFigures]:
    """Enrolment, open queries and source-data verification by site (issue 17)."""
    figures: dict[str, SiteFigures] = {}
    for p in patients:
        f = figures.setdefault(p.site, SiteFigures(p.site))
        f.registered += 1
        f.randomized += p.visibility is not Treatment.UNALLOCATED
    ids = {p.id for p in patients}
    if is_allowed(actor.role, Action.QUERY_READ):
        for f in figures.values():
            f.open_queries = 0
        for q in services.queries.list(actor, state="open"):
            site = next((p.site for p in patients if p.id == q.patient_id), None)
            if q.patient_id in ids and site is not None:
                figures[site].open_queries = (figures[site].open_queries or 0) + 1
    if is_allowed(actor.role, Action.SDV_RECORD) or is_allowed(actor.role, Action.QUERY_RAISE):
        progress = services.sdv.progress(actor).by_patient
        for f in figures.values():
            f.sdv_verified = f.sdv_changed = f.sdv_total = 0
        for p in patients:
            verified, changed, total = progress.get(p.study_id, (0, 0, 0))
            f = figures[p.site]
            f.sdv_verified = (f.sdv_verified or 0) + verified
            f.sdv_changed = (f.sdv_changed or 0) + changed
            f.sdv_total = (f.sdv_total or 0) + total
    return [figures[k] for k in sorted(figures)]


def trial_dashboard(
    services: Services, actor: Actor, protocol_name: str, today: dt.date
) -> Dashboard:
    """The dashboard of ``protocol_name`` as ``actor`` may read it, on ``today``."""
    everyone = services.patients.list(actor)
    names = sorted({p.protocol_name for p in everyone} | {protocol_name})
    patients = [p for p in everyone if p.protocol_name == protocol_name]
    board = Dashboard(protocol_name, names, _target(services, protocol_name))
    board.consort = _consort(patients)
    board.sites = _site_figures(services, actor, patients)
    allocated = [p for p in patients if p.treatment is not None]
    board.visits_available = is_allowed(actor.role, Action.ASSESSMENT_READ)
    planned_infusions: dict[int, int] = {}
    if board.visits_available:
        planned_infusions = _visits(services, actor, allocated, today, board)
    board.adverse_events_available = is_allowed(actor.role, Action.ADVERSE_EVENT_READ)
    board.vitals_available = is_allowed(actor.role, Action.INFUSION_READ)
    for patient in allocated:
        if board.adverse_events_available:
            for event in services.infusions.adverse_events(actor, patient.id):
                board.adverse_events["all"] += 1
                board.adverse_events["serious"] += event.serious
                board.adverse_events[f"severity: {event.severity}"] += 1
        if board.vitals_available:
            # Baseline readings come before the start: every planned infusion is read.
            numbers = {d.infusion_number for d in services.infusions.days(actor, patient.id)}
            numbers |= set(range(1, planned_infusions.get(patient.id, 1) + 1))
            for number in sorted(numbers):
                for reading in services.infusions.vitals(actor, patient.id, number):
                    board.vitals_readings += 1
                    board.vitals_alerts += len(reading.alerts)
                    board.vitals_alert_readings += bool(reading.alerts)
    return board


def _visits(
    services: Services,
    actor: Actor,
    allocated: list[PatientView],
    today: dt.date,
    board: Dashboard,
) -> dict[int, int]:
    """Fill the visit sections; returns each patient's number of planned infusions."""
    rows: dict[str, TimePointCompleteness] = {}
    planned_infusions: dict[int, int] = {}
    for patient in allocated:
        try:
            # Planned from the allocation's infusion date until infusion 1 is on record.
            first: dt.date | None = services.randomization.allocation(
                actor, patient.id
            ).infusion_date
        except (NotFound, PermissionDenied):
            first = None
        try:
            schedule = services.assessments.schedule(actor, patient.id, first_infusion=first)
        except (NotFound, PermissionDenied):  # no date for infusion 1 yet: no calendar
            continue
        except ValidationFailed as exc:
            board.unplanned.append((patient.id, patient.study_id, exc.message))
            continue
        planned_infusions[patient.id] = len(schedule.infusions)
        recorded: dict[str, set[str]] = {}
        for a in services.assessments.list(actor, patient.id):
            recorded.setdefault(a.time_point, set()).add(a.instrument)
        for planned in schedule.assessments:
            row = rows.setdefault(planned.name, TimePointCompleteness(planned.name, planned.label))
            missing = tuple(
                i for i in planned.instruments if i not in recorded.get(planned.name, ())
            )
            if not missing:
                row.done += 1
            elif planned.window_end < today:
                row.overdue += 1
                board.overdue.append(
                    OverdueVisit(
                        patient.id,
                        patient.study_id,
                        planned.label,
                        planned.window_end,
                        (today - planned.window_end).days,
                        missing,
                    )
                )
            elif planned.window_start <= today:
                row.due += 1
            else:
                row.upcoming += 1
    board.visits = list(rows.values())
    board.overdue.sort(key=lambda v: (-v.days_overdue, v.study_id))
    return planned_infusions
