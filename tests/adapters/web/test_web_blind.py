"""The blind in pages and API (PROTOCOL.md §3; SYSTEM.md capability 4): a canary crawl.

Patients are allocated to both arms; every page and API route a blinded role can reach is fetched
and must not contain a drug name, a milligram dose or an arm id. The pharmacist's pages are the
positive control: the same crawl there does find the drug (so the check can fail).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import enrol
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


def _crawl(client, ids: list[int]) -> dict[str, str]:
    pages: dict[str, str] = {}
    for path in ["/", "/patients", "/dashboard", "/analysis", "/pharmacy"]:
        pages[path] = client.get(path).text
    for pid in ids:
        for path in [
            f"/patients/{pid}",
            f"/patients/{pid}/infusion/1",
            f"/patients/{pid}/assess/caps5_past_week",
            f"/patients/{pid}/assess/cadss",
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
        ]:
            pages[path] = client.get(path).text
    pages["/api/v1/patients"] = client.get("/api/v1/patients").text
    return pages


def test_blinded_role_pages_and_api_contain_no_allocation(login, allocated) -> None:
    for role in BLINDED_ROLES:
        client = login(role)
        for path, body in _crawl(client, allocated).items():
            found = CANARY.search(body)
            assert found is None, f"{role.value} sees {found.group(0)!r} on {path}"


def test_canary_finds_the_drug_on_the_pharmacists_pages(login, allocated) -> None:
    pages = _crawl(login(Role.PHARMACIST), allocated)
    assert CANARY.search(pages["/pharmacy"]) is not None
    assert CANARY.search(pages[f"infusion preview {allocated[0]}"]) is not None


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
