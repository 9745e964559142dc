"""A monitor's visit in the browser (issue 17), at a tablet: verify a record against source,
raise a query with the picker (a form, then a field shown with its value), the site sees it on the
screening page, answers it, the monitor closes it; a query on a verified assessment is answered by
a correction, and the monitor sees the record "changed" since the last visit — and no page shows
the allocation. Fixtures (server, browser, tablet) are the browser tests' own; screenshots go to
``test-artifacts/`` (or $KETAMINE_PTSD_TEST_SHOTS)."""

from __future__ import annotations

import pytest
from test_web_browser import (  # type: ignore[import-not-found]
    CANARY,
    CHROMIUM,
    _shot,
    browser,
    server,
    tablet,
)

__all__ = ["browser", "server", "tablet"]  # fixtures used by name below

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed"
    ),
]


def _pick(monitor, row_text: str, field: str, question: str):  # type: ignore[no-untyped-def]
    """From the verification row, raise a query on ``field`` with the picker."""
    from playwright.sync_api import expect

    monitor.locator("tr", has_text=row_text).get_by_role("link", name="Raise a query").click()
    fields = monitor.locator("#raise-query-form fieldset")
    expect(fields).to_be_visible()
    choice = fields.locator("label").filter(has=monitor.locator(f"input[value={field}]"))
    value = choice.locator(".value").inner_text()
    choice.locator("input").check()
    monitor.fill("#raise-query-form textarea[name=question]", question)
    return value


