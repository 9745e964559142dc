"""The clinic's calendar and the overdue assessments on the Today page (issue 13)."""

from __future__ import annotations

import datetime as dt
import re

from web_support import enrol, sqlite_only  # type: ignore[import-not-found]

from bedside_support import record_baseline  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role

CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam|\d\s?mg\b(?!/kg)|mg/mL", re.IGNORECASE)


def _allocated(services, actors) -> int:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="C1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    return pid


@sqlite_only
def test_the_week_shows_the_series_and_the_assessments(login, services, actors, clock) -> None:  # type: ignore[no-untyped-def]
    _allocated(services, actors)  # infusion 1 on Monday 2 March (the clock's day)
    nurse = login(Role.NURSE)
    page = nurse.get("/calendar").text
    assert "week of Mon 02 Mar 2026" in page
    monday = page.split('id="day-2026-03-02"', 1)[1].split("</section>", 1)[0]
    assert "YAL-0001" in monday and "Infusion 1" in monday and "planned" in monday
    week = re.findall(r"Infusion (\d)", page)
    assert week == ["1", "2", "3"]  # Monday, Wednesday, Friday (PROTOCOL.md §5)
    following = nurse.get("/calendar?start=2026-03-09").text
    assert re.findall(r"Infusion (\d)", following) == ["4", "5", "6"]
    assert "Week 1" in following  # the week-1 time point, just before infusion 4
    assert "due" not in re.findall(r'class="tag ?">(\w+)<', following)  # the nurse reads no scores
    day = nurse.get("/calendar?view=day&start=2026-03-04").text
    assert re.findall(r"Infusion (\d)", day) == ["2"] and "Week view" in day
    assert CANARY.search(page) is None  # the blind: no arm on the calendar
    assert nurse.get("/calendar?start=not-a-date").status_code == 200  # today's week instead


@sqlite_only
def test_an_assessment_whose_window_closed_is_overdue_on_today(
    login, services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    pid = _allocated(services, actors)
    record_baseline(services, actors, pid)  # CAPS-5 and MADRS; the rest of baseline is missing
    clock.set(dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC))  # the baseline window (2 March) closed
    rater = login(Role.OUTCOME_RATER)
    today = rater.get("/").text
    assert 'id="overdue"' in today
    section = today.split('id="overdue"', 1)[1].split("</section>", 1)[0]
    assert "YAL-0001" in section and "cssrs" in section and "madrs</" not in section
    calendar = rater.get("/calendar?start=2026-03-02").text
    assert "overdue" in calendar
    assert 'id="overdue"' not in login(Role.PHARMACIST).get("/").text  # not the pharmacy's task
