"""Browser tests in Debian's Chromium driven by Playwright (issue 5, "How it is checked").

The app runs under uvicorn in a thread on 127.0.0.1 (a free port) over a migrated SQLite file;
the browser is a tablet-sized 800×1280 viewport. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import PASSWORD, add_role_users, enrol, make_services  # type: ignore[import-not-found]

from bedside_support import record_baseline  # type: ignore[import-not-found]
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import FixedClock

CHROMIUM = Path("/usr/bin/chromium")
#: Where the screenshots go: ``test-artifacts/`` of the checkout, or $KETAMINE_PTSD_TEST_SHOTS.
ARTIFACTS = Path(
    os.environ.get("KETAMINE_PTSD_TEST_SHOTS")
    or Path(__file__).resolve().parents[3] / "test-artifacts"
)
CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam|\d\s?mg\b(?!/kg)", re.IGNORECASE)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[dict]:
    import uvicorn

    path = tmp_path_factory.mktemp("browser") / "record.sqlite"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    database = open_database(url)
    services = make_services(database, FixedClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)))
    actors = add_role_users(services)
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="B1", slots_per_stratum=8
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    record_baseline(services, actors, pid)  # CAPS-5, MADRS before infusion 1 (§5, §8)
    app = create_app(WebSettings(database_url=url, secret_key="browser"), services=services)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
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
            "patient_id": pid,
            "services": services,
            "actors": actors,
        }
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def tablet(browser, server):  # type: ignore[no-untyped-def]
    """``tablet(username)`` → a signed-in page on an 800×1280 touch viewport."""
    contexts = []

    def _open(username: str):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(server["base"] + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(server["base"] + "/")
        return page

    yield _open
    for context in contexts:
        context.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-viewport.png"))  # what the nurse sees
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # (scrolls the page)


def _rate_before(server) -> None:  # type: ignore[no-untyped-def]
    """The safety rater's ratings before the infusion (minute 0); their forms are covered by the
    route tests (test_web_infusion.py), so here they go straight through the service."""
    from ketamine_ptsd.core.instruments import get_instrument

    services, rater = server["services"], server["actors"][Role.SAFETY_RATER]
    for instrument, items in (
        ("cadss", {str(k): 0 for k in range(1, 24)}),
        ("bprs_positive", {"4": 1, "11": 1, "12": 1, "15": 1}),
        ("ymrs_item1", {"1": 0}),
        ("prise", {i.key: "no" for i in get_instrument("prise").items}),
    ):
        services.infusions.record_rating(
            rater, server["patient_id"], 1, minute=0, instrument=instrument, items=items
        )


def test_nurse_runs_an_infusion_day_with_a_bp_hold_and_a_vitals_alert(tablet, server) -> None:
    _rate_before(server)
    page = tablet("nurse")
    page.click(f"a[href='/patients/{server['patient_id']}/infusion/1']")
    reading = {"sys": "130", "dia": "80", "hr": "72", "spo2": "98", "rr": "14", "moaas": "5"}
    for key, value in reading.items():
        page.fill(f"#vitals input[name={key}]", value)
    page.click("#vitals-button")
    page.wait_for_url(re.compile(r".*saved=vitals.*"))
    assert "Reading recorded" in page.locator("#saved").inner_text()
    assert "Alex Testpatient" in page.locator("#identity").inner_text()  # two identifiers, §12
    page.check("input[name=name_confirmed]")
    page.check("input[name=date_of_birth_confirmed]")
    page.click("#identity-button")
    page.wait_for_url(re.compile(r".*saved=identity.*"))
    page.check("input[name=nil_by_mouth][value=yes]")
    page.check("input[name=benzo_taken][value=no]")
    page.check("input[name=pregnancy_test][value=not_applicable]")
    page.check("input[name=tox_recorded][value=negative]")
    for slot, reading in enumerate(["150/85", "145/92", "142/88"], start=1):
        systolic, diastolic = reading.split("/")
        page.fill(f"input[name=bp_{slot}_sys]", systolic)  # two numeric boxes per reading
        page.fill(f"input[name=bp_{slot}_dia]", diastolic)
    page.fill("input[name=weight_kg]", "70.3")
    # the bag as labelled (a blinded nurse: volume, no concentration) and the second staff
    # member's reading of the pump (PROTOCOL.md §4, §6; issue 12)
    assert page.locator("input[name=bag_concentration_mg_per_ml]").count() == 0
    page.fill("input[name=bag_lot]", "LOT-B1")
    page.fill("input[name=bag_expiry]", "2026-03-02")  # expiring today: still usable
    page.fill("input[name=bag_volume_ml]", "35.2")
    page.fill("input[name=bag_prepared_by]", "pharmacist")
    page.fill("input[name=witness_username]", "investigator")
    page.fill("input[name=witness_password]", PASSWORD)
    page.fill("input[name=pump_rate_ml_per_h]", "52.8")
    page.select_option("#supervising_physician_id", label="Test investigator")
    page.click("#start-button")
    page.wait_for_load_state()
    blocked = page.locator("#start-blocked")
    blocked.wait_for()
    assert blocked.is_visible()
    assert "exceeded at reading 3" in blocked.inner_text()
    _shot(page, "infusion-bp-hold")
    # The readings are in the record: shown as the morning's series, the boxes empty, the rest
    # of the form kept. A re-check after rest adds a reading; it cannot clear the morning (§6).
    assert "150/85, 145/92, 142/88, 130/80" in page.locator("#bp-morning").inner_text()
    assert page.input_value("input[name=bp_2_dia]") == ""
    assert page.input_value("input[name=bag_lot]") == "LOT-B1"
    page.fill("input[name=bp_1_sys]", "122")
    page.fill("input[name=bp_1_dia]", "78")
    page.fill("input[name=witness_password]", PASSWORD)
    page.click("#start-button")
    page.wait_for_load_state()
    page.locator("#start-blocked").wait_for()
    assert "122/78" in page.locator("#bp-morning").inner_text()
    assert page.locator("#release-form").count() == 0  # the nurse does not release a hold
    # The physician, on her own tablet, releases the hold with a reason and her password.
    doctor = tablet("investigator")
    doctor.goto(f"{server['base']}/patients/{server['patient_id']}/infusion/1")
    doctor.fill("#release-form input[name=reason]", "ok")
    doctor.click("#release-button")
    doctor.wait_for_load_state()
    doctor.locator("#error-release").wait_for()
    assert "Reason" in doctor.locator("#error-release").inner_text()
    assert doctor.input_value("#release-form input[name=reason]") == "ok"  # kept
    assert doctor.evaluate("document.activeElement.name") == "reason"  # focus on the field
    _shot(doctor, "infusion-release-refused")
    doctor.fill("#release-form input[name=reason]", "white-coat pattern; 122/78 after rest")
    doctor.fill("#release-form input[name=password]", PASSWORD)
    doctor.click("#release-button")
    doctor.wait_for_url(re.compile(r".*saved=release.*"))
    assert "released by the physician" in doctor.locator("#start-blocked").inner_text()
    _shot(doctor, "infusion-hold-released")
    # The nurse starts: the independent double-check (ISMP) still refuses her own pump reading.
    page.fill("input[name=witness_username]", "nurse")
    page.fill("input[name=witness_password]", PASSWORD)
    page.click("#start-button")
    page.wait_for_load_state()
    refused = page.locator("#field-error-witness_username")
    refused.wait_for()
    assert "not you" in refused.inner_text()
    # the error is named as the screen names the field, and the focus is on it
    assert "Second staff member's username" in page.locator("#error-checklist").inner_text()
    assert page.evaluate("document.activeElement.name") == "witness_username"
    _shot(page, "infusion-double-check-refused")
    assert page.input_value("input[name=pump_rate_ml_per_h]") == "52.8"  # typed input kept
    assert page.input_value("input[name=witness_password]") == ""  # the password is not
    page.fill("input[name=witness_username]", "investigator")
    page.fill("input[name=witness_password]", PASSWORD)
    page.click("#start-button")
    page.wait_for_url(re.compile(r".*saved=start.*"))
    assert page.locator("#started").is_visible()
    assert page.locator("#checked-by").inner_text().startswith("Test investigator")
    assert page.locator("#supervising-physician").inner_text() == "Test investigator"
    _shot(page, "infusion-double-checked")
    assert "35.2 mL" in page.locator("#dose").inner_text()
    assert "study drug" in page.locator("#dose").inner_text()
    server["services"].context.clock.advance(dt.timedelta(minutes=5))  # the 5-minute reading
    page.reload()
    page.select_option("#vitals-minute", "5")
    alerting = {"sys": "186", "dia": "104", "hr": "96", "spo2": "97", "rr": "16", "moaas": "5"}
    for key, value in alerting.items():
        page.fill(f"#vitals input[name={key}]", value)
    page.click("#vitals-button")
    page.wait_for_url(re.compile(r".*saved=vitals#alerts"))
    alerts = page.locator("#alerts")
    assert alerts.is_visible() and "systolic mmHg 186" in alerts.inner_text()
    # in view where it was raised, not at the top of a page scrolled to the vitals (item 10)
    top = page.evaluate("document.getElementById('alerts').getBoundingClientRect().top")
    assert -2 <= top < 1280 / 2, top
    _shot(page, "infusion-alert-in-view")
    assert "out" in (page.get_attribute("#vitals-5 td:nth-child(3)", "class") or "")
    page.reload()  # what was stored is what the page shows
    assert "systolic mmHg 186" in page.locator("#alerts").inner_text()
    assert page.input_value("#vitals input[name=sys]") == ""  # the saved draft was cleared
    assert "Not ready for discharge" in page.locator("#discharge").inner_text()
    _shot(page, "infusion-vitals-alert")
    assert CANARY.search(page.content()) is None
    # The alert is owned (§12): who was called, at what time (site time), what was done.
    form = page.locator("#alerts form.ack-form").first
    form.locator("input[name=physician_called]").fill("Dr Lee")
    form.locator("input[name=called_at]").fill("08:05")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    page.locator("#alerts .error").first.wait_for()
    assert "Action taken" in page.locator("#alerts .error").first.inner_text()
    assert page.evaluate("document.activeElement.name") == "action_taken"
    assert page.locator("#alerts input[name=physician_called]").first.input_value() == "Dr Lee"
    page.locator("#alerts input[name=action_taken]").first.fill("labetalol 5 mg IV as ordered")
    page.locator("#alerts button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*saved=alert.*"))
    assert page.locator("#alerts").count() == 0
    assert "Dr Lee called at 08:05" in page.locator("#alerts-acknowledged").inner_text()
    _shot(page, "infusion-alert-acknowledged")


def test_outcome_rater_enters_a_caps5_and_sees_the_score(tablet, server) -> None:
    page = tablet("outcome-rater")
    page.goto(f"{server['base']}/patients/{server['patient_id']}/assess/caps5_past_week")
    page.select_option("#time-point", "week1")  # the baseline was recorded before infusion 1
    for key in range(1, 21):
        page.fill(f"input[name=item_{key}]", "2")
    from playwright.sync_api import expect

    # the page script asks the scoring endpoint as items are typed (no eval: the CSP forbids it)
    expect(page.locator("#live-score")).to_contain_text("Total 40", timeout=5000)
    _shot(page, "caps5-live-score")
    page.click("#submit-assessment")
    assert page.locator("#result-total").inner_text() == "40"


def test_blinded_rater_pages_contain_no_allocation(tablet, server) -> None:
    page = tablet("outcome-rater")
    for path in ["/", "/patients", f"/patients/{server['patient_id']}"]:
        page.goto(server["base"] + path)
        assert CANARY.search(page.content()) is None, path
    _shot(page, "outcome-rater-patient")


def test_validation_error_keeps_what_was_typed(tablet, server) -> None:
    page = tablet("outcome-rater")
    page.goto(f"{server['base']}/patients/{server['patient_id']}/assess/madrs")
    typed = {k: str(k % 5) for k in range(1, 11)}
    typed[7] = "9"
    for key, value in typed.items():
        page.fill(f"input[name=item_{key}]", value)
    page.click("#submit-assessment")
    assert page.locator("#err-7").is_visible()
    assert "must be 0–6" in page.locator("#err-7").inner_text()
    for key, value in typed.items():
        assert page.input_value(f"input[name=item_{key}]") == value
    _shot(page, "madrs-validation-error")


def test_investigator_overrides_a_screen_failure_naming_the_criterion(tablet, server) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: eligibility only from the rules, or an override that names the failed
    criteria with a reason; tried with the wrong input first, at a tablet."""
    from ketamine_ptsd.services.patients import ConsentInput
    from ketamine_ptsd.services.screening import ScreeningVisitInput
    from screening_support import RCT_FACTS, caps5_past_month  # type: ignore[import-not-found]

    services, investigator = server["services"], server["actors"][Role.INVESTIGATOR]
    pid = services.patients.register(investigator, protocol_name="rct", site="YAL").id
    services.patients.record_consent(
        investigator, pid, ConsentInput("v1", dt.date(2026, 3, 1), True, "Dr Independent")
    )
    visit = ScreeningVisitInput(
        dt.date(2026, 3, 1), facts=RCT_FACTS, caps5_past_month=caps5_past_month(29)
    )
    services.screening.record_visit(investigator, pid, visit)
    page = tablet("investigator")
    page.goto(f"{server['base']}/patients/{pid}/screening-visit")
    assert page.inner_text("#decision-status") == "ineligible"
    form = page.locator("#override-form")
    form.locator("textarea[name=reason]").fill("marked impairment, one point short")
    form.locator("#override").click()  # no criterion ticked: refused, the reason kept
    assert "every failed or missing criterion" in page.inner_text("#override-form")
    assert page.input_value("#override-form textarea[name=reason]") == (
        "marked impairment, one point short"
    )
    _shot(page, "screening-override-refused")
    page.check("#override-form input[value=caps5_severity]")
    page.click("#override")
    assert "Eligible by investigator override" in page.inner_text("#override-shown")
    _shot(page, "screening-override-done")
    assert services.patients.get(investigator, pid).status == "eligible"


