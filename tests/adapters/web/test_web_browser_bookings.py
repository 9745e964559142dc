"""A nurse books next week's maintenance infusion in Room 2 with a nurse, at a tablet, and sees
it in the calendar's day by room (issue 13). A wrong input first: the field is named in words and
what was typed is kept. Fixtures (browser, screenshots) are the browser tests' own; the server is
this module's clinic patient in IV maintenance. Screenshots also go to ``KETAMINE_PTSD_SHOTS``."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_browser import CHROMIUM, _free_port, _shot, browser  # type: ignore[import-not-found]
from web_support import PASSWORD, add_role_users, make_services  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.roles import Role
from maintenance_support import WEEK2, clinic_responder  # type: ignore[import-not-found]

__all__ = ["browser"]  # a fixture used by name below

CANARY = re.compile(r"midazolam", re.IGNORECASE)  # open label: the drug may be named, no arm

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed"
    ),
]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[dict]:  # type: ignore[type-arg]
    import uvicorn

    from ketamine_ptsd.services import FixedClock

    path = tmp_path_factory.mktemp("bookings") / "record.sqlite"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    database = open_database(url)
    clock = FixedClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    services = make_services(database, clock)
    actors = add_role_users(services)
    pid = clinic_responder(services, actors, clock)  # the clock is now Monday 16 March, 09:00
    clinician = actors[Role.CLINICIAN]
    services.maintenance.start(
        clinician, pid, option_id="iv_ketamine_periodic", interval_days=7,
        starts_on=WEEK2.date(), reason=None,
    )  # fmt: skip
    schedule = services.maintenance.schedule(clinician, pid)
    app = create_app(WebSettings(database_url=url, secret_key="browser"), services=services)
    port = _free_port()
    uv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield {
            "base": f"http://127.0.0.1:{port}",
            "study_id": services.patients.get(clinician, pid).study_id,
            "number": schedule.next_number,
            "nurse_id": actors[Role.NURSE].user_id,
        }
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        database.dispose()


@pytest.fixture
def tablet(browser, clinic):  # type: ignore[no-untyped-def]
    contexts = []

    def _open(username: str):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(clinic["base"] + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(clinic["base"] + "/")
        return page

    yield _open
    for context in contexts:
        context.close()


def _snap(page, name: str) -> None:  # type: ignore[no-untyped-def]
    _shot(page, name)
    target = os.environ.get("KETAMINE_PTSD_SHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


def test_a_nurse_books_next_weeks_maintenance_infusion_in_room_2(tablet, clinic) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    assert clinic["number"] is not None, "the patient has a maintenance infusion due"
    next_monday = (WEEK2 + dt.timedelta(days=7)).date().isoformat()
    nurse = tablet("nurse")
    nurse.click("header a[href='/calendar']")
    nurse.wait_for_url(re.compile(r".*/calendar$"))
    form = nurse.locator("#book-form")
    form.locator("#book-study-id").fill(clinic["study_id"])
    form.locator("#book-kind").select_option("infusion")
    form.locator("#book-number").fill(str(clinic["number"]))
    form.locator("#book-day").fill(next_monday)
    form.locator("#book-start").fill("09:30")
    form.locator("#book-minutes").fill("240")
    form.locator("#book-room").fill("Room 2")
    nurse.click("#book-submit")  # no nurse chosen: refused at the field, in words
    expect(nurse.locator("#book")).to_contain_text("Nurse: a nurse to monitor")
    expect(nurse.locator("#book-room")).to_have_value("Room 2")  # what was typed is kept
    expect(nurse.locator("#book-start")).to_have_value("09:30")
    nurse.locator("#book").scroll_into_view_if_needed()
    _snap(nurse, "booking-refused")
    nurse.locator("#book-nurse").select_option(str(clinic["nurse_id"]))
    nurse.click("#book-submit")
    nurse.wait_for_url(re.compile(rf".*view=rooms&start={next_monday}.*"))
    expect(nurse.locator("#booking-saved")).to_contain_text("Booking booked")
    grid = nurse.locator("#room-grid")
    expect(grid.locator("thead")).to_contain_text("Room 2")
    cell = grid.locator("td.room-booked")
    expect(cell).to_contain_text(clinic["study_id"])
    expect(cell).to_contain_text(f"Infusion {clinic['number']}")
    expect(cell).to_contain_text("09:30–13:30")
    expect(cell).to_contain_text("Test nurse")
    nurse.evaluate("window.scrollTo(0, 0)")
    _snap(nurse, "booking-room-view")
    # the week's view names the room and the nurse; the room filter keeps it
    nurse.goto(f"{clinic['base']}/calendar?start={next_monday}&room=Room%202")
    booked = nurse.locator(".cal-booking")
    expect(booked).to_have_count(1)
    expect(booked.locator(".cal-room")).to_have_text("Room 2")
    _snap(nurse, "booking-week-filtered")
    assert CANARY.search(nurse.content()) is None
