"""REST API for infusion days and assessments: the same services, role checks and blind (§3, §6)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from web_support import PASSWORD, enrol, sqlite_only  # type: ignore[import-not-found]

from bedside_support import record_baseline  # type: ignore[import-not-found]
from infusion_support import start_inputs, start_json  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role

#: Respiratory rate and sedation, required with each set of vitals (PROTOCOL.md §12).
AWAKE = {"respiratory_rate_per_min": 14, "moaas": 5}


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def pid(services, actors) -> int:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="A1", slots_per_stratum=4
    )
    patient_id = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], patient_id, infusion_date=dt.date(2026, 3, 2)
    )
    return patient_id


def test_infusion_day_through_the_api_with_a_recorded_hold(
    client, actors, services, pid, clock
) -> None:  # type: ignore[no-untyped-def]
    record_baseline(services, actors, pid)  # CAPS-5, MADRS before infusion 1 (§5, §8)
    base = f"/api/v1/patients/{pid}/infusions/1"
    nurse, rater = _bearer(client, "nurse"), _bearer(client, "safety-rater")
    vitals = client.post(
        f"{base}/vitals",
        headers=nurse,
        json={
            "minute": 0,
            "systolic_mmhg": 130,
            "diastolic_mmhg": 80,
            "heart_rate_bpm": 72,
            **AWAKE,
        },
    )
    assert vitals.status_code == 201 and vitals.json()["alerts"] == []
    from ketamine_ptsd.core.instruments import get_instrument

    for instrument, items in (
        ("cadss", {str(k): 0 for k in range(1, 24)}),
        ("bprs_positive", {"4": 1, "11": 1, "12": 1, "15": 1}),
        ("ymrs_item1", {"1": 0}),
        ("prise", {i.key: "no" for i in get_instrument("prise").items}),
    ):
        rated = client.post(
            f"{base}/ratings",
            headers=rater,
            json={"minute": 0, "instrument": instrument, "items": items},
        )
        assert rated.status_code == 201, rated.text
    findings = {
        "nil_by_mouth": True,
        "pregnancy_test": "not_applicable",
        "urine_toxicology_positive_for": [],
        "short_acting_benzodiazepine_taken_this_morning": False,
    }
    held = client.post(
        f"{base}/checklist",
        headers=nurse,
        json={**findings, "bp_readings": ["150/85", "145/92", "142/88"]},
    )
    assert held.status_code == 201 and held.json()["passed"] is False
    assert held.json()["findings"]["bp_readings"] == ["150/85", "145/92", "142/88"]
    body = start_json(actors, actors[Role.NURSE], 70.3)
    refused = client.post(f"{base}/start", headers=nurse, json=body)
    assert refused.status_code == 409 and "reading 3" in refused.json()["detail"]
    # Two identifiers (PROTOCOL.md §12): shown to the nurse, not to a blinded rater.
    assert client.get(f"{base}/identity-check", headers=rater).status_code == 403
    shown = client.get(f"{base}/identity-check", headers=nurse).json()
    assert shown["name"] == "Alex Testpatient" and shown["confirmed_at"] is None
    half = {"name_confirmed": True, "date_of_birth_confirmed": False}
    unconfirmed = client.post(f"{base}/identity-check", headers=nurse, json=half)
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["detail"].startswith("date_of_birth_confirmed:")
    both = {"name_confirmed": True, "date_of_birth_confirmed": True}
    assert client.post(f"{base}/identity-check", headers=nurse, json=both).status_code == 201
    # A re-check adds readings to the morning; it does not replace it (issue 12 item 2, §6).
    recheck = client.post(
        f"{base}/checklist", headers=nurse, json={**findings, "bp_readings": ["122/78"]}
    )
    assert recheck.status_code == 201 and recheck.json()["passed"] is False
    assert client.post(f"{base}/start", headers=nurse, json=body).status_code == 409
    md = _bearer(client, "investigator")
    release = {"reason": "white-coat pattern; 122/78 after rest", "password": PASSWORD}
    assert client.post(f"{base}/release-hold", headers=nurse, json=release).status_code == 403
    wrong = client.post(f"{base}/release-hold", headers=md, json={**release, "password": "x"})
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("password:")
    released = client.post(f"{base}/release-hold", headers=md, json=release)
    assert released.status_code == 201, released.text
    assert released.json()["kind"] == "release_hold" and released.json()["released"]
    decisions = client.get(f"/api/v1/patients/{pid}/decisions", headers=nurse).json()
    assert [d["kind"] for d in decisions] == ["release_hold"]
    started = client.post(f"{base}/start", headers=nurse, json=body)
    assert started.status_code == 201
    day = started.json()
    assert day["drug"] == "study drug" and day["dose_mg"] is None
    assert day["volume_ml"] == pytest.approx(35.2) and day["rate_ml_per_h"] == pytest.approx(52.8)
    clock.advance(dt.timedelta(minutes=5))
    alert = client.post(
        f"{base}/vitals",
        headers=nurse,
        json={
            "minute": 5,
            "systolic_mmhg": 186,
            "diastolic_mmhg": 104,
            "heart_rate_bpm": 96,
            **AWAKE,
        },
    )
    assert "systolic mmHg 186" in alert.json()["alerts"][0]
    alerts_url = f"/api/v1/patients/{pid}/alerts"
    [owned] = client.get(alerts_url, headers=nurse, params={"open_only": True}).json()
    assert owned["kind"] == "vital_signs" and owned["acknowledged_at"] is None
    ack = f"{alerts_url}/{owned['id']}/acknowledge"
    no_time = {"version": owned["version"], "physician_called": "Dr Lee", "action_taken": "x"}
    refused_ack = client.post(ack, headers=nurse, json=no_time)
    assert refused_ack.status_code == 422
    assert refused_ack.json()["detail"].startswith("action_taken:")
    acknowledged = client.post(
        ack,
        headers=nurse,
        json={
            "version": owned["version"],
            "physician_called": "Dr Lee",
            "called_at": clock.now().isoformat(),
            "action_taken": "labetalol 5 mg IV as ordered",
        },
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["physician_called"] == "Dr Lee"
    assert client.get(alerts_url, headers=nurse, params={"open_only": True}).json() == []
    again = {**no_time, "called_at": clock.now().isoformat(), "action_taken": "called again"}
    assert client.post(ack, headers=nurse, json=again).status_code == 409  # already owned
    readiness = client.get(f"{base}/discharge", headers=nurse).json()
    assert len(readiness["reason_codes"]) == len(readiness["reasons"])
    assert readiness["reason_codes"][-1] == "physician_signoff"
    assert "vital_signs" in readiness["reason_codes"]  # the 5-minute reading is the latest
    outcome = _bearer(client, "outcome-rater")
    assert client.get(f"{base}/ratings", headers=outcome).status_code == 403
    assert client.get(base, headers=outcome).status_code == 403
    assert client.get(f"{base}/ratings", headers=nurse).status_code == 200
    pharmacist = client.get(base, headers=_bearer(client, "pharmacist")).json()
    assert pharmacist["drug"] in {"ketamine", "midazolam"} and pharmacist["dose_mg"] > 0


@sqlite_only
def test_assessments_api_names_an_invalid_item_and_flags_out_of_window(client, pid) -> None:  # type: ignore[no-untyped-def]
    rater = _bearer(client, "outcome-rater")
    url = f"/api/v1/patients/{pid}/assessments"
    items = {str(k): 2 for k in range(1, 21)}
    bad = client.post(
        url,
        headers=rater,
        json={
            "time_point": "baseline",
            "instrument": "caps5_past_week",
            "assessed_on": "2026-03-02",
            "items": {**items, "7": 9},
        },
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("caps5.item_7:")
    early = client.post(
        url,
        headers=rater,
        json={
            "time_point": "week1",
            "instrument": "caps5_past_week",
            "assessed_on": "2026-03-02",
            "items": items,
        },
    )
    assert early.status_code == 201 and early.json()["in_window"] is False
    assert [a["total"] for a in client.get(url, headers=rater).json()] == [40.0]
    assert client.get(f"/api/v1/patients/{pid}/response", headers=rater).status_code == 404
    nurse = _bearer(client, "nurse")
    body = {
        "time_point": "week2",
        "instrument": "caps5_past_week",
        "assessed_on": "2026-03-02",
        "items": items,
    }
    assert client.post(url, headers=nurse, json=body).status_code == 403


@sqlite_only
def test_an_assessment_is_corrected_and_voided_through_the_api(client, pid) -> None:  # type: ignore[no-untyped-def]
    """PATCH rescoring with the version read and a reason (409 when stale, 422 naming a bad item
    or a missing reason); POST .../void keeps the row, marked, and leaves it out of the list."""
    rater = _bearer(client, "outcome-rater")
    url = f"/api/v1/patients/{pid}/assessments"
    saved = client.post(
        url,
        headers=rater,
        json={
            "time_point": "baseline",
            "instrument": "caps5_past_week",
            "assessed_on": "2026-03-02",
            "items": {str(k): 2 for k in range(1, 21)},
        },
    ).json()
    one = f"/api/v1/assessments/{saved['id']}"
    corrected_items = {**{str(k): 2 for k in range(1, 21)}, "9": 3}
    no_reason = client.patch(
        one, headers=rater, json={"expected_version": saved["version"], "reason": " ",
                                  "items": corrected_items},
    )  # fmt: skip
    assert no_reason.status_code == 422 and no_reason.json()["detail"].startswith("reason:")
    bad_item = client.patch(
        one, headers=rater, json={"expected_version": saved["version"], "reason": "tape review",
                                  "items": {**corrected_items, "9": 7}},
    )  # fmt: skip
    assert bad_item.status_code == 422 and bad_item.json()["detail"].startswith("caps5.item_9:")
    corrected = client.patch(
        one, headers=rater, json={"expected_version": saved["version"], "reason": "tape review",
                                  "items": corrected_items},
    )  # fmt: skip
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["total"] == 41.0 and corrected.json()["version"] == saved["version"] + 1
    stale = client.patch(
        one, headers=rater, json={"expected_version": saved["version"], "reason": "again",
                                  "items": corrected_items},
    )  # fmt: skip
    assert stale.status_code == 409
    nurse = _bearer(client, "nurse")
    refused = client.post(
        f"{one}/void",
        headers=nurse,
        json={"expected_version": corrected.json()["version"], "reason": "wrong patient"},
    )
    assert refused.status_code == 403
    voided = client.post(
        f"{one}/void",
        headers=rater,
        json={"expected_version": corrected.json()["version"], "reason": "wrong patient"},
    )
    assert voided.status_code == 200 and voided.json()["voided"] is True
    assert client.get(url, headers=rater).json() == []
    assert client.patch("/api/v1/assessments/999999", headers=rater, json={
        "expected_version": 1, "reason": "x", "items": corrected_items}).status_code == 404  # fmt: skip
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "patch" in paths["/api/v1/assessments/{assessment_id}"]


@sqlite_only
def test_an_adverse_event_is_listed_and_followed_up_through_the_api(client, pid) -> None:  # type: ignore[no-untyped-def]
    nurse = _bearer(client, "nurse")
    created = client.post(
        f"/api/v1/patients/{pid}/infusions/1/adverse-events",
        headers=nurse,
        json={
            "term": "nausea",
            "onset_date": "2026-03-02",
            "serious": False,
            "severity": "mild",
            "relatedness": "probable",
            "action": "ondansetron",
            "outcome": "recovering",
        },
    )
    assert created.status_code == 201, created.text
    event = created.json()
    listed = client.get(f"/api/v1/patients/{pid}/adverse-events", headers=nurse).json()
    assert [e["term"] for e in listed] == ["nausea"]
    url = f"/api/v1/adverse-events/{event['id']}"
    bad = client.patch(
        url,
        headers=nurse,
        json={"expected_version": event["version"], "reason": "day 2", "outcome": "better"},
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("outcome:")
    done = client.patch(
        url,
        headers=nurse,
        json={
            "expected_version": event["version"],
            "reason": "resolved by the next morning",
            "outcome": "recovered",
            "resolved_on": "2026-03-02",
        },
    )
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "recovered" and done.json()["resolved_on"] == "2026-03-02"
    stale = client.patch(
        url,
        headers=nurse,
        json={"expected_version": event["version"], "reason": "again", "outcome": "recovered"},
    )
    assert stale.status_code == 409
    rater = _bearer(client, "outcome-rater")  # side effects would hint at the arm (§3)
    assert client.get(f"/api/v1/patients/{pid}/adverse-events", headers=rater).status_code == 403
    assert client.patch(url, headers=rater, json={
        "expected_version": done.json()["version"], "reason": "x", "outcome": "fatal"}).status_code == 403  # fmt: skip


def test_the_api_refuses_a_reading_outside_its_window_and_one_without_sedation(
    client, actors, services, pid, clock
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12: a "120 min" reading one minute after the start is a 422 naming the minute; a
    reading without MOAA/S a 422 naming it; a missed reading is recorded with its reason."""
    from bedside_support import ready_for_infusion  # type: ignore[import-not-found]

    ready_for_infusion(services, actors, pid, 1)
    services.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 70)
    )
    base = f"/api/v1/patients/{pid}/infusions/1"
    nurse = _bearer(client, "nurse")
    clock.advance(dt.timedelta(minutes=1))
    reading = {"systolic_mmhg": 126, "diastolic_mmhg": 80, "heart_rate_bpm": 72, "spo2_percent": 98}
    early = client.post(f"{base}/vitals", headers=nurse, json={"minute": 120, **reading, **AWAKE})
    assert early.status_code == 422 and early.json()["detail"].startswith("minute:")
    assert "120-minute reading is entered from 118 to 130 min" in early.json()["detail"]
    clock.advance(dt.timedelta(minutes=4))
    unsedated = client.post(
        f"{base}/vitals",
        headers=nurse,
        json={"minute": 5, **reading, "respiratory_rate_per_min": 14},
    )
    assert unsedated.status_code == 422 and unsedated.json()["detail"].startswith("moaas:")
    clock.advance(dt.timedelta(minutes=20))
    late = client.post(f"{base}/vitals", headers=nurse, json={"minute": 5, **reading, **AWAKE})
    assert late.status_code == 422 and "as missed" in late.json()["detail"]
    missed = client.post(
        f"{base}/vitals/missed", headers=nurse, json={"minute": 5, "reason": "cuff re-sited"}
    )
    assert missed.status_code == 201 and missed.json()["minute"] == 5
    listed = client.get(f"{base}/vitals/missed", headers=nurse).json()
    assert [(m["minute"], m["reason"]) for m in listed] == [(5, "cuff re-sited")]
    readiness = client.get(f"{base}/discharge", headers=nurse).json()
    assert 5 not in readiness["vitals_missing"] and 10 in readiness["vitals_missing"]
    assert "vitals_missing" in readiness["reason_codes"]
    assert "infusion_end" in readiness["reason_codes"]


