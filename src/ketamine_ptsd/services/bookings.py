"""Bookings: a patient's infusion, esketamine session or assessment visit in a room, with a nurse,
at a site-local day and time (issue 13, "what a clinic uses every day").

Who books: ``booking.record`` (nurse, clinician, investigator: those who give infusions); who
reads: ``infusion.read``. Site-scoped like every patient record (``access.require_patient``:
another site's booking is "not found"; lists leave it out). The rules are the core's
(:mod:`ketamine_ptsd.core.rules.booking`): a room holds one patient at a time, a nurse looks
after one at a time (PROTOCOL.md §6), no booking in the past, 15–480 minutes. A conflict names
the other booking's day and time, never its patient.

Times are the site's wall clock: the caller passes the site's IANA zone (the web app's
``site_timezone``) so that "in the past" is judged on that clock. The blind: a booking names no
drug or arm ("Infusion 3"); an esketamine session is the clinic pathway's only (§11), refused
for a blinded patient. Never deleted: a cancellation keeps its reason, a move is an audited
update with its reason.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, Role
from ketamine_ptsd.core.rules.booking import Slot, booking_problems, same_room

from ._workflow import check_editable, need_reason
from .access import Actor, require, require_patient
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import Booking, Patient, User, UserSite
from .uow import UnitOfWork

__all__ = ["KINDS", "NURSE_ROLES", "BookingService", "BookingView", "NurseView"]

#: What may be booked, with its label on the form.
KINDS = {"infusion": "Infusion", "esketamine": "Esketamine session", "assessment": "Assessment"}
#: The roles a booked nurse holds (the account's, or their role at a site).
NURSE_ROLES = frozenset({Role.NURSE.value, Role.CLINICIAN.value})


@dataclass(frozen=True)
class NurseView:
    id: int
    name: str


@dataclass(frozen=True)
class BookingView:
    id: int
    patient_id: int
    study_id: str
    kind: str
    number: int | None
    time_point: str | None
    title: str
    day: dt.date
    start_time: dt.time
    end_time: dt.time
    minutes: int
    room: str
    nurse_id: int | None
    nurse_name: str | None
    booked_by: int | None
    booked_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    version: int

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


def _local_now(uow: UnitOfWork, time_zone: str) -> dt.datetime:
    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("time_zone", "an IANA time zone", time_zone) from None
    now: dt.datetime = uow.now
    return now.astimezone(zone).replace(tzinfo=None)


def _room(value: str) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed("room", "a room, such as Room 2", value)
    if len(text) > 64:
        raise ValidationFailed("room", "at most 64 characters", value)
    return text


def _minutes(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed("minutes", "a whole number of minutes", value)
    return value


class BookingService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    # --- reading -------------------------------------------------------------------------------

    def _title(self, uow: UnitOfWork, patient: Patient, row: Booking) -> str:
        if row.kind == "infusion":
            return f"Infusion {row.number}"
        if row.kind == "esketamine":
            return f"Esketamine session {row.number}"
        protocol: Protocol = patient_protocol(self._ctx, uow, patient)
        labels = {a.name: a.label for a in protocol.assessments}
        return f"Assessment: {labels.get(row.time_point or '', row.time_point)}"

    def _view(self, uow: UnitOfWork, patient: Patient, row: Booking) -> BookingView:
        nurse = uow.session.get(User, row.nurse_id) if row.nurse_id is not None else None
        begins = dt.datetime.combine(row.day, row.start_time)
        return BookingView(
            row.id, patient.id, patient.study_id, row.kind, row.number, row.time_point,
            self._title(uow, patient, row), row.day, row.start_time,
            (begins + dt.timedelta(minutes=row.minutes)).time(), row.minutes, row.room,
            row.nurse_id, nurse.full_name if nurse is not None else None, row.booked_by,
            row.booked_at, row.cancelled_at, row.cancel_reason, row.version,
        )  # fmt: skip

    def list(
        self,
        actor: Actor,
        *,
        start: dt.date,
        end: dt.date,
        room: str | None = None,
        nurse_id: int | None = None,
        include_cancelled: bool = False,
    ) -> list[BookingView]:
        """The bookings from ``start`` to ``end`` (inclusive) of the patients the actor may read,
        by day and time; ``room`` and ``nurse_id`` filter."""
        require(actor, Action.INFUSION_READ)
        if end < start:
            raise ValidationFailed("to", "on or after the first day", end.isoformat())
        if (end - start).days > 366:
            raise ValidationFailed("to", "at most a year after the first day", end.isoformat())
        with self._ctx.uow(actor, write=False) as uow:
            query = (
                select(Booking, Patient)
                .join(Patient, Patient.id == Booking.patient_id)
                .where(Booking.day >= start, Booking.day <= end, Patient.voided_at.is_(None))
                .order_by(Booking.day, Booking.start_time, Booking.room, Booking.id)
            )
            if actor.sites is not None:
                query = query.where(Patient.site.in_(sorted(actor.sites)))
            if actor.role is Role.CLINICIAN:
                query = query.where(Patient.blinded.is_(False))
            if not include_cancelled:
                query = query.where(Booking.cancelled_at.is_(None))
            if nurse_id is not None:
                query = query.where(Booking.nurse_id == nurse_id)
            out = []
            for row, patient in uow.session.execute(query):
                if room and not same_room(row.room, room):
                    continue
                out.append(self._view(uow, patient, row))
            return out

    def get(self, actor: Actor, booking_id: int) -> BookingView:
        with self._ctx.uow(actor, write=False) as uow:
            row, patient = self._load(uow, actor, booking_id, Action.INFUSION_READ)
            return self._view(uow, patient, row)

    def nurses(self, actor: Actor) -> list[NurseView]:
        """The active users who may be booked as the nurse (a nurse or clinician by account or
        at a site), of the actor's sites (users without a membership are central)."""
        require(actor, Action.INFUSION_READ)
        with self._ctx.uow(actor, write=False) as uow:
            users = uow.session.scalars(
                select(User).where(User.active.is_(True)).order_by(User.full_name, User.id)
            ).all()
            memberships: dict[int, list[UserSite]] = {}
            for m in uow.session.scalars(select(UserSite)):
                memberships.setdefault(m.user_id, []).append(m)
            out = []
            for user in users:
                sites = memberships.get(user.id, [])
                roles = {user.role} | {m.role for m in sites if m.role}
                if not roles & NURSE_ROLES:
                    continue
                if actor.sites is not None and sites and not {m.site for m in sites} & actor.sites:
                    continue
                out.append(NurseView(user.id, user.full_name))
            return out

    # --- writing -------------------------------------------------------------------------------

    def _load(
        self, uow: UnitOfWork, actor: Actor, booking_id: int, action: Action
    ) -> tuple[Booking, Patient]:
        row = uow.session.get(Booking, booking_id)
        if row is None:
            raise NotFound("booking", booking_id)
        patient = load_patient(uow, row.patient_id)
        require_patient(actor, action, patient)  # another site's booking: not found
        return row, patient

    def _check_nurse(self, uow: UnitOfWork, patient: Patient, nurse_id: int | None) -> None:
        if nurse_id is None:
            return
        user = uow.session.get(User, nurse_id)
        sites = uow.session.scalars(select(UserSite).where(UserSite.user_id == nurse_id)).all()
        roles = {user.role} | {m.role for m in sites if m.role} if user is not None else set()
        works_here = not sites or any(m.site == patient.site for m in sites)
        if user is None or not user.active or not roles & NURSE_ROLES or not works_here:
            raise ValidationFailed("nurse_id", "a nurse or clinician of this site", nurse_id)

    def _check_slot(self, uow: UnitOfWork, slot: Slot, time_zone: str) -> None:
        held = uow.session.scalars(
            select(Booking).where(
                Booking.cancelled_at.is_(None),
                Booking.day >= slot.day - dt.timedelta(days=1),
                Booking.day <= slot.day + dt.timedelta(days=1),
            )
        ).all()
        others = [
            Slot(b.day, b.start_time, b.minutes, b.room, b.nurse_id, b.id, b.site or "")
            for b in held
        ]
        problems = booking_problems(slot, others, _local_now(uow, time_zone))
        if problems:
            first = problems[0]
            raise ValidationFailed(first.field, first.message, None)

    def _what(
        self,
        uow: UnitOfWork,
        patient: Patient,
        kind: str,
        number: int | None,
        time_point: str | None,
    ) -> tuple[int | None, str | None]:
        if kind not in KINDS:
            raise ValidationFailed("kind", "infusion, esketamine or assessment", kind)
        if kind == "assessment":
            protocol: Protocol = patient_protocol(self._ctx, uow, patient)
            names = [a.name for a in protocol.assessments]
            if time_point not in names:
                raise ValidationFailed(
                    "time_point", "one of the protocol's time points: " + ", ".join(names),
                    time_point,
                )  # fmt: skip
            return None, time_point
        if kind == "esketamine" and patient.blinded:
            # the clinic pathway's only (§11); a blinded patient's page never names a drug
            raise ValidationFailed("kind", "an esketamine session is the clinic pathway's only")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 999:
            raise ValidationFailed("number", "the infusion's or session's number (1–999)", number)
        return number, None

    def book(
        self,
        actor: Actor,
        patient_id: int,
        *,
        kind: str,
        day: dt.date,
        start: dt.time,
        minutes: int,
        room: str,
        nurse_id: int | None,
        number: int | None = None,
        time_point: str | None = None,
        time_zone: str = "UTC",
    ) -> BookingView:
        """Book a patient's infusion, esketamine session or assessment visit."""
        minutes = _minutes(minutes)
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.BOOKING_RECORD, patient)
            number, time_point = self._what(uow, patient, kind, number, time_point)
            if kind in ("infusion", "esketamine") and nurse_id is None:
                raise ValidationFailed("nurse_id", "a nurse to monitor (PROTOCOL.md §6, §11)")
            room = _room(room)
            self._check_nurse(uow, patient, nurse_id)
            slot = Slot(day, start, minutes, room, nurse_id, None, patient.site or "")
            self._check_slot(uow, slot, time_zone)
            row = Booking(
                patient_id=patient.id, site=patient.site, kind=kind, number=number,
                time_point=time_point, day=day, start_time=start, minutes=minutes, room=room,
                nurse_id=nurse_id, booked_by=actor.user_id, booked_at=uow.now,
                cancelled_at=None, cancelled_by=None, cancel_reason=None,
            )  # fmt: skip
            uow.reason = f"booked: {KINDS[kind].lower()} on {day.isoformat()} {start:%H:%M}"
            uow.session.add(row)
            uow.flush()
            view = self._view(uow, patient, row)
            uow.commit()
            return view

    def move(
        self,
        actor: Actor,
        booking_id: int,
        *,
        day: dt.date,
        start: dt.time,
        room: str,
        nurse_id: int | None,
        reason: str,
        expected_version: int,
        minutes: int | None = None,
        time_zone: str = "UTC",
    ) -> BookingView:
        """Move a booking to a new day, time, room or nurse, with the reason (audited)."""
        text = need_reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            row, patient = self._load(uow, actor, booking_id, Action.BOOKING_RECORD)
            check_editable("booking", row, expected_version)
            if row.cancelled_at is not None:
                raise ConflictError("booking", row.id, "a cancelled booking cannot be moved")
            length = row.minutes if minutes is None else _minutes(minutes)
            if row.kind in ("infusion", "esketamine") and nurse_id is None:
                raise ValidationFailed("nurse_id", "a nurse to monitor (PROTOCOL.md §6, §11)")
            room = _room(room)
            self._check_nurse(uow, patient, nurse_id)
            slot = Slot(day, start, length, room, nurse_id, row.id, patient.site or "")
            self._check_slot(uow, slot, time_zone)
            row.day, row.start_time, row.minutes = day, start, length
            row.room, row.nurse_id = room, nurse_id
            uow.reason = f"booking moved: {text}"
            uow.flush()
            view = self._view(uow, patient, row)
            uow.commit()
            return view

    def cancel(
        self, actor: Actor, booking_id: int, *, reason: str, expected_version: int
    ) -> BookingView:
        """Cancel a booking with the reason; it stays in the record."""
        text = need_reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            row, patient = self._load(uow, actor, booking_id, Action.BOOKING_RECORD)
            check_editable("booking", row, expected_version)
            if row.cancelled_at is not None:
                raise ConflictError("booking", row.id, "already cancelled")
            row.cancelled_at, row.cancelled_by, row.cancel_reason = uow.now, actor.user_id, text
            uow.reason = f"booking cancelled: {text}"
            uow.flush()
            view = self._view(uow, patient, row)
            uow.commit()
            return view
