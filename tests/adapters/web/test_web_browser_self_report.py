"""The patient's self-report on a phone, in Debian's Chromium (issue 13; PROTOCOL.md §5, §7):
the clinician issues a link at the tablet; the patient opens it on a 390×844 phone, answers the
PCL-5 and the C-SSRS screener at risk, sees the protocol's crisis text; the alert is on the
investigator's Today page. Screenshots go to ``test-artifacts/`` (or ``$KETAMINE_PTSD_SHOTS``)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_browser import (  # type: ignore[import-not-found]
    ARTIFACTS,
    CANARY,
    CHROMIUM,
    _free_port,
    browser,
)
from web_support import PASSWORD, add_role_users, make_services  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import FixedClock
from ketamine_ptsd.services.assessments import AssessmentInput
from maintenance_support import clinic_responder  # type: ignore[import-not-found]
from screening_support import items  # type: ignore[import-not-found]

__all__ = ["browser"]  # the fixture used by name below

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed"
    ),
]

PHONE = {"width": 390, "height": 844}


def _shot(page, name: str, *, full: bool = True) -> None:  # type: ignore[no-untyped-def]
    folder = Path(os.environ.get("KETAMINE_PTSD_SHOTS", str(ARTIFACTS)))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-viewport.png"))
    if full:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[dict]:
    """A clinic responder (PCL-5 40 at baseline) in a served record."""
    import uvicorn

    path = tmp_path_factory.mktemp("browser-self-report") / "record.sqlite"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    database = open_database(url)
    clock = FixedClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    services = make_services(database, clock)
    actors = add_role_users(services)
    pid = clinic_responder(services, actors, clock)
    services.assessments.record(
        actors[Role.CLINICIAN], pid,
        AssessmentInput("baseline", "pcl5", dt.date(2026, 3, 2), items(20, 40)),
    )  # fmt: skip
    app = create_app(WebSettings(database_url=url, secret_key="browser"), services=services)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield {"base": f"http://127.0.0.1:{port}", "patient_id": pid, "services": services}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        database.dispose()


def _sign_in(browser, base: str, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return context, page


def test_a_patient_answers_at_risk_on_a_phone_and_the_alert_reaches_the_investigator(
    browser, clinic
) -> None:  # type: ignore[no-untyped-def]
    base, pid = clinic["base"], clinic["patient_id"]
    staff, page = _sign_in(browser, base, "clinician")
    page.goto(f"{base}/patients/{pid}")
    page.click("#issue-link")
    link = page.locator("#issued-link-url").input_value()
    _shot(page, "self-report-staff-link")
    staff.close()
    assert link.startswith(base + "/self-report/")

    phone_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    phone.goto(link)
    assert phone.locator("header nav").count() == 0  # no staff navigation
    text = phone.locator("body").inner_text()
    assert "CLN-" not in text and not CANARY.search(text)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways
    _shot(phone, "self-report-phone-form")
    for n, value in items(20, 24).items():
        phone.check(f"input[name=pcl5_{n}][value='{value}']")
    for key, answer in (("1", "yes"), ("2", "yes"), ("3", "yes"), ("4", "no"), ("5", "no"), ("6", "no")):  # fmt: skip
        phone.check(f"input[name=cssrs_{key}][value={answer}]")
    phone.click("#sr-submit")
    crisis = phone.locator("#crisis")
    crisis.wait_for()
    assert "988" in crisis.inner_text()
    assert phone.locator("#sr-total").inner_text() == "24"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(phone, "self-report-phone-crisis")
    phone.goto(link)  # the link worked once
    assert "cannot be used" in phone.locator("h1").inner_text()
    phone_context.close()

    desk, today = _sign_in(browser, base, "investigator")
    alerts = today.locator("#open-alerts")
    alerts.wait_for()
    assert "C-SSRS moderate suicide risk at self-report" in alerts.inner_text()
    assert "physician's review" in alerts.inner_text()
    _shot(today, "self-report-investigator-today", full=False)
    today.click(f"#open-alerts a[href^='/patients/{pid}']")
    card = today.locator("#self-report")
    card.wait_for()
    assert "self-report link" in card.inner_text() and "moderate" in card.inner_text()
    card.scroll_into_view_if_needed()
    _shot(today, "self-report-investigator-patient", full=False)
    desk.close()
