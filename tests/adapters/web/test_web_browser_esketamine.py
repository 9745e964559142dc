"""A nurse runs an esketamine session to discharge in the browser, at a tablet (issue 13;
PROTOCOL.md §8, §11): the REMS fields before dosing (a wrong input first: the field is named and
what was typed is kept), readings and an event, the 2-hour rule refusing an early end, the
prescriber's discharge, the Today page's unsubmitted form, the printable form. Fixtures (browser,
screenshots) are the browser tests' own; the server is this module's clinic responder.
Screenshots also go to ``KETAMINE_PTSD_SHOTS`` when set."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_browser import CHROMIUM, _free_port, _shot, browser  # type: ignore[import-not-found]
from web_support import PASSWORD, add_role_users, make_services  # type: ignore[import-not-found]

from esketamine_support import SESSION_DAY  # type: ignore[import-not-found]
from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from maintenance_support import clinic_responder  # type: ignore[import-not-found]

__all__ = ["browser"]  # a fixture used by name below

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

    path = tmp_path_factory.mktemp("esketamine") / "record.sqlite"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    database = open_database(url)
    clock = FixedClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    services = make_services(database, clock)
    actors = add_role_users(services)
    pid = clinic_responder(services, actors, clock)
    clock.set(SESSION_DAY)
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
        yield {"base": f"http://127.0.0.1:{port}", "patient_id": pid, "clock": clock}
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


def _at(clinic, page, minutes: int) -> None:  # type: ignore[no-untyped-def]
    """The clock at ``minutes`` after the first device, in steps the idle timeout allows."""
    clock = clinic["clock"]
    target = SESSION_DAY + dt.timedelta(minutes=minutes)
    session = f"{clinic['base']}/patients/{clinic['patient_id']}/esketamine/1"
    while clock.now() < target:
        clock.set(min(target, clock.now() + dt.timedelta(minutes=20)))
        page.goto(session)  # a GET: never the last form again


def _reading(clinic, nurse, minute: int, s: int, d: int, spo2: str, moaas: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _at(clinic, nurse, minute)
    reading = nurse.locator("#reading-form")
    reading.locator("input[name=systolic]").fill(str(s))
    reading.locator("input[name=diastolic]").fill(str(d))
    reading.locator("input[name=spo2_percent]").fill(spo2)
    reading.locator("select[name=moaas]").select_option(moaas)
    nurse.click("#save-reading")
    expect(nurse.locator("#readings")).to_contain_text(f"{s}/{d}")


def test_a_nurse_runs_an_esketamine_session_to_discharge(tablet, clinic) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base, pid = clinic["base"], clinic["patient_id"]
    nurse = tablet("nurse")
    nurse.goto(f"{base}/patients/{pid}")
    nurse.click("#esketamine-link")
    expect(nurse.locator("h1")).to_contain_text("Esketamine sessions")
    form = nurse.locator("#start-form")
    form.locator("input[name=rems_patient_enrolled][value=yes]").check()
    form.locator("input[name=rems_patient_id]").fill("REMS-000123")
    form.locator("input[name=setting_name]").fill("Clinic suite B")
    form.locator("input[name=setting_certified][value=yes]").check()
    form.locator("input[name=monitoring_provider]").fill("Nurse Okafor")
    form.locator("input[name=prescriber]").fill("Dr Ames")
    form.locator("input[value=opioid]").check()
    form.locator("input[name=dose_choice][value='56']").check()
    form.locator("input[name=bp_before_systolic]").fill("132")
    form.locator("input[name=bp_before_diastolic]").fill("84")
    form.locator("input[name=spo2_before]").fill("98")
    form.locator("input[name=first_device_at]").fill("09:00")
    # a busy nurse forgets the device lot: the field is named and nothing typed is lost
    nurse.click("#start-session")
    expect(nurse.locator("#start .error")).to_contain_text("device_lot")
    assert nurse.input_value("#start-form input[name=setting_name]") == "Clinic suite B"
    assert nurse.is_checked("#start-form input[value=opioid]")
    assert nurse.input_value("#start-form input[name=bp_before_systolic]") == "132"
    _snap(nurse, "esketamine-start-missing-lot")
    nurse.fill("#start-form input[name=device_lot]", "LOT-24A17")
    nurse.click("#start-session")
    expect(nurse.locator("h1")).to_contain_text("Esketamine session 1")
    expect(nurse.locator("#end-refusals")).to_contain_text("two_hour_monitoring")
    _snap(nurse, "esketamine-session-started")

    _at(clinic, nurse, 12)
    event = nurse.locator("#event-form")
    event.locator("select[name=kind]").select_option("dissociation")
    event.locator("input[name=onset_at]").fill("09:10")
    event.get_by_role("button", name="Record event").click()
    expect(nurse.locator("#events")).to_contain_text("Dissociation from 09:10 — not resolved")
    _reading(clinic, nurse, 40, 146, 88, "97", "4")
    _at(clinic, nurse, 56)
    resolve = nurse.locator("#events form.row-form")
    resolve.locator("input[name=resolved_at]").fill("09:55")
    resolve.get_by_role("button", name="Resolved").click()
    expect(nurse.locator("#events")).to_contain_text("Dissociation from 09:10, resolved 09:55")
    _reading(clinic, nurse, 112, 128, 80, "98", "5")
    # at 1 h 59 the end is refused by the 2-hour rule, with its §
    _at(clinic, nurse, 119)
    nurse.fill("#end-form input[name=ready_to_leave_at]", "10:30")
    nurse.click("#end-monitoring")
    expect(nurse.locator("#end .error")).to_contain_text("two_hour_monitoring")
    expect(nurse.locator("#end .error")).to_contain_text("PROTOCOL.md §11")
    assert nurse.input_value("#end-form input[name=ready_to_leave_at]") == "10:30"
    _snap(nurse, "esketamine-end-refused-before-two-hours")
    _at(clinic, nurse, 120)
    nurse.fill("#end-form input[name=ready_to_leave_at]", "10:30")
    nurse.click("#end-monitoring")
    expect(nurse.locator("#end")).to_contain_text("total 120 min")
    expect(nurse.locator("#discharged")).to_contain_text("awaiting the prescriber")

    prescriber = tablet("clinician")
    prescriber.goto(f"{base}/patients/{pid}/esketamine/1")
    prescriber.fill("#discharge-form input[name=password]", PASSWORD)
    prescriber.click("#discharge")
    expect(prescriber.locator("#discharged")).to_contain_text("by Test clinician")
    _snap(prescriber, "esketamine-discharged")

    nurse.goto(f"{base}/")
    expect(nurse.locator("#rems-forms")).to_contain_text("esketamine session 1")
    _snap(nurse, "esketamine-today-form-due")
    nurse.goto(f"{base}/patients/{pid}/esketamine/1/form")
    expect(nurse.locator("#rems-form")).to_contain_text("Blood pressure about 40 min")
    expect(nurse.locator("#rems-form")).to_contain_text("146/88 mmHg at minute 40")
    nurse.emulate_media(media="print")
    _snap(nurse, "esketamine-form-print")
    nurse.emulate_media(media="screen")
    nurse.goto(f"{base}/patients/{pid}/esketamine/1")
    nurse.click("#submit")
    expect(nurse.locator("#form")).to_contain_text("Submitted")
    nurse.goto(f"{base}/")
    expect(nurse.locator("#rems-forms")).to_have_count(0)
