"""The blind in pages and API (PROTOCOL.md §3; SYSTEM.md capability 4): a canary crawl.

Patients are allocated to both arms; every page and API route a blinded role can reach is fetched
and must not contain a drug name, a milligram dose or an arm id. The pharmacist's pages are the
positive control: the same crawl there does find the drug (so the check can fail).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from web_support import enrol  # type: ignore[import-not-found]

from bedside_support import (  # type: ignore[import-not-found]
    confirm_two_identifiers,
    record_baseline,  # type: ignore[import-not-found]
    vitals_input,
)
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role

BLINDED_ROLES = [
    Role.NURSE,
    Role.INVESTIGATOR,
    Role.OUTCOME_RATER,
    Role.SAFETY_RATER,
    Role.STATISTICIAN,
    Role.MONITOR,
    Role.ADMINISTRATOR,
]
CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam|\d\s?mg\b(?!/kg)|mg/mL", re.IGNORECASE)
#: Infusion-day ratings and their instruments: outcome raters never see them (PROTOCOL.md §3).
RATINGS_CANARY = re.compile(r"cadss|bprs|ymrs|prise|infusion_rating", re.IGNORECASE)


@pytest.fixture
def allocated(services, actors) -> list[int]:
    """Four allocated RCT patients: with this seed the list holds both arms in its first block."""
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="canary", slots_per_stratum=8
    )
    ids = []
    for _ in range(4):
        pid = enrol(services, actors)
        services.randomization.allocate(
            actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
        )
        ids.append(pid)
    arms = {services.randomization.allocation(actors[Role.PHARMACIST], p).treatment for p in ids}
    assert arms == {"ketamine", "midazolam"}, "the canary needs both arms"
    return ids


@pytest.fixture
def started(services, actors, allocated) -> list[int]:
    """One patient of each arm with infusion 1 started (stored dose, vitals, ratings)."""
    pharmacist = actors[Role.PHARMACIST]
    by_arm = {services.randomization.allocation(pharmacist, p).treatment: p for p in allocated}
    ids = [by_arm["ketamine"], by_arm["midazolam"]]
    for number, pid in enumerate(ids, start=1):
        _start_infusion_one(services, actors, pid)
        services.bookings.book(  # a booking names no drug (issue 13)
            actors[Role.NURSE], pid, kind="infusion", number=2, day=dt.date(2026, 3, 9),
            start=dt.time(8 + 3 * number, 0), minutes=180, room=f"Room {number}",
            nurse_id=actors[Role.NURSE].user_id,
        )  # fmt: skip
    return ids


def _start_infusion_one(services, actors, pid: int) -> None:  # type: ignore[no-untyped-def]
    """Baseline vitals, ratings before the infusion, a passing checklist and the start (§6)."""
    from ketamine_ptsd.core.instruments import get_instrument
    from ketamine_ptsd.services.infusions import ChecklistInput

    nurse, rater = actors[Role.NURSE], actors[Role.SAFETY_RATER]
    services.infusions.record_vitals(nurse, pid, 1, vitals_input(0, 128, 82, 72, 98))
    for instrument, items in (
        ("cadss", {str(k): 1 for k in range(1, 24)}),
        ("bprs_positive", {"4": 2, "11": 1, "12": 1, "15": 1}),
        ("ymrs_item1", {"1": 1}),
        ("prise", {i.key: "no" for i in get_instrument("prise").items}),
    ):
        services.infusions.record_rating(
            rater, pid, 1, minute=0, instrument=instrument, items=items
        )
    services.infusions.record_checklist(
        nurse,
        pid,
        ChecklistInput(1, True, "not_applicable", [], ["128/82", "131/84"], False),
    )
    confirm_two_identifiers(services, actors, pid, 1)
    record_baseline(services, actors, pid)
    services.infusions.start(nurse, pid, 1, **start_inputs(actors, nurse, 70.3))


def _crawl(client, ids: list[int]) -> dict[str, str]:
    pages: dict[str, str] = {}
    for path in [
        "/",
        "/patients",
        "/dashboard",
        "/analysis",
        "/pharmacy",
        "/calendar?start=2026-03-09",
        "/calendar?view=rooms&start=2026-03-09",
        "/api/v1/bookings?from=2026-03-09&to=2026-03-15",
        "/analysis/report/report.pdf",
        "/analysis/report.zip",
        "/analysis/report/figures/consort.png",
    ]:
        pages[path] = client.get(path).text
    for pid in ids:
        for path in [
            f"/patients/{pid}",
            f"/patients/{pid}/infusion/1",
            f"/patients/{pid}/infusion/2?weight_kg=70.3",
            f"/patients/{pid}/assess/caps5_past_week",
            f"/patients/{pid}/assess/cadss?minute=40&infusion=1",
            f"/patients/{pid}/blinding-guesses",  # issue 15 (before the end of treatment)
        ]:
            pages[path] = client.get(path).text
        pages[f"infusion preview {pid}"] = client.get(
            f"/patients/{pid}/infusion/1", params={"weight_kg": "70.3"}
        ).text
        for path in [
            f"/api/v1/patients/{pid}",
            f"/api/v1/patients/{pid}/allocation",
            f"/api/v1/patients/{pid}/dose?weight_kg=70.3",
            f"/api/v1/patients/{pid}/schedule",
            f"/api/v1/patients/{pid}/infusions",
            f"/api/v1/patients/{pid}/infusions/1",
            f"/api/v1/patients/{pid}/infusions/1/vitals",
            f"/api/v1/patients/{pid}/infusions/1/ratings",
            f"/api/v1/patients/{pid}/infusions/1/discharge",
            f"/api/v1/patients/{pid}/assessments",
            f"/api/v1/patients/{pid}/blinding-guesses",
        ]:
            pages[path] = client.get(path).text
    pages["/api/v1/patients"] = client.get("/api/v1/patients").text
    for path in (  # drug accountability: "study drug" and no mg for the blinded (issue 12)
        "/pharmacy/accountability",
        "/pharmacy/accountability.csv",
        "/api/v1/drug-accountability",
        "/api/v1/drug-accountability.csv",
    ):
        pages[path] = client.get(path).text
    return pages


def test_blinded_role_pages_and_api_contain_no_allocation(login, started) -> None:
    for role in BLINDED_ROLES:
        client = login(role)
        pages = _crawl(client, started)
        for path, body in pages.items():
            found = CANARY.search(body)
            assert found is None, f"{role.value} sees {found.group(0)!r} on {path}"
        if role is Role.OUTCOME_RATER:
            _no_infusion_day_ratings(pages)
        if role is not Role.ADMINISTRATOR:
            _screening_identical_across_arms(client, started, role)


def _no_infusion_day_ratings(pages: dict[str, str]) -> None:
    """Outcome raters never see infusion-day ratings (PROTOCOL.md §3): refused or absent."""
    refused = [p for p in pages if "/infusion" in p or "/assess/cadss" in p or "/dose" in p]
    for path in refused:
        assert '"error"' in pages[path] or "Not permitted" in pages[path], path
    for path, body in pages.items():
        found = None if path in refused else RATINGS_CANARY.search(body)
        assert found is None, f"outcome rater sees {found.group(0)!r} on {path}"


def _screening_identical_across_arms(client, ids: list[int], role: Role) -> None:  # type: ignore[no-untyped-def]
    """The eligibility criteria name ketamine (a recreational-use exclusion, §1) on every
    patient's screening page alike; the page must not differ between the arms otherwise."""
    normalised = set()
    for pid in ids:
        body = client.get(f"/patients/{pid}/screening-visit").text
        body = re.sub(r"/patients/\d+", "/patients/P", re.sub(r"YAL-\d{4}", "YAL-N", body))
        body = re.sub(r'name="csrf_token" value="[^"]+"', "", body)
        normalised.add(re.sub(r'content="[^"]+"', "", body))
    assert len(normalised) == 1, role.value


