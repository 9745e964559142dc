"""The end-of-treatment blinding guesses in the browser (issue 15), at a tablet: the outcome
rater records the patient's guess and their own, a correction without a reason is refused at
its field in words, the infusion nurse records hers — and the page never tells blinded staff
the patient's arm (its only drug names are the form's fixed answers, the same for both arms).
Fixtures (server, browser, tablet) are the browser tests' own; screenshots go to
``test-artifacts/`` (``blinding-*``)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from test_web_browser import (  # type: ignore[import-not-found]
    CHROMIUM,
    _shot,
    browser,
    server,
    tablet,
)
from web_support import enrol  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role

__all__ = ["browser", "server", "tablet"]  # fixtures used by name below

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed"
    ),
]

DRUG = re.compile(r"ketamine(?!-ptsd)|midazolam", re.IGNORECASE)

# the page's text without the guess form's answers (the protocol's drugs in a fixed order, the
# same for every patient) and without the cells that show a user their own entry
PAGE_TEXT_BUT_ANSWERS = """() => {
  const main = document.querySelector("main") || document.body;
  const copy = main.cloneNode(true);
  copy.querySelectorAll("fieldset label.check").forEach((e) => e.remove());
  copy.querySelectorAll("#guesses td").forEach((e) => {
    if (e.textContent.includes("(your entry)")) e.remove();
  });
  return copy.textContent;
}"""


def _ended_by_arm(server) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Allocate patients from the browser server's list until both arms have one, and end
    their treatment early (PROTOCOL.md §3, §5): the guesses are then due."""
    services, actors = server["services"], server["actors"]
    pharmacist, investigator = actors[Role.PHARMACIST], actors[Role.INVESTIGATOR]
    found: dict[str, int] = {}
    for _ in range(6):
        pid = enrol(services, actors)
        services.randomization.allocate(investigator, pid, infusion_date=dt.date(2026, 3, 2))
        found.setdefault(services.randomization.allocation(pharmacist, pid).treatment, pid)
        if len(found) == 2:
            break
    assert set(found) == {"ketamine", "midazolam"}
    for pid in found.values():
        services.followup.withdraw(
            investigator,
            pid,
            withdrawn_on=dt.date(2026, 3, 2),
            decided_by="team",
            reason="left treatment early",
        )
    return found


def _arm_free(page) -> None:  # type: ignore[no-untyped-def]
    text = page.evaluate(PAGE_TEXT_BUT_ANSWERS)
    found = DRUG.search(text)
    assert found is None, text[max(found.start() - 200, 0) : found.end() + 100]


def test_rater_and_nurse_record_their_guesses_and_the_page_never_shows_the_arm(
    tablet, server
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base = server["base"]
    by_arm = _ended_by_arm(server)
    pid = by_arm["midazolam"]
    url = f"{base}/patients/{pid}/blinding-guesses"

    # a blinded reader sees the same page for both arms, study id aside
    investigator = tablet("investigator")
    seen = {}
    for arm, other in by_arm.items():
        investigator.goto(f"{base}/patients/{other}/blinding-guesses")
        study_id = investigator.locator("h1 a").inner_text()
        seen[arm] = investigator.locator("main").inner_text().replace(study_id, "SID")
    assert seen["ketamine"] == seen["midazolam"]
    assert DRUG.search(seen["ketamine"]) is None  # the investigator records no guess: no form

    rater = tablet("outcome-rater")
    rater.goto(f"{base}/patients/{pid}")
    rater.click(f"a[href='/patients/{pid}/blinding-guesses']")
    expect(rater).to_have_url(url)
    expect(rater.locator("#guess-patient")).to_contain_text("not recorded")
    expect(rater.locator("#guess-form-infusion_nurse")).to_have_count(0)
    _arm_free(rater)
    _shot(rater, "blinding-rater-empty")

    patient_form = rater.locator("#guess-form-patient")
    patient_form.get_by_label("Ketamine").check()
    rater.click("#guess-save-patient")
    expect(rater.locator("p.notice")).to_have_text("Guess recorded.")
    expect(rater.locator("#guess-patient")).to_contain_text("Ketamine (your entry)")
    rater.locator("#guess-form-outcome_rater").get_by_label("Don't know").check()
    rater.click("#guess-save-outcome_rater")
    expect(rater.locator("#guess-outcome_rater")).to_contain_text("Don't know (your entry)")
    _arm_free(rater)

    # the patient changes their mind; the rater forgets the reason (spaces only pass the
    # browser's "required"): refused at the reason, in words, with the new choice kept
    correction = rater.locator("#guess-form-patient")
    correction.get_by_label("Don't know").check()
    correction.locator("textarea[name=reason]").fill("   ")
    rater.click("#guess-save-patient")
    form = rater.locator("#guess-form-patient")
    expect(form.locator("p.error")).to_contain_text("Not saved — Reason for the correction:")
    expect(form.locator("p.error")).not_to_contain_text("guess_correction_reason")
    expect(form.locator("#field-error-reason")).to_contain_text("a correction needs the reason")
    expect(form.locator("textarea[name=reason]")).to_be_focused()
    expect(rater.locator("#guess-form-patient").get_by_label("Don't know")).to_be_checked()
    _arm_free(rater)
    _shot(rater, "blinding-rater-correction-refused")
    correction = rater.locator("#guess-form-patient")
    correction.locator("textarea[name=reason]").fill("patient changed the answer on reflection")
    rater.click("#guess-save-patient")
    expect(rater.locator("#guess-patient")).to_contain_text("Don't know (your entry)")
    _arm_free(rater)
    _shot(rater, "blinding-rater-recorded")

    nurse = tablet("nurse")
    nurse.goto(url)
    # the rater's entries are recorded, what they are is not shown to the nurse
    expect(nurse.locator("#guess-patient")).to_contain_text("recorded")
    expect(nurse.locator("#guess-patient")).not_to_contain_text("your entry")
    expect(nurse.locator("#guess-form-patient")).to_have_count(0)
    nurse.locator("#guess-form-infusion_nurse").get_by_label("Midazolam").check()
    nurse.click("#guess-save-infusion_nurse")
    expect(nurse.locator("#guess-infusion_nurse")).to_contain_text("Midazolam (your entry)")
    _arm_free(nurse)
    _shot(nurse, "blinding-nurse-recorded")
