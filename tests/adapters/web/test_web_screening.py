"""The screening page records the visit and shows the live eligibility decision with every
criterion's reason (PROTOCOL.md §1); refused values are named and kept."""

from __future__ import annotations

import datetime as dt

import pytest
from web_support import csrf_of, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput

RCT_FACTS = {
    "age_years": "39",
    "primary_chronic_ptsd_scid5": "yes",
    "ptsd_duration_months": "60",
    "serious_unstable_medical_illness": "no",
    "active_suicidal_or_homicidal_ideation": "no",
    "lifetime_psychotic_or_bipolar_disorder": "no",
    "current_anorexia_or_bulimia": "no",
    "substance_use_disorder_past_3_months": "no",
    "recreational_ketamine_pcp_uses_lifetime": "0",
    "recreational_ketamine_pcp_use_past_2_years": "no",
    "current_long_acting_benzodiazepine": "no",
    "current_opioid": "no",
    "psychotropic_dose_changed_past_3_months": "no",
}


def _form(token: str, caps_item: str = "2", **overrides: str) -> dict[str, str]:
    facts = {**RCT_FACTS, **overrides}
    return {
        "csrf_token": token,
        "visit_date": "2026-03-01",
        **{f"fact_{k}": v for k, v in facts.items()},
        **{f"caps_{k}": caps_item for k in range(1, 21)},
    }


@pytest.fixture
def screen(login, services, actors):  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = services.patients.register(investigator, protocol_name="rct", site="YAL")
    client = login(Role.INVESTIGATOR)
    path = f"/patients/{patient.id}/screening-visit"

    def post(**overrides: str):  # type: ignore[no-untyped-def]
        token = csrf_of(client.get(path).text)
        return client.post(path, data=_form(token, **overrides))

    return patient.id, client, path, post


def test_decision_is_incomplete_until_consent_then_eligible_with_reasons(
    screen, services, actors
) -> None:
    pid, client, path, post = screen
    response = post()
    assert response.status_code == 200
    assert 'id="decision-status">incomplete<' in response.text
    assert "written_informed_consent not recorded" in response.text
    services.patients.record_consent(
        actors[Role.INVESTIGATOR],
        pid,
        ConsentInput("v1", dt.date(2026, 3, 1), True, "Dr I", None, CLINIC_CONSENT_TOPICS),
    )
    page = client.post(
        f"{path}/reevaluate", data={"csrf_token": csrf_of(client.get(path).text)}
    ).text
    assert 'id="decision-status">eligible<' in page
    assert 'value="39"' in page  # the stored visit's facts fill the form again


@sqlite_only
def test_an_exclusion_fails_with_its_reason_and_section(screen) -> None:
    _, _, _, post = screen
    page = post(current_opioid="yes").text
    assert "Current opioid" in page and "PROTOCOL.md §1" in page
    assert 'data-criterion="opioid"' in page


@sqlite_only
def test_invalid_caps5_item_is_named_and_everything_typed_is_kept(screen) -> None:
    _, _, _, post = screen
    response = post(caps_item="7")
    assert response.status_code == 422
    assert "caps5.item_1" in response.text and 'value="7"' in response.text
    assert 'name="fact_age_years" value="39"' in response.text


@sqlite_only
def test_outcome_rater_reads_but_may_not_record(login, screen) -> None:
    _pid, _, path, _ = screen
    page = login(Role.OUTCOME_RATER).get(path)
    assert page.status_code == 200 and "Record the visit" not in page.text


@sqlite_only
def test_screening_weight_and_height_are_recorded_within_the_one_bound(
    screen, services, actors
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 3: the first weight an infusion day's is compared with (PROTOCOL.md §4)."""
    pid, client, path, _ = screen
    token = csrf_of(client.get(path).text)
    refused = client.post(path, data={**_form(token), "weight_kg": "900", "height_cm": "175"})
    assert refused.status_code == 422
    assert 'id="field-error-weight_kg"' in refused.text and "30–250 kg" in refused.text
    assert 'name="height_cm" value="175"' in refused.text  # what was typed is kept
    token = csrf_of(client.get(path).text)
    saved = client.post(path, data={**_form(token), "weight_kg": "75", "height_cm": "175"})
    assert saved.status_code == 200
    from sqlalchemy import select

    from ketamine_ptsd.services.records import ScreeningVisit

    with services.context.uow(actors[Role.INVESTIGATOR], write=False) as uow:
        body = uow.session.scalars(
            select(ScreeningVisit.measures).where(ScreeningVisit.patient_id == pid)
        ).one()["body"]
    assert body == {"weight_kg": 75.0, "height_cm": 175.0, "bmi_kg_m2": 24.5}
