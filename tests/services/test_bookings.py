"""Bookings (issue 13): rooms, nurses and times, site-scoped, audited, never deleted."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    Actor,
    ConflictError,
    NotFound,
    PermissionDenied,
    Services,
    ValidationFailed,
)

NEXT_MONDAY = dt.date(2026, 3, 9)  # the clock is Monday 2 March 2026, 08:00 UTC
NINE = dt.time(9, 0)


def _book(services: Services, actor: Actor, patient_id: int, **kw):  # type: ignore[no-untyped-def]
    values = {
        "kind": "infusion", "number": 1, "day": NEXT_MONDAY, "start": NINE, "minutes": 120,
        "room": "Room 2", "nurse_id": kw.pop("nurse_id", None),
    }  # fmt: skip
    values.update(kw)
    return services.bookings.book(actor, patient_id, **values)


@pytest.fixture
def rct(services: Services, actors) -> int:  # type: ignore[no-untyped-def]
    return services.patients.register(actors[Role.INVESTIGATOR], protocol_name="rct", site="YAL").id


def test_a_nurse_books_an_infusion_and_it_is_listed_and_audited(
    services: Services, actors, rct: int
) -> None:  # type: ignore[no-untyped-def]
    nurse = actors[Role.NURSE]
    view = _book(services, nurse, rct, nurse_id=nurse.user_id)
    assert view.title == "Infusion 1" and view.end_time == dt.time(11, 0)
    assert view.nurse_name == "Test nurse" and view.room == "Room 2"
    listed = services.bookings.list(nurse, start=NEXT_MONDAY, end=NEXT_MONDAY)
    assert [b.id for b in listed] == [view.id]
    assert services.bookings.list(nurse, start=NEXT_MONDAY, end=NEXT_MONDAY, room="room 3") == []
    assert services.bookings.list(actors[Role.MONITOR], start=NEXT_MONDAY, end=NEXT_MONDAY)
    rows = services.audit.entries(actors[Role.ADMINISTRATOR], table_name="bookings")
    assert {r.field for r in rows} >= {"room", "day", "nurse_id"}


def test_roles_who_may_book(services: Services, actors, rct: int) -> None:  # type: ignore[no-untyped-def]
    nurse_id = actors[Role.NURSE].user_id
    for role in (Role.OUTCOME_RATER, Role.MONITOR, Role.PHARMACIST, Role.ADMINISTRATOR):
        with pytest.raises(PermissionDenied):
            _book(services, actors[role], rct, nurse_id=nurse_id)
    assert _book(services, actors[Role.INVESTIGATOR], rct, nurse_id=nurse_id).id
    with pytest.raises(PermissionDenied):
        services.bookings.list(actors[Role.OUTCOME_RATER], start=NEXT_MONDAY, end=NEXT_MONDAY)


def test_the_booked_nurse_is_a_nurse_or_clinician(services: Services, actors, rct: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        _book(services, actors[Role.NURSE], rct, nurse_id=actors[Role.PHARMACIST].user_id)
    assert refused.value.field == "nurse_id"
    with pytest.raises(ValidationFailed) as refused:
        _book(services, actors[Role.NURSE], rct, nurse_id=None)
    assert refused.value.field == "nurse_id"
    names = {n.name for n in services.bookings.nurses(actors[Role.NURSE])}
    assert names == {"Test nurse", "Test clinician"}


def test_overlaps_past_and_length_are_refused_at_their_field(
    services: Services, actors, rct: int
) -> None:  # type: ignore[no-untyped-def]
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    other = services.patients.register(md, protocol_name="rct", site="YAL")
    _book(services, nurse, rct, nurse_id=nurse.user_id)
    with pytest.raises(ValidationFailed) as refused:  # the same room, one minute over
        _book(
            services,
            nurse,
            other.id,
            start=dt.time(10, 59),
            nurse_id=actors[Role.CLINICIAN].user_id,
        )
    assert refused.value.field == "room" and "09:00–11:00" in refused.value.message
    with pytest.raises(ValidationFailed) as refused:  # the same nurse, another room
        _book(
            services, nurse, other.id, room="Room 3", start=dt.time(10, 0), nurse_id=nurse.user_id
        )
    assert refused.value.field == "nurse_id"
    assert "PT" not in refused.value.message and other.study_id not in refused.value.message
    touching = _book(services, nurse, other.id, start=dt.time(11, 0), nurse_id=nurse.user_id)
    assert touching.start_time == dt.time(11, 0)
    with pytest.raises(ValidationFailed) as refused:
        _book(services, nurse, rct, day=dt.date(2026, 3, 1), nurse_id=nurse.user_id)
    assert refused.value.field == "day"
    with pytest.raises(ValidationFailed) as refused:
        _book(services, nurse, rct, minutes=10, start=dt.time(14, 0), nurse_id=nurse.user_id)
    assert refused.value.field == "minutes"


def test_site_time_decides_what_is_past(services: Services, actors, rct: int) -> None:  # type: ignore[no-untyped-def]
    nurse = actors[Role.NURSE]
    # 08:00 UTC is 03:00 in New York: 05:00 today is still ahead there, not in London
    today = dt.date(2026, 3, 2)
    ok = _book(services, nurse, rct, day=today, start=dt.time(5, 0), nurse_id=nurse.user_id,
               time_zone="America/New_York")  # fmt: skip
    assert ok.day == today
    with pytest.raises(ValidationFailed):
        _book(services, nurse, rct, day=today, start=dt.time(7, 0), room="Room 9",
              nurse_id=actors[Role.CLINICIAN].user_id, time_zone="Europe/London")  # fmt: skip


def test_move_and_cancel_need_a_reason_keep_the_row_and_check_the_version(
    services: Services, actors, rct: int
) -> None:  # type: ignore[no-untyped-def]
    nurse = actors[Role.NURSE]
    view = _book(services, nurse, rct, nurse_id=nurse.user_id)
    with pytest.raises(ValidationFailed):
        services.bookings.move(nurse, view.id, day=NEXT_MONDAY, start=dt.time(13, 0),
                               room="Room 1", nurse_id=nurse.user_id, reason=" ",
                               expected_version=view.version)  # fmt: skip
    moved = services.bookings.move(nurse, view.id, day=NEXT_MONDAY, start=dt.time(13, 0),
                                   room="Room 1", nurse_id=nurse.user_id, reason="pump serviced",
                                   expected_version=view.version)  # fmt: skip
    assert (moved.start_time, moved.room) == (dt.time(13, 0), "Room 1")
    with pytest.raises(ConflictError):
        services.bookings.cancel(nurse, view.id, reason="x", expected_version=view.version)
    cancelled = services.bookings.cancel(nurse, view.id, reason="patient unwell",
                                         expected_version=moved.version)  # fmt: skip
    assert cancelled.cancelled and cancelled.cancel_reason == "patient unwell"
    assert services.bookings.list(nurse, start=NEXT_MONDAY, end=NEXT_MONDAY) == []
    kept = services.bookings.list(nurse, start=NEXT_MONDAY, end=NEXT_MONDAY, include_cancelled=True)
    assert [b.id for b in kept] == [view.id]
    reasons = {
        r.reason for r in services.audit.entries(actors[Role.ADMINISTRATOR], table_name="bookings")
    }
    assert {"booking moved: pump serviced", "booking cancelled: patient unwell"} <= reasons
    # the freed slot can be booked again
    assert _book(services, nurse, rct, nurse_id=nurse.user_id).id != view.id


def test_another_sites_booking_is_not_found_and_not_listed(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    admin = Actor.system("test-admin")
    services.sites.add(admin, code="YAL", name="Yale", time_zone="America/New_York")
    services.sites.add(admin, code="BOS", name="Boston", time_zone="America/New_York")
    md, nurse = actors[Role.INVESTIGATOR], actors[Role.NURSE]
    bos = services.patients.register(md, protocol_name="rct", site="BOS")
    booking = _book(services, md, bos.id, nurse_id=actors[Role.CLINICIAN].user_id)
    services.sites.add_member(admin, username="nurse", site="YAL")
    yal_nurse = Actor(nurse.user_id, nurse.username, Role.NURSE, sites=frozenset({"YAL"}))
    assert services.bookings.list(yal_nurse, start=NEXT_MONDAY, end=NEXT_MONDAY) == []
    with pytest.raises(NotFound):
        services.bookings.get(yal_nurse, booking.id)
    with pytest.raises(NotFound):
        services.bookings.cancel(
            yal_nurse, booking.id, reason="x", expected_version=booking.version
        )
    with pytest.raises(NotFound):
        _book(services, yal_nurse, bos.id, nurse_id=nurse.user_id, room="Room 7")
    # Room 2 at Yale is another room than Room 2 at Boston
    yal = services.patients.register(md, protocol_name="rct", site="YAL")
    assert _book(services, yal_nurse, yal.id, nurse_id=nurse.user_id).room == "Room 2"


def test_the_blind_esketamine_only_for_a_clinic_patient_and_assessments_by_time_point(
    services: Services, actors, rct: int
) -> None:  # type: ignore[no-untyped-def]
    nurse, clinician = actors[Role.NURSE], actors[Role.CLINICIAN]
    with pytest.raises(ValidationFailed) as refused:
        _book(services, nurse, rct, kind="esketamine", nurse_id=nurse.user_id)
    assert refused.value.field == "kind"
    clinic = services.patients.register(clinician, protocol_name="clinical", site="YAL")
    session = _book(services, clinician, clinic.id, kind="esketamine", number=2,
                    nurse_id=nurse.user_id)  # fmt: skip
    assert session.title == "Esketamine session 2"
    with pytest.raises(ValidationFailed) as refused:
        _book(services, nurse, rct, kind="assessment", time_point="nope", start=dt.time(14, 0))
    assert refused.value.field == "time_point"
    visit = _book(services, nurse, rct, kind="assessment", number=None, time_point="baseline",
                  start=dt.time(14, 0))  # fmt: skip
    assert visit.title.startswith("Assessment: ") and visit.nurse_id is None
    # a clinician (open label) does not see the trial patient's bookings
    listed = services.bookings.list(clinician, start=NEXT_MONDAY, end=NEXT_MONDAY)
    assert {b.patient_id for b in listed} == {clinic.id}


def test_audit_verify_replays_a_moved_and_cancelled_booking(
    services: Services, actors, rct: int
) -> None:  # type: ignore[no-untyped-def]
    nurse = actors[Role.NURSE]
    view = _book(services, nurse, rct, nurse_id=nurse.user_id)
    moved = services.bookings.move(
        nurse, view.id, day=NEXT_MONDAY, start=dt.time(9, 15), room="Room 1",
        nurse_id=nurse.user_id, reason="moved", expected_version=view.version,
    )  # fmt: skip
    services.bookings.cancel(nurse, view.id, reason="unwell", expected_version=moved.version)
    report = services.audit.verify(actors[Role.ADMINISTRATOR])
    assert report.ok, report