def test_a_wrong_reading_shows_every_error_at_its_box_with_focus_and_input_kept(
    tablet, server
) -> None:
    """Issue 12 (bedside): SpO₂ 150 and no sedation score: the page lists both errors with their
    human labels ("SpO₂ must be 30–100 %", never spo2_percent), the first refused box has the
    focus and is in view, and every value typed is still there."""
    page = tablet("nurse")
    page.goto(f"{server['base']}/patients/{server['patient_id']}/infusion/1")
    typed = {"sys": "128", "dia": "82", "hr": "75", "spo2": "150", "rr": "15"}
    for key, value in typed.items():
        page.fill(f"#vitals input[name={key}]", value)
    assert page.get_attribute("#vitals-sys", "placeholder") == "systolic mmHg"
    page.click("#vitals-button")
    page.wait_for_load_state()
    errors = page.locator("#error-vitals")
    errors.wait_for()
    text = errors.inner_text()
    assert "SpO₂ must be 30–100 %" in text and "Sedation (MOAA/S) is required" in text
    assert "spo2_percent" not in page.content()
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == "vitals-spo2"
    assert page.locator("#vitals-spo2").is_visible()
    box = page.locator("#vitals-spo2").bounding_box()
    assert box is not None and 0 <= box["y"] <= 1280  # in the viewport without scrolling
    assert page.get_attribute("#vitals-spo2", "aria-invalid") == "true"
    assert "SpO₂ must be 30–100 %" in page.locator("#vitals-spo2-error").inner_text()
    for key, value in typed.items():
        assert page.input_value(f"#vitals input[name={key}]") == value
    _shot(page, "infusion-vitals-field-errors")


