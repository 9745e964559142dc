"""Bookings on the calendar and at /api/v1/bookings (issue 13): the form, the room view, the
filters, move and cancel, and the REST API."""

from __future__ import annotations

import datetime as dt
import re

from web_support import PASSWORD, csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role

CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam|\d\s?mg\b(?!/kg)|mg/mL", re.IGNORECASE)


def _form(page: str, **values: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf_of(page), "study_id": "YAL-0001", "kind": "infusion", "number": "3",
        "time_point": "", "day": "2026-03-09", "start": "09:00", "minutes": "180",
        "room": "Room 2", "nurse_id": "",
    }  # fmt: skip
    data.update(values)
    return data


@sqlite_only
def test_book_on_the_calendar_see_it_by_room_filter_move_and_cancel(
    login, services, actors
) -> None:  # type: ignore[no-untyped-def]
    enrol(services, actors)
    nurse_id = str(actors[Role.NURSE].user_id)
    web = login(Role.NURSE)
    page = web.get("/calendar?start=2026-03-09").text
    assert 'id="book-form"' in page and "Test nurse" in page
    # refused: no nurse for an infusion — the field named in words, what was typed kept
    refused = web.post("/calendar/bookings", data=_form(page, room="Room 7"))
    assert refused.status_code == 422
    assert "Nurse: a nurse to monitor" in refused.text and 'value="Room 7"' in refused.text
    done = web.post(
        "/calendar/bookings", data=_form(page, nurse_id=nurse_id), follow_redirects=False
    )
    assert done.status_code == 303 and "view=rooms&start=2026-03-09" in done.headers["location"]
    rooms = web.get(done.headers["location"]).text
    grid = rooms.split('id="room-grid"', 1)[1].split("</table>", 1)[0]
    assert "Room 2" in grid and "YAL-0001" in grid and "09:00–12:00" in grid
    assert "Infusion 3" in grid and "Test nurse" in grid
    assert CANARY.search(rooms) is None  # the blind: a booking names no drug
    # a second booking of the room overlapping by a minute is refused naming the other's time
    again = web.post(
        "/calendar/bookings",
        data=_form(rooms, start="11:59", number="4", nurse_id=str(actors[Role.CLINICIAN].user_id)),
    )
    assert again.status_code == 422 and "Room: Room 2 is already booked" in again.text
    assert "09:00–12:00" in again.text
    # the filters
    assert "YAL-0001" in web.get("/calendar?start=2026-03-09&room=room%202").text
    other_room = web.get("/calendar?start=2026-03-09&room=Room%209").text
    assert "Infusion 3" not in other_room
    assert "Infusion 3" in web.get(f"/calendar?start=2026-03-09&nurse={nurse_id}").text
    # move, then cancel (each with its reason)
    [booking] = services.bookings.list(
        actors[Role.NURSE], start=dt.date(2026, 3, 9),
        end=dt.date(2026, 3, 9),
    )  # fmt: skip
    no_reason = web.post(
        f"/calendar/bookings/{booking.id}/move",
        data={"csrf_token": csrf_of(rooms), "day": "2026-03-09", "start": "13:00",
              "room": "Room 1", "nurse_id": nurse_id, "reason": "", "version": "1"},
    )  # fmt: skip
    assert no_reason.status_code == 422 and "Reason: an edit" in no_reason.text
    moved = web.post(
        f"/calendar/bookings/{booking.id}/move",
        data={"csrf_token": csrf_of(rooms), "day": "2026-03-09", "start": "13:00",
              "room": "Room 1", "nurse_id": nurse_id, "reason": "pump serviced", "version": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert moved.status_code == 303
    assert "13:00–16:00" in web.get("/calendar?view=rooms&start=2026-03-09").text
    cancelled = web.post(
        f"/calendar/bookings/{booking.id}/cancel",
        data={"csrf_token": csrf_of(rooms), "reason": "patient unwell", "version": "2"},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    assert "Infusion 3" not in web.get("/calendar?view=rooms&start=2026-03-09").text
    # without the CSRF token nothing is booked
    assert web.post("/calendar/bookings", data={"study_id": "YAL-0001"}).status_code == 403


@sqlite_only
def test_an_outcome_rater_sees_no_booking_form_and_cannot_book(login, services, actors) -> None:  # type: ignore[no-untyped-def]
    enrol(services, actors)
    rater = login(Role.OUTCOME_RATER)
    page = rater.get("/calendar")
    assert page.status_code == 200 and 'id="book-form"' not in page.text


@sqlite_only
def test_the_rest_api_books_lists_moves_and_cancels(client, services, actors) -> None:  # type: ignore[no-untyped-def]
    patient_id = enrol(services, actors)
    token = client.post(
        "/api/v1/auth/login", json={"username": "nurse", "password": PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    nurse_id = actors[Role.NURSE].user_id
    body = {
        "patient_id": patient_id, "kind": "infusion", "number": 2, "day": "2026-03-09",
        "start_time": "09:00", "minutes": 120, "room": "Room 2", "nurse_id": nurse_id,
    }  # fmt: skip
    created = client.post("/api/v1/bookings", json=body, headers=headers)
    assert created.status_code == 201, created.text
    made = created.json()
    assert made["title"] == "Infusion 2" and made["end_time"] == "11:00:00"
    overlap = client.post(
        "/api/v1/bookings", json=body | {"room": "Room 3", "start_time": "10:30"}, headers=headers
    )
    assert overlap.status_code == 422 and "09:00–11:00" in overlap.text
    listed = client.get(
        "/api/v1/bookings?from=2026-03-09&to=2026-03-09&room=Room%202", headers=headers
    ).json()
    assert [b["id"] for b in listed] == [made["id"]]
    assert (
        client.get(
            f"/api/v1/bookings?from=2026-03-09&nurse={nurse_id + 1000}", headers=headers
        ).json()
        == []
    )
    moved = client.post(
        f"/api/v1/bookings/{made['id']}/move",
        json={"day": "2026-03-10", "start_time": "08:30", "room": "Room 1",
              "nurse_id": nurse_id, "reason": "room closed", "version": 1},
        headers=headers,
    )  # fmt: skip
    assert moved.status_code == 200 and moved.json()["room"] == "Room 1"
    stale = client.post(
        f"/api/v1/bookings/{made['id']}/cancel",
        json={"reason": "x", "version": 1}, headers=headers,
    )  # fmt: skip
    assert stale.status_code == 409
    cancelled = client.post(
        f"/api/v1/bookings/{made['id']}/cancel",
        json={"reason": "patient unwell", "version": 2}, headers=headers,
    )  # fmt: skip
    assert cancelled.status_code == 200 and cancelled.json()["cancel_reason"] == "patient unwell"
    rater = client.post(
        "/api/v1/auth/login", json={"username": "outcome-rater", "password": PASSWORD}
    ).json()["token"]
    refused = client.post(
        "/api/v1/bookings", json=body, headers={"Authorization": f"Bearer {rater}"}
    )
    assert refused.status_code == 403
