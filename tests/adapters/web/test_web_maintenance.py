"""The maintenance card on the patient page (issue 13; PROTOCOL.md §8)."""

from __future__ import annotations

from web_support import csrf_of, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from maintenance_support import clinic_responder  # type: ignore[import-not-found]


@sqlite_only
def test_the_physician_starts_and_stops_maintenance_on_the_patient_page(
    login, services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    pid = clinic_responder(services, actors, clock)
    clinician = login(Role.CLINICIAN)
    url = f"/patients/{pid}"
    page = clinician.get(url).text
    assert 'id="maintenance-start-form"' in page and "every 7 or 14 days" in page
    token = csrf_of(page)
    odd = {"csrf_token": token, "option_id": "iv_ketamine_periodic", "interval_days": "10",
           "starts_on": "2026-03-16", "reason": ""}  # fmt: skip
    refused = clinician.post(f"{url}/maintenance", data=odd, follow_redirects=False)
    assert refused.status_code == 422
    assert "interval_days" in refused.text and 'value="10"' in refused.text  # kept
    started = clinician.post(
        f"{url}/maintenance", data={**odd, "interval_days": "7"}, follow_redirects=False
    )
    assert started.status_code == 303
    page = clinician.get(url).text
    assert "Infusion 7</a>, due Mon 16 Mar 2026" in page
    assert 'id="maintenance-stop-form"' in page
    today = clinician.get("/").text  # the day's work lists the maintenance infusion due
    assert f'href="/patients/{pid}/infusion/7"' in today and "maintenance infusion 7" in today
    week = clinician.get("/calendar").text
    assert "Infusion 7 (maintenance)" in week
    bedside = clinician.get(f"{url}/infusion/7")  # the maintenance infusion's own screen
    assert bedside.status_code == 200 and "Infusion 7" in bedside.text
    nurse_page = login(Role.NURSE).get(url).text
    assert 'id="maintenance-next"' in nurse_page and "maintenance-stop-form" not in nurse_page
    version = page.split('name="version" value="', 1)[1].split('"', 1)[0]
    stop = {"csrf_token": token, "stopped_on": "2026-03-16", "reason": "no", "version": version}
    assert clinician.post(f"{url}/maintenance/stop", data=stop).status_code == 422
    done = clinician.post(
        f"{url}/maintenance/stop", data={**stop, "reason": "patient moves abroad"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    page = clinician.get(url).text
    assert "patient moves abroad" in page and "Stopped" in page