def test_a_monitor_raises_a_query_with_the_picker_the_site_answers_it_where_it_is_shown(
    tablet, server
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base, pid = server["base"], server["patient_id"]
    monitor = tablet("monitor")
    monitor.goto(f"{base}/patients/{pid}/monitoring")
    found = CANARY.search(monitor.content())
    assert found is None, monitor.content()[found.start() - 300 : found.end() + 100]
    consent_row = monitor.locator("tr", has_text="consent")
    expect(consent_row.locator(".badge")).to_have_text("unverified")
    consent_row.get_by_role("button", name="Verified against source").click()
    expect(monitor.locator("tr", has_text="consent").locator(".badge")).to_have_text("verified")
    # the picker: the consent's fields, each with its value; nothing to type but the question
    value = _pick(
        monitor, "consent", "consent_date", "The date on the form differs from the source"
    )
    assert value == "2026-03-01"
    _shot(monitor, "monitor-picker")
    monitor.get_by_role("button", name="Raise query").click()
    queries = monitor.locator("section.card", has_text="Queries")
    expect(queries.locator("text=The date on the form differs from the source")).to_be_visible()
    expect(queries).to_contain_text("consent_date = 2026-03-01")
    _shot(monitor, "monitor-visit")
    assert CANARY.search(monitor.content()) is None

    # the site sees the query where the value is shown, and answers it from there
    site = tablet("investigator")
    site.goto(f"{base}/patients/{pid}/screening-visit")
    shown = site.locator("#screening-queries")
    expect(shown).to_contain_text("The date on the form differs from the source")
    expect(shown).to_contain_text("consent date = 2026-03-01")
    _shot(site, "site-screening-query")
    shown.get_by_role("link", name="Answer it").click()
    card = site.locator("section.card", has_text="The date on the form differs")
    card.locator("textarea[name=answer]").fill("Checked: the form's date is the signed date")
    card.get_by_role("button", name="Answer").click()
    expect(
        site.locator("section.card", has_text="The date on the form differs").locator(".badge")
    ).to_have_text("answered")
    assert CANARY.search(site.content()) is None

    monitor.goto(f"{base}/queries")
    card = monitor.locator("section.card", has_text="The date on the form differs")
    expect(card).to_contain_text("Checked: the form's date is the signed date")
    card.get_by_role("button", name="Close: the answer is accepted").click()
    expect(
        monitor.locator("section.card", has_text="The date on the form differs").locator(".badge")
    ).to_have_text("closed")
    _shot(monitor, "monitor-query-closed")
    assert CANARY.search(monitor.content()) is None


def test_a_query_answered_by_a_correction_shows_changed_since_the_last_visit(
    tablet, server
) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from playwright.sync_api import expect

    from ketamine_ptsd.core.roles import Role
    from ketamine_ptsd.services.assessments import AssessmentInput
    from screening_support import items  # type: ignore[import-not-found]

    base, pid = server["base"], server["patient_id"]
    services, rater = server["services"], server["actors"][Role.OUTCOME_RATER]
    # the browser server records the baseline before infusion 1 (PROTOCOL.md §5, §8)
    recorded = [
        a
        for a in services.assessments.list(rater, pid)
        if (a.time_point, a.instrument) == ("baseline", "caps5_past_week")
    ]
    baseline = (
        recorded[0]
        if recorded
        else services.assessments.record(
            rater,
            pid,
            AssessmentInput("baseline", "caps5_past_week", dt.date(2026, 3, 2), items(20, 50)),
        )
    )
    row_text = "caps5_past_week at baseline"
    monitor = tablet("monitor")
    monitor.goto(f"{base}/patients/{pid}/monitoring")
    monitor.locator("tr", has_text=row_text).get_by_role(
        "button", name="Verified against source"
    ).click()
    expect(monitor.locator("tr", has_text=row_text).locator(".badge")).to_have_text("verified")
    total = _pick(monitor, row_text, "total", "Item 4 on the paper form differs from the record")
    monitor.get_by_role("button", name="Raise query").click()
    expect(monitor.locator("text=Item 4 on the paper form differs from the record")).to_be_visible()

    # the outcome rater corrects the item on the correction page, with the reason
    corrector = tablet("outcome-rater")
    corrector.goto(f"{base}/assessments/{baseline.id}/edit")
    item = corrector.locator("#f-4")
    typed = int(item.input_value())
    item.fill(str(typed - 1 if typed > 0 else 1))
    corrector.fill("textarea[name=reason]", "item 4 was misread from the paper form")
    corrector.get_by_role("button", name="Rescore and save the correction").click()
    corrector.wait_for_url(f"{base}/patients/{pid}?corrected={baseline.id}#score-table")

    # the site answers "corrected" (accepted: the value has changed since the query)
    site = tablet("investigator")
    site.goto(f"{base}/queries")
    card = site.locator("section.card", has_text="Item 4 on the paper form differs")
    card.locator("textarea[name=answer]").fill("Corrected item 4 from the paper form")
    card.locator("input[name=corrected][value=yes]").check()
    card.get_by_role("button", name="Answer").click()
    answered = site.locator("section.card", has_text="Item 4 on the paper form differs")
    expect(answered.locator(".badge")).to_have_text("answered")
    expect(answered).to_contain_text("(value corrected)")

    # the monitor's next visit: the verified record is "changed", with what and why
    monitor.goto(f"{base}/patients/{pid}/monitoring")
    expect(monitor.locator("tr", has_text=row_text).locator(".badge")).to_have_text("changed")
    changes = monitor.locator("section.card", has_text="Changed since your last verification")
    expect(changes.locator("text=item 4 was misread from the paper form").first).to_be_visible()
    expect(changes).to_contain_text(total)
    _shot(monitor, "monitor-changed-since-last-visit")
    assert CANARY.search(monitor.content()) is None
    monitor.locator("tr", has_text=row_text).get_by_role(
        "button", name="Verified against source"
    ).click()
    expect(monitor.locator("tr", has_text=row_text).locator(".badge")).to_have_text("verified")
    monitor.goto(f"{base}/queries")
    card = monitor.locator("section.card", has_text="Item 4 on the paper form differs")
    card.get_by_role("button", name="Close: the answer is accepted").click()
    expect(
        monitor.locator("section.card", has_text="Item 4 on the paper form differs").locator(
            ".badge"
        )
    ).to_have_text("closed")
    _shot(monitor, "monitor-correction-closed")


def test_the_sweep_raises_the_checks_and_the_nurse_sees_the_flag_on_the_value(
    tablet, server
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect
    from web_support import enrol  # type: ignore[import-not-found]

    from conduct_support import IMPLAUSIBLE_HR, unchecked_reading  # type: ignore[import-not-found]

    base, services, actors = server["base"], server["services"], server["actors"]
    pid = enrol(services, actors)  # a second patient, given infusion 1 before the checks
    unchecked_reading(services, actors, services.context.clock, pid, new_list=False)
    monitor = tablet("monitor")
    monitor.goto(f"{base}/queries")
    monitor.get_by_role("button", name="Run the edit checks over the record").click()
    expect(monitor.locator("#sweep-result")).to_contain_text(
        "2 new queries raised (vitals implausible 1, vitals incomplete 1)"
    )
    _shot(monitor, "monitor-sweep")
    nurse = tablet("nurse")
    nurse.goto(f"{base}/patients/{pid}/infusion/1#vitals")
    listed = nurse.locator("#vitals-queries")
    expect(listed).to_contain_text("2 queries on these readings")
    expect(listed).to_contain_text(f"HR = {IMPLAUSIBLE_HR} (the minute-5 reading)")
    flag = nurse.locator("#vitals-5 details.qmark").first
    flag.locator("summary").click()
    body = flag.locator(".qmark-body")
    expect(body).to_be_visible()
    expect(body).to_contain_text(f"raised on {IMPLAUSIBLE_HR} by the protocol's data checks")
    expect(body.get_by_role("link", name="Answer it")).to_be_visible()
    _shot(nurse, "nurse-vitals-query-flag")
    assert CANARY.search(nurse.content()) is None