def test_the_api_discharge_is_refused_then_completed(client, actors, services, pid, clock) -> None:  # type: ignore[no-untyped-def]
    """The discharge guards through the API: BPRS+ 4 points above baseline is a 409 naming
    the rule; the physician's decision (the nurse may not make it) and then the signed
    sign-off discharge the day (PROTOCOL.md §6)."""
    from bedside_support import (
        day_ready_for_signoff,  # type: ignore[import-not-found]
        ready_for_infusion,  # type: ignore[import-not-found]
    )

    ready_for_infusion(services, actors, pid, 1)
    services.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 70)
    )
    worse = {"bprs_positive": {"4": 2, "11": 2, "12": 2, "15": 2}}
    view = day_ready_for_signoff(services, actors, clock, pid, 1, latest=worse)
    base = f"/api/v1/patients/{pid}/infusions/1"
    md, nurse = _bearer(client, "investigator"), _bearer(client, "nurse")
    refused = client.post(
        f"{base}/signoff", headers=md, json={"version": view.version, "password": PASSWORD}
    )
    assert refused.status_code == 409 and "emergent psychosis or mania" in refused.json()["detail"]
    body = {"version": view.version, "reason": "examined: calm, oriented, escorted home"}
    assert client.post(f"{base}/worsening-decision", headers=nurse, json=body).status_code == 403
    short = client.post(
        f"{base}/worsening-decision", headers=md, json={"version": view.version, "reason": "ok"}
    )
    assert short.status_code == 422 and short.json()["detail"].startswith("reason:")
    decided = client.post(f"{base}/worsening-decision", headers=md, json=body)
    assert decided.status_code == 200 and decided.json()["reason_codes"] == ["physician_signoff"]
    done = client.post(
        f"{base}/signoff",
        headers=md,
        json={"version": decided.json()["version"], "password": PASSWORD},
    )
    assert done.status_code == 200 and done.json()["discharged_at"] is not None


