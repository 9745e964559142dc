"""The clinic's calendar and its overdue visits (issue 13, "what a clinic uses every day").

Built from each patient's schedule (the core's schedule rule anchored on infusion 1, PROTOCOL.md
§3, §5; views.patient_schedule) and what the record holds, read as the signed-in actor: an
infusion already given is shown on the day it was given, an assessment time point whose window
has closed with an instrument still missing is *overdue*. Bookings (services/bookings.py) put an
infusion, esketamine session or assessment visit in a room with a nurse at a site-local time:
they show with their time, room and nurse, filter by room or nurse (then only bookings show), and
make the day's view by room (:func:`room_grid`: a column per room, a row per half hour).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.core.rules import PlannedAssessment, SchedulePlan
from ketamine_ptsd.core.workflow import TERMINAL, PatientState
from ketamine_ptsd.services import Actor, NotFound, PermissionDenied
from ketamine_ptsd.services.bookings import BookingView, NurseView
from ketamine_ptsd.services.maintenance import MaintenanceView
from ketamine_ptsd.services.patients import PatientView

from .deps import WebState
from .views import patient_schedule

__all__ = [
    "CalendarEntry",
    "CalendarPage",
    "Overdue",
    "RoomGrid",
    "calendar_page",
    "maintained",
    "overdue_assessments",
    "room_grid",
]

#: Follow-up visits are a responder's (§8).
_FOLLOWED = frozenset({PatientState.RESPONDER, PatientState.LOST_RESPONSE})


@dataclass(frozen=True)
class CalendarEntry:
    day: dt.date
    patient: PatientView
    kind: str  # infusion, assessment, follow_up, booking
    title: str
    state: str  # planned, given, due, overdue, done, booked
    link: str | None = None
    booking: BookingView | None = None


@dataclass(frozen=True)
class Overdue:
    patient: PatientView
    assessment: PlannedAssessment
    missing: tuple[str, ...]


@dataclass
class CalendarPage:
    start: dt.date
    days: int
    today: dt.date
    entries: dict[dt.date, list[CalendarEntry]] = field(default_factory=dict)
    #: the filters in force (then only bookings are shown)
    room: str = ""
    nurse_id: int | None = None
    rooms: list[str] = field(default_factory=list)
    nurses: list[NurseView] = field(default_factory=list)

    @property
    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    @property
    def previous(self) -> dt.date:
        return self.start - dt.timedelta(days=self.days)

    @property
    def next(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days)


def _recorded(state: WebState, actor: Actor, patient: PatientView) -> set[tuple[str, str]]:
    if not is_allowed(actor.role, Action.ASSESSMENT_READ):
        return set()
    return {
        (a.time_point, a.instrument) for a in state.services.assessments.list(actor, patient.id)
    }


def _given(state: WebState, actor: Actor, patient: PatientView) -> dict[int, dt.date]:
    if not is_allowed(actor.role, Action.INFUSION_READ):
        return {}
    return {
        d.infusion_number: d.infusion_date for d in state.services.infusions.days(actor, patient.id)
    }


def _plans(
    state: WebState, actor: Actor, patients: list[PatientView]
) -> list[tuple[PatientView, SchedulePlan]]:
    out = []
    for patient in patients:
        if PatientState(patient.status) in TERMINAL:
            continue
        plan = patient_schedule(state, actor, patient)
        if plan is not None:
            out.append((patient, plan))
    return out


def maintained(
    state: WebState, actor: Actor, patients: list[PatientView]
) -> list[tuple[PatientView, MaintenanceView]]:
    """The patients in maintenance among ``patients`` (those the actor may read), with their
    open schedule (§8)."""
    out = []
    for patient in patients:
        if PatientState(patient.status) is not PatientState.IN_MAINTENANCE:
            continue
        try:
            schedule = state.services.maintenance.schedule(actor, patient.id)
        except (NotFound, PermissionDenied):
            continue
        if schedule.active:
            out.append((patient, schedule))
    return out


def _missing(planned: PlannedAssessment, recorded: set[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(i for i in planned.instruments if (planned.name, i) not in recorded)


def _bookings(
    state: WebState, actor: Actor, page: CalendarPage, end: dt.date
) -> list[CalendarEntry]:
    if not is_allowed(actor.role, Action.INFUSION_READ):
        return []
    views = state.services.bookings.list(actor, start=page.start, end=end)
    page.rooms = sorted({v.room for v in views}, key=lambda r: (len(r), r.casefold()))
    page.nurses = state.services.bookings.nurses(actor)
    patients: dict[int, PatientView] = {}
    out = []
    for view in state.services.bookings.list(
        actor, start=page.start, end=end, room=page.room or None, nurse_id=page.nurse_id
    ):
        if view.patient_id not in patients:
            patients[view.patient_id] = state.services.patients.get(actor, view.patient_id)
        out.append(
            CalendarEntry(
                view.day, patients[view.patient_id], "booking", view.title, "booked",
                f"/patients/{view.patient_id}", view,
            )
        )  # fmt: skip
    return out


def calendar_page(
    state: WebState,
    actor: Actor,
    start: dt.date,
    days: int,
    *,
    room: str = "",
    nurse_id: int | None = None,
) -> CalendarPage:
    """Every booking, and every planned or given infusion, assessment time point and follow-up
    visit from ``start`` for ``days`` days, of the patients the actor may read; with ``room`` or
    ``nurse_id``, that room's or nurse's bookings only."""
    today = state.now().date()
    page = CalendarPage(start, days, today, room=room, nurse_id=nurse_id)
    end = start + dt.timedelta(days=days - 1)
    entries: dict[dt.date, list[CalendarEntry]] = defaultdict(list)
    for entry in _bookings(state, actor, page, end):
        entries[entry.day].append(entry)
    if room or nurse_id is not None:
        page.entries = dict(entries)
        return page
    reads_infusions = is_allowed(actor.role, Action.INFUSION_READ)
    reads_scores = is_allowed(actor.role, Action.ASSESSMENT_READ)
    patients = state.services.patients.list(actor)  # read once for the whole page
    for patient, plan in _plans(state, actor, patients):
        given = _given(state, actor, patient)
        for number, planned_day in enumerate(plan.infusions, start=1):
            day = given.get(number, planned_day)
            if start <= day <= end:
                entries[day].append(
                    CalendarEntry(
                        day, patient, "infusion", f"Infusion {number}",
                        "given" if number in given else "planned",
                        f"/patients/{patient.id}/infusion/{number}" if reads_infusions else None,
                    )
                )  # fmt: skip
        recorded = _recorded(state, actor, patient)
        for planned in plan.assessments:
            if not start <= planned.target <= end:
                continue
            missing = _missing(planned, recorded)
            if not reads_scores:  # a role that may not read the scores is not told what is missing
                status = "planned"
            elif not missing:
                status = "done"
            else:
                status = "overdue" if planned.window_end < today else "due"
            entries[planned.target].append(
                CalendarEntry(
                    planned.target, patient, "assessment", planned.label, status,
                    f"/patients/{patient.id}",
                )
            )  # fmt: skip
        if PatientState(patient.status) in _FOLLOWED:
            for visit in plan.follow_up:
                if start <= visit.target <= end:
                    entries[visit.target].append(
                        CalendarEntry(
                            visit.target, patient, "follow_up",
                            f"Follow-up {visit.name}", "planned", f"/patients/{patient.id}",
                        )
                    )  # fmt: skip
    if reads_infusions:
        for patient, schedule in maintained(state, actor, patients):
            sessions = [(n, d, "given") for n, d in schedule.given]
            if schedule.next_number is not None and schedule.next_due is not None:
                sessions.append((schedule.next_number, schedule.next_due, "planned"))
            for number, day, status in sessions:
                if start <= day <= end:
                    entries[day].append(
                        CalendarEntry(
                            day, patient, "infusion", f"Infusion {number} (maintenance)", status,
                            f"/patients/{patient.id}/infusion/{number}",
                        )
                    )  # fmt: skip
    order = {"booking": 0, "infusion": 1, "assessment": 2, "follow_up": 3}
    page.entries = {
        day: sorted(items, key=lambda e: (order[e.kind], _start(e), e.patient.study_id))
        for day, items in entries.items()
    }
    return page


def _start(entry: CalendarEntry) -> dt.time:
    return entry.booking.start_time if entry.booking is not None else dt.time(0)


@dataclass(frozen=True)
class GridCell:
    entry: CalendarEntry | None = None
    span: int = 1
    covered: bool = False  # inside a booking that started in an earlier row


@dataclass(frozen=True)
class RoomGrid:
    """One day by room: a column per room, a row per half hour (site time)."""

    rooms: list[str]
    times: list[dt.time]
    cells: list[list[GridCell]]  # [row][room]


#: The grid's rows: half hours from 07:00 to 19:00 unless a booking lies outside.
_ROW_MINUTES = 30


def room_grid(entries: list[CalendarEntry]) -> RoomGrid:
    """The day's bookings as a grid (a booking spans the rows it touches)."""
    booked = [e for e in entries if e.booking is not None]
    rooms = sorted({e.booking.room for e in booked if e.booking}, key=lambda r: (len(r), r))
    first, last = 7 * 60, 19 * 60
    for e in booked:
        assert e.booking is not None
        begin = e.booking.start_time.hour * 60 + e.booking.start_time.minute
        first = min(first, begin - begin % _ROW_MINUTES)
        last = max(last, min(begin + e.booking.minutes, 24 * 60))
    rows = list(range(first, last, _ROW_MINUTES))
    cells = [[GridCell() for _ in rooms] for _ in rows]
    for e in sorted(booked, key=_start):
        assert e.booking is not None
        column = rooms.index(e.booking.room)
        begin = e.booking.start_time.hour * 60 + e.booking.start_time.minute
        top = (begin - first) // _ROW_MINUTES
        bottom = min(len(rows), -(-(begin + e.booking.minutes - first) // _ROW_MINUTES))
        if cells[top][column].covered or cells[top][column].entry is not None:
            continue  # the rules keep a room to one patient; nothing to draw twice
        cells[top][column] = GridCell(e, bottom - top)
        for row in range(top + 1, bottom):
            cells[row][column] = GridCell(covered=True)
    times = [dt.time(m // 60, m % 60) for m in rows]
    return RoomGrid(rooms, times, cells)


def overdue_assessments(
    state: WebState, actor: Actor, patients: list[PatientView]
) -> list[Overdue]:
    """Assessment time points whose window has closed with an instrument not recorded, oldest
    first (the Today page's notification; an outcome the analysis will miss, §5, §9)."""
    if not is_allowed(actor.role, Action.ASSESSMENT_READ):
        return []
    today = state.now().date()
    out = []
    for patient, plan in _plans(state, actor, patients):
        recorded = None
        for planned in plan.assessments:
            if planned.window_end >= today:
                continue
            if recorded is None:
                recorded = _recorded(state, actor, patient)
            missing = _missing(planned, recorded)
            if missing:
                out.append(Overdue(patient, planned, missing))
    out.sort(key=lambda o: (o.assessment.window_end, o.patient.study_id))
    return out