def test_a_discharge_refused_then_completed_by_the_physician(tablet, server) -> None:
    """Issue 12 item 4 in the browser: BPRS positive 4 above baseline keeps the patient; the
    physician's refused sign-off says why; the recorded decision and the signature discharge."""
    from bedside_support import (  # type: ignore[import-not-found]
        day_ready_for_signoff,
        ready_for_infusion,
    )

    services, actors = server["services"], server["actors"]
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    ready_for_infusion(services, actors, pid, 1)
    services.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 72)
    )
    worse = {"bprs_positive": {"4": 2, "11": 2, "12": 2, "15": 2}}
    day_ready_for_signoff(services, actors, services.context.clock, pid, 1, latest=worse)
    page = tablet("investigator")
    page.goto(f"{server['base']}/patients/{pid}/infusion/1#discharge")
    listed = page.locator("#discharge-not-ready").inner_text()
    assert "emergent psychosis or mania" in listed
    page.fill("#discharge input[name=password]", PASSWORD)
    page.click("#signoff-button")
    page.wait_for_load_state()
    refused = page.locator("#error-signoff")
    refused.wait_for()
    assert "emergent psychosis or mania" in refused.inner_text()
    _shot(page, "discharge-refused")
    page.fill("#worsening-reason", "examined: calm, oriented, no psychotic features")
    page.click("#worsening-button")
    page.wait_for_url(re.compile(r".*saved=worsening.*"))
    assert page.locator("#discharge-ready").is_visible()
    page.fill("#discharge input[name=password]", PASSWORD)
    page.click("#signoff-button")
    page.wait_for_url(re.compile(r".*saved=signoff.*"))
    assert "Discharged at" in page.locator("#discharged").inner_text()
    _shot(page, "discharge-completed")


def test_the_nurse_reads_the_week_on_the_calendar(tablet, server) -> None:
    """Issue 13: the week's infusions by day, on a tablet, with no arm on the page."""
    services, actors = server["services"], server["actors"]
    study_id = services.patients.get(actors[Role.NURSE], server["patient_id"]).study_id
    page = tablet("nurse")
    page.click("header a[href='/calendar']")
    page.wait_for_url(re.compile(r".*/calendar$"))
    monday = page.locator("#day-2026-03-02")
    assert "Infusion 1" in monday.inner_text()
    mine = page.locator(".cal-infusion", has_text=study_id)
    assert mine.count() == 3  # Monday, Wednesday, Friday (§5)
    _shot(page, "calendar-week")
    page.click("#cal-next")
    page.wait_for_url(re.compile(r".*start=2026-03-09.*"))
    assert page.locator(".cal-infusion", has_text=study_id).count() == 3
    assert CANARY.search(page.content()) is None