def test_concomitant_medications_through_the_api(client, pid) -> None:  # type: ignore[no-untyped-def]
    """Issue 12: the list per patient (drug, class, dose, dates); a wrong class is a 422 naming
    the field; a flagged class says so (PROTOCOL.md §1, §11)."""
    nurse = _bearer(client, "nurse")
    url = f"/api/v1/patients/{pid}/medications"
    bad = client.post(
        url,
        headers=nurse,
        json={
            "drug": "diazepam",
            "drug_class": "benzo",
            "dose": "5 mg",
            "started_on": "2026-03-01",
        },
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("drug_class:")
    made = client.post(
        url,
        headers=nurse,
        json={
            "drug": "diazepam",
            "drug_class": "benzodiazepine",
            "dose": "5 mg",
            "started_on": "2026-03-01",
        },
    )
    assert made.status_code == 201 and made.json()["flagged"] is True
    stopped = client.post(
        f"{url}/{made.json()['id']}/stop",
        headers=nurse,
        json={
            "stopped_on": "2026-03-02",
            "version": made.json()["version"],
            "reason": "GP stopped it",
        },
    )
    assert stopped.status_code == 200 and stopped.json()["stopped_on"] == "2026-03-02"
    assert [m["drug"] for m in client.get(url, headers=nurse).json()] == ["diazepam"]
    assert client.get(url, headers=_bearer(client, "outcome-rater")).status_code == 403


def test_the_start_end_and_reconciliation_through_the_api(client, actors, pid, services) -> None:  # type: ignore[no-untyped-def]
    """Issue 12: one weight bound (422 for 900), the witness, the bag, an early stop, the waste,
    the reconciliation (JSON and CSV; investigator blind, nurse refused)."""
    from ketamine_ptsd.core.instruments import get_instrument
    from ketamine_ptsd.services.infusions import ChecklistInput

    base = f"/api/v1/patients/{pid}/infusions/1"
    nurse = _bearer(client, "nurse")
    from bedside_support import confirm_two_identifiers, vitals_input  # type: ignore[import-not-found]

    confirm_two_identifiers(services, actors, pid, 1)
    record_baseline(services, actors, pid)
    services.infusions.record_vitals(actors[Role.NURSE], pid, 1, vitals_input(0, 128, 82, 72, 98))
    services.infusions.record_ratings(
        actors[Role.SAFETY_RATER],
        pid,
        1,
        minute=0,
        ratings={
            "cadss": {str(k): 0 for k in range(1, 24)},
            "bprs_positive": {"4": 1, "11": 1, "12": 1, "15": 1},
            "ymrs_item1": {"1": 0},
            "prise": {i.key: "no" for i in get_instrument("prise").items},
        },
    )
    services.infusions.record_checklist(
        actors[Role.NURSE],
        pid,
        ChecklistInput(1, True, "not_applicable", [], ["128/82"], False),
    )
    body = start_json(actors, actors[Role.NURSE], 70.3)
    assert (
        client.post(f"{base}/start", headers=nurse, json={**body, "weight_kg": 900}).status_code
        == 422
    )
    no_check = {k: v for k, v in body.items() if k != "pump_check"}
    assert client.post(f"{base}/start", headers=nurse, json=no_check).status_code == 422
    blinded = {**body, "bag": {**body["bag"], "concentration_mg_per_ml": 1.0}}
    refused = client.post(f"{base}/start", headers=nurse, json=blinded)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("bag_concentration_mg_per_ml:")
    wrong = {**body, "pump_check": {**body["pump_check"], "witness_password": "nope"}}
    refused = client.post(f"{base}/start", headers=nurse, json=wrong)
    assert refused.status_code == 422 and refused.json()["detail"].startswith("witness_password")
    started = client.post(f"{base}/start", headers=nurse, json=body)
    assert started.status_code == 201, started.text
    administration = started.json()["administration"]
    assert administration["supervising_physician"] == "Test investigator"
    assert administration["bag_concentration_mg_per_ml"] is None
    version = started.json()["version"]
    ended = client.post(
        f"{base}/end",
        headers=nurse,
        json={
            "version": version,
            "stopped_early": True,
            "volume_given_ml": 10.0,
            "early_stop_reason": "vomiting",
        },
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["administration"]["volume_given_ml"] == 10.0
    waste = client.post(
        f"{base}/waste",
        headers=nurse,
        json={
            "volume_wasted_ml": 25.2,
            "witness_username": "investigator",
            "witness_password": PASSWORD,
        },
    )
    assert waste.status_code == 200, waste.text
    md = _bearer(client, "investigator")
    rows = client.get("/api/v1/drug-accountability", headers=md).json()
    assert rows[0]["drug"] == "study drug" and rows[0]["dose_given_mg"] is None
    assert rows[0]["unaccounted_ml"] == 0.0 and rows[0]["stopped_early"] is True
    pharmacy = client.get("/api/v1/drug-accountability", headers=_bearer(client, "pharmacist"))
    expected = {"ketamine": 10.0, "midazolam": 0.9}[pharmacy.json()[0]["drug"]]
    assert pharmacy.json()[0]["dose_given_mg"] == expected
    csv_text = client.get("/api/v1/drug-accountability.csv", headers=md).text
    assert csv_text.splitlines()[0].startswith("study_id,infusion_number")
    assert client.get("/api/v1/drug-accountability", headers=nurse).status_code == 403
    names = [p["name"] for p in client.get("/api/v1/physicians", headers=nurse).json()]
    assert names == ["Test clinician", "Test investigator"]
