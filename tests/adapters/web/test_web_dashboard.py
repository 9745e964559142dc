"""The trial dashboard (issue 5; PROTOCOL.md §3, §7, §10): enrolment against target, CONSORT
counts, visit completeness per time point, overdue visits and safety events, with no arm."""

from __future__ import annotations

import datetime as dt
import re

from web_support import enrol, sqlite_only  # type: ignore[import-not-found]

from bedside_support import vitals_input  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.infusions import AdverseEventInput

CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam|\d\s?mg\b(?!/kg)|mg/mL", re.IGNORECASE)


def _trial(services, actors, clock) -> list[int]:  # type: ignore[no-untyped-def]
    """Three allocated patients (infusion 1 on Monday 2 March 2026), one screen failure, one
    refusal; an alert reading (systolic 190) and a serious AE for the first patient; the
    baseline assessments of the first patient; then the clock moves to 20 March."""
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="dash", slots_per_stratum=8
    )
    ids = []
    for _ in range(3):
        pid = enrol(services, actors)
        services.randomization.allocate(
            actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
        )
        ids.append(pid)
    investigator = actors[Role.INVESTIGATOR]
    for outcome in ("screen_failed", "declined"):
        patient = services.patients.register(investigator, protocol_name="rct", site="YAL")
        services.patients.record_screening_outcome(
            investigator,
            patient.id,
            outcome=outcome,
            decided_on=dt.date(2026, 3, 1),
            reasons=["CAPS-5 below the entry threshold"],
        )
    nurse = actors[Role.NURSE]
    services.infusions.record_vitals(nurse, ids[0], 1, vitals_input(0, 190, 82, 72, 98))
    services.infusions.record_vitals(nurse, ids[1], 1, vitals_input(0, 128, 82, 72, 98))
    services.infusions.record_adverse_event(
        investigator,
        ids[0],
        AdverseEventInput(
            "syncope", dt.date(2026, 3, 2), True, "severe", "possible", "none", "recovered", 1
        ),
    )
    clock.set(dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC))
    return ids


@sqlite_only
def test_dashboard_counts_flow_visits_and_safety_without_an_arm(
    login, services, actors, clock
) -> None:
    _trial(services, actors, clock)
    for role in (Role.INVESTIGATOR, Role.MONITOR):
        page = login(role).get("/dashboard")
        assert page.status_code == 200
        html = page.text
        assert CANARY.search(html) is None, role
        consort = re.search(r'id="consort".*?<tbody>\s*<tr>(.*?)</tr>', html, re.DOTALL)
        assert consort is not None
        cells = re.findall(r"<td>(\d+)</td>", consort.group(1))
        # registered, screened, ineligible, declined, randomized, withdrawn
        assert cells == ["5", "5", "1", "1", "3", "0"]
        assert "3</strong> of <strong>" in html  # enrolment against the protocol's target
        # Visits: on 20 March every allocated patient's baseline window (2 March) has closed
        # with nothing recorded: 3 overdue baselines, listed with their patient.
        baseline = re.search(r"<td>Baseline[^<]*</td>((?:<td[^>]*>[^<]*</td>){5})", html)
        assert baseline is not None
        numbers = re.findall(r">([^<]*)</td>", baseline.group(1))
        assert numbers[:4] == ["0", "0", "3", "0"]  # done, due, overdue, upcoming
        assert html.count("YAL-0001") >= 1 and "Overdue visits" in html
        assert "Adverse events: <strong>1</strong> · serious: <strong>1</strong>" in html
        assert "<strong>1</strong> of 2 readings out of range" in html
        # By site (issue 17): one site, 5 registered, 3 randomized; the monitor sees the
        # verification count of the critical records (none verified yet)
        by_site = re.search(r'id="sites".*?<tbody>\s*<tr>(.*?)</tr>', html, re.DOTALL)
        assert by_site is not None
        cells = re.findall(r"<td>([^<]*)</td>", by_site.group(1))
        assert cells[:4] == ["YAL", "5", "3", "0"], cells
        if role is Role.MONITOR:
            assert cells[4].startswith("0 of ")


@sqlite_only
def test_dashboard_marks_sections_a_role_may_not_read(login, services, actors, clock) -> None:
    _trial(services, actors, clock)
    html = login(Role.STATISTICIAN).get("/dashboard").text  # no infusion-day vitals
    assert "Infusion-day vital signs are not available to your role" in html
    assert "Adverse events: <strong>1</strong>" in html
    assert CANARY.search(html) is None


@sqlite_only
def test_a_patient_whose_calendar_cannot_be_planned_is_listed_not_fatal(
    login, services, actors, clock
) -> None:
    """An allocation dated on a day the protocol gives no infusions (a Sunday for rct) makes that
    patient's calendar unplannable; the dashboard names the patient and the reason and still
    shows everyone else (it answered 422 for the whole page before)."""
    _trial(services, actors, clock)
    pid = enrol(services, actors)
    clock.set(dt.datetime(2026, 3, 8, 9, tzinfo=dt.UTC))  # a Sunday: allocation is "today"
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 8)
    )
    clock.set(dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC))
    page = login(Role.INVESTIGATOR).get("/dashboard")
    assert page.status_code == 200
    assert "Calendars that cannot be planned" in page.text
    assert "2026-03-08 is a Sunday" in page.text
    assert "Overdue visits" in page.text


@sqlite_only
def test_dashboard_reflects_a_write_at_once(login, services, actors, clock) -> None:
    """The dashboard is reused per role only while the record is unchanged (keyed on the audit
    chain's head): a new adverse event shows on the next load."""
    ids = _trial(services, actors, clock)
    client = login(Role.INVESTIGATOR)
    assert "Adverse events: <strong>1</strong>" in client.get("/dashboard").text
    services.infusions.record_adverse_event(
        actors[Role.INVESTIGATOR],
        ids[1],
        AdverseEventInput(
            "headache", dt.date(2026, 3, 2), False, "mild", "possible", "none", "recovered", 1
        ),
    )
    assert "Adverse events: <strong>2</strong>" in client.get("/dashboard").text