def test_canary_finds_the_drug_and_the_ratings_on_unblinded_pages(login, started) -> None:
    pages = _crawl(login(Role.PHARMACIST), started)
    assert CANARY.search(pages["/pharmacy"]) is not None
    assert CANARY.search(pages[f"/patients/{started[0]}/infusion/1"]) is not None
    assert CANARY.search(pages["/pharmacy/accountability"]) is not None
    nurse_page = login(Role.NURSE).get(f"/patients/{started[0]}/infusion/1").text
    assert RATINGS_CANARY.search(nurse_page) is not None  # the ratings canary can fail too


def test_blinded_volume_and_rate_are_identical_across_arms(login, allocated) -> None:
    client = login(Role.NURSE)
    doses = [
        client.get(f"/api/v1/patients/{pid}/dose", params={"weight_kg": 70.3}).json()
        for pid in allocated
    ]
    assert {d["treatment"] for d in doses} == {"study drug"}
    assert len({(d["volume_ml"], d["rate_ml_per_h"], d["arithmetic"]) for d in doses}) == 1
    assert doses[0]["volume_ml"] == pytest.approx(35.2)  # 0.5 mL/kg × 70.3 kg, 0.1 mL step
    assert doses[0]["rate_ml_per_h"] == pytest.approx(52.8)  # 35.2 × 60 ÷ 40
    assert doses[0]["dose_mg"] is None


def test_pharmacist_sees_the_drug_and_the_dispensed_milligrams(
    login, allocated, actors, services
) -> None:
    client = login(Role.PHARMACIST)
    for pid in allocated:
        dose = client.get(f"/api/v1/patients/{pid}/dose", params={"weight_kg": 70.3}).json()
        assert dose["treatment"] in {"ketamine", "midazolam"}
        assert dose["volume_ml"] == pytest.approx(35.2)  # the same blind volume is dispensed
        expected = 35.2 * (1.0 if dose["treatment"] == "ketamine" else 0.09)
        assert dose["dose_mg"] == pytest.approx(expected)


def test_outcome_rater_cannot_open_the_infusion_day_screen_or_ratings(login, allocated) -> None:
    client = login(Role.OUTCOME_RATER)
    assert client.get(f"/patients/{allocated[0]}/infusion/1").status_code == 403
    assert client.get(f"/patients/{allocated[0]}/assess/cadss").status_code == 403
    assert client.get(f"/api/v1/patients/{allocated[0]}/dose?weight_kg=70").status_code == 403


def test_a_blinded_statistician_cannot_run_the_analysis_or_reach_a_report(login, allocated) -> None:
    """Without a sanction the analysis page runs nothing (PROTOCOL.md §3): the run is refused
    with the reason and no report route answers (tests/adapters/web/test_web_analysis.py runs
    the sanctioned reports)."""
    from web_support import csrf_of  # type: ignore[import-not-found]

    client = login(Role.STATISTICIAN)
    page = client.get("/analysis").text
    assert "needs a sanctioned analysis" in page and "Run analysis" not in page
    refused = client.post(
        "/analysis/run", data={"csrf_token": csrf_of(page), "protocol_name": "rct"}
    )
    assert refused.status_code == 409 and "needs a sanctioned analysis" in refused.text
    assert CANARY.search(refused.text) is None
    for path in ["/analysis/report/report.pdf", "/analysis/report.zip"]:
        assert client.get(path).status_code == 404
