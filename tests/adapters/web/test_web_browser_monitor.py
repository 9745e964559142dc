"""A monitor's visit in the browser (issue 17), at a tablet: verify a record against source,
raise a query (a wrong field first), the site answers it, the monitor closes it — and no page
shows the allocation. Fixtures (server, browser, tablet) are the browser tests' own."""

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


def test_a_monitor_verifies_raises_a_query_and_closes_it_once_answered(tablet, server) -> None:  # type: ignore[no-untyped-def]
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
    record_id = (
        monitor.locator("tr", has_text="consent").locator("td").nth(1).inner_text().split()[-1]
    )
    # a tired monitor types the field wrong: the error says which, and the question is kept
    monitor.fill("#raise-query input[name=table_name]", "consents")
    monitor.fill("#raise-query input[name=record_id]", record_id)
    monitor.fill("#raise-query input[name=field]", "signed_date")
    monitor.fill(
        "#raise-query textarea[name=question]", "The date on the form differs from the source"
    )
    monitor.get_by_role("button", name="Raise query").click()
    expect(monitor.locator("#monitoring-error")).to_contain_text("field")
    assert monitor.input_value("#raise-query textarea[name=question]") == (
        "The date on the form differs from the source"
    )
    _shot(monitor, "monitor-query-wrong-field")
    monitor.fill("#raise-query input[name=field]", "consent_date")
    monitor.get_by_role("button", name="Raise query").click()
    expect(monitor.locator("text=The date on the form differs from the source")).to_be_visible()
    _shot(monitor, "monitor-visit")
    assert CANARY.search(monitor.content()) is None

    site = tablet("investigator")
    site.goto(f"{base}/queries")
    card = site.locator("section.card", has_text="The date on the form differs")
    card.locator("textarea[name=answer]").fill("Checked: the form's date is the signed date")
    card.get_by_role("button", name="Answer").click()
    expect(
        site.locator("section.card", has_text="The date on the form differs").locator(".badge")
    ).to_have_text("answered")

    monitor.goto(f"{base}/queries")
    card = monitor.locator("section.card", has_text="The date on the form differs")
    card.get_by_role("button", name="Close: the answer is accepted").click()
    expect(
        monitor.locator("section.card", has_text="The date on the form differs").locator(".badge")
    ).to_have_text("closed")
    _shot(monitor, "monitor-query-closed")
    assert CANARY.search(monitor.content()) is None


def test_the_monitor_sees_what_changed_since_their_last_verification(tablet, server) -> None:  # type: ignore[no-untyped-def]
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
    monitor = tablet("monitor")
    monitor.goto(f"{base}/patients/{pid}/monitoring")
    row = monitor.locator("tr", has_text="caps5_past_week at baseline")
    row.get_by_role("button", name="Verified against source").click()
    expect(
        monitor.locator("tr", has_text="caps5_past_week at baseline").locator(".badge")
    ).to_have_text("verified")
    services.assessments.edit(
        rater,
        baseline.id,
        expected_version=baseline.version,
        reason="item 4 was misread from the paper form",
        items=items(20, 51),
    )
    monitor.reload()
    expect(
        monitor.locator("tr", has_text="caps5_past_week at baseline").locator(".badge")
    ).to_have_text("changed")
    expect(monitor.locator("text=item 4 was misread from the paper form").first).to_be_visible()
    _shot(monitor, "monitor-changed-since-last-visit")
    assert CANARY.search(monitor.content()) is None
