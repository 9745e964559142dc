"""The infusion-day bedside screen stores the day through the infusion services (PROTOCOL.md §4, §6).

Each form is a use case: the checklist (a failed run is a recorded hold), the start with the
blind-safe dose, vitals with their alerts, interventions, adverse events, ratings at their
minutes, discharge findings and the physician's signed sign-off. A reload shows what was stored.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from web_support import PASSWORD, csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from bedside_support import (
    record_baseline,  # type: ignore[import-not-found]
    vitals_until,  # type: ignore[import-not-found]
)
from infusion_support import start_form  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role

CHECKLIST_OK = {
    "nil_by_mouth": "yes",
    "benzo_taken": "no",
    "pregnancy_test": "not_applicable",
    "tox_recorded": "negative",
    "bp_1_sys": "150",  # two numeric boxes per reading (issue 12: bedside)
    "bp_1_dia": "85",
    "bp_2_sys": "138",
    "bp_2_dia": "80",
    "weight_kg": "70",
}
CADSS_ITEMS = {f"item_{k}": "0" for k in range(1, 24)}
BEFORE = {
    "cadss": CADSS_ITEMS,
    "bprs_positive": {"item_4": "1", "item_11": "1", "item_12": "1", "item_15": "1"},
    "ymrs_item1": {"item_1": "0"},
}


class Bedside:
    """A signed-in client on one patient's infusion 1."""

    def __init__(self, client, pid: int, start: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.pid = pid
        #: the start's fields (bag, second staff member, physician): infusion_support.start_form
        self.start = start or {}
        self.path = f"/patients/{pid}/infusion/1"
        self.token = csrf_of(client.get(self.path).text)

    def get(self) -> str:
        response = self.client.get(self.path)
        assert response.status_code == 200, response.text
        return response.text

    def post(self, form: str, data: dict, expect: int | None = 303):  # type: ignore[no-untyped-def]
        if form == "checklist" and data.get("action") == "start":
            data = {**self.start, **data}
        response = self.client.post(
            f"{self.path}/{form}", data={"csrf_token": self.token, **data}, follow_redirects=False
        )
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    def rate(self, instrument: str, minute: int, items: dict) -> None:  # type: ignore[type-arg]
        response = self.client.post(
            f"/patients/{self.pid}/assess/{instrument}",
            data={"csrf_token": self.token, "minute": str(minute), "infusion": "1", **items},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def version(self) -> str:
        match = re.search(r'name="version" value="(\d+)"', self.get())
        assert match
        return match.group(1)


@pytest.fixture
def pid(services, actors) -> int:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    patient_id = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], patient_id, infusion_date=dt.date(2026, 3, 2)
    )
    record_baseline(services, actors, patient_id)  # CAPS-5, MADRS before infusion 1 (§5, §8)
    return patient_id


@pytest.fixture
def nurse(login, pid, actors) -> Bedside:  # type: ignore[no-untyped-def]
    return Bedside(login(Role.NURSE), pid, start_form(actors, actors[Role.NURSE], 70))


@pytest.fixture
def rater(login, pid) -> Bedside:  # type: ignore[no-untyped-def]
    return Bedside(login(Role.SAFETY_RATER), pid)


def _ready(nurse: Bedside, rater: Bedside) -> None:
    """Baseline vitals (nurse), the ratings before the infusion (safety rater) and the
    two-identifier check (nurse), via pages."""
    nurse.post("identity", {"name_confirmed": "yes", "date_of_birth_confirmed": "yes"})
    nurse.post(
        "vitals",
        {
            "minute": "0",
            "sys": "130",
            "dia": "80",
            "hr": "72",
            "spo2": "98",
            "rr": "14",
            "moaas": "5",
        },
    )
    for instrument, items in BEFORE.items():
        rater.rate(instrument, 0, items)
    prise = {f"item_{i.key}": "no" for i in _prise_items()}
    rater.rate("prise", 0, prise)


def _prise_items():  # type: ignore[no-untyped-def]
    from ketamine_ptsd.core.instruments import get_instrument

    return get_instrument("prise").items


def test_third_reading_above_140_90_is_a_recorded_hold_that_refuses_the_start(
    nurse, rater, services, actors, pid, login
) -> None:
    _ready(nurse, rater)
    data = {**CHECKLIST_OK, "bp_2_sys": "145", "bp_2_dia": "92", "bp_3_sys": "142"}
    data |= {"bp_3_dia": "88", "action": "start"}
    page = nurse.post("checklist", data, expect=409).text
    assert "Infusion may not start" in page and "exceeded at reading 3" in page
    # The readings are in the record (shown as the morning's series); the boxes come back
    # empty so that sending the form again cannot count them twice (issue 12 item 2).
    assert "150/85, 145/92, 142/88, 130/80" in page and 'value="142"' not in page
    checks = services.infusions.checklists(actors[Role.NURSE], pid)
    assert [c.passed for c in checks] == [False]
    assert any("reading 3" in r for r in checks[0].hold_reasons)
    reloaded = nurse.get()
    assert "hold recorded" in reloaded and "Infusion started at" not in reloaded
    assert 'id="release-form"' not in reloaded  # a nurse does not release a hold
    recheck = {**CHECKLIST_OK, "bp_1_sys": "122", "bp_1_dia": "78", "action": "start"}
    recheck |= {"bp_2_sys": "", "bp_2_dia": ""}
    page = nurse.post("checklist", recheck, expect=409).text
    assert "150/85, 145/92, 142/88, 122/78, 130/80" in page, "a re-check adds, never replaces"
    md = Bedside(login(Role.INVESTIGATOR), pid)
    short = md.post("release-hold", {"reason": "ok", "password": PASSWORD}, expect=422).text
    assert 'id="error-release"' in short and "<strong>Reason</strong>" in short
    assert 'value="ok"' in short  # what was typed is kept
    wrong = md.post("release-hold", {"reason": "white-coat; settled at rest", "password": "x"},
                    expect=422).text  # fmt: skip
    assert "<strong>Your password</strong>" in wrong
    md.post("release-hold", {"reason": "white-coat; settled at rest", "password": PASSWORD})
    assert "released by the physician" in md.get() and 'id="decisions"' in md.get()
    nurse.post("checklist", {**CHECKLIST_OK, "bp_1_sys": "", "bp_1_dia": "", "bp_2_sys": "",
                             "bp_2_dia": "", "action": "start"})  # fmt: skip
    assert "Infusion started at" in nurse.get()
    assert len(services.infusions.checklists(actors[Role.NURSE], pid)) == 2  # no duplicate run


@sqlite_only
def test_checklist_without_the_baseline_and_ratings_holds_with_those_reasons(nurse) -> None:
    page = nurse.post("checklist", {**CHECKLIST_OK, "action": "start"}, expect=409).text
    assert "baseline" in page.lower() and "rating" in page.lower()


@sqlite_only
def test_start_stores_the_blind_dose_and_the_next_reading_due(nurse, rater) -> None:
    _ready(nurse, rater)
    response = nurse.post("checklist", {**CHECKLIST_OK, "action": "start"})
    assert response.headers["location"].endswith("?saved=start#dose")
    page = nurse.get()
    assert "Infusion started at 08:00" in page
    assert "35 mL" in page and "52.5 mL/h" in page and "study drug" in page
    assert re.search(r"\d\s?mg\b", page) is None  # no milligrams for blinded staff (§3)
    assert "Next reading due at <strong>08:05</strong>" in page


@sqlite_only
def test_vitals_alerts_show_at_once_and_survive_a_reload(nurse, rater, clock) -> None:
    _ready(nurse, rater)
    nurse.post("checklist", {**CHECKLIST_OK, "action": "start"})
    clock.advance(dt.timedelta(minutes=5))
    nurse.post(
        "vitals",
        {
            "minute": "5",
            "sys": "185",
            "dia": "100",
            "hr": "90",
            "spo2": "97",
            "rr": "16",
            "moaas": "5",
        },
    )
    page = nurse.get()
    assert "Open alerts" in page and 'id="alert-1"' in page
    assert "systolic mmHg 185 is above the alert threshold 180" in page
    assert 'class="out"' in page
    assert "Next reading due at <strong>08:10</strong>" in page
    nurse.post(
        "interventions",
        {"drug": "labetalol", "dose_mg": "5", "route": "IV", "reason": "BP 185/100"},
    )
    assert "labetalol 5 mg IV" in nurse.get()
    # The alert is owned: who was called, at what site time, and what was done (§12).
    ack = {"alert_version": "1", "back": "infusion/1", "physician_called": "Dr Lee"}
    refused = nurse.post("../../alerts/1/acknowledge", {**ack, "called_at": "8:7"}, expect=422)
    assert "<strong>Called at</strong>" in refused.text and 'value="Dr Lee"' in refused.text
    nurse.post(
        "../../alerts/1/acknowledge",
        {**ack, "called_at": "08:05", "action_taken": "labetalol 5 mg IV as ordered"},
    )
    page = nurse.get()
    assert 'id="alert-1"' not in page and 'id="alerts-acknowledged"' in page
    assert "Dr Lee called at 08:05: labetalol 5 mg IV as ordered" in page


@sqlite_only
def test_next_reading_is_flagged_overdue(nurse, rater, clock) -> None:
    _ready(nurse, rater)
    nurse.post("checklist", {**CHECKLIST_OK, "action": "start"})
    clock.advance(dt.timedelta(minutes=20))
    assert "overdue" in nurse.get()


@sqlite_only
def test_bad_values_are_named_and_kept(nurse, rater) -> None:
    _ready(nurse, rater)
    page = nurse.post(
        "checklist",
        {**CHECKLIST_OK, "bp_3_sys": "abc", "bp_3_dia": "80", "action": "start"},
        expect=422,
    ).text
    assert "<strong>Blood pressure reading 3</strong>" in page and 'value="abc"' in page
    half = {**CHECKLIST_OK, "bp_3_sys": "150", "action": "start"}
    page = nurse.post("checklist", half, expect=422).text
    assert "Reading 3: the diastolic pressure is missing" in page and 'value="150"' in page
    page = nurse.post("vitals", {"minute": "5", "sys": "999"}, expect=422).text
    assert 'value="999"' in page and "Not saved" in page
    assert "Systolic BP must be 30–320 mmHg" in page  # a human label, not systolic_mmhg
    assert "Respiratory rate is required" in page and "Sedation (MOAA/S) is required" in page


def test_full_day_to_a_signed_discharge(nurse, rater, login, clock, services, actors, pid) -> None:
    _ready(nurse, rater)
    nurse.post("checklist", {**CHECKLIST_OK, "action": "start"})
    vitals_until(services, actors[Role.NURSE], clock, pid, 1, 40)
    for instrument, items in BEFORE.items():
        rater.rate(instrument, 40, items)
    nurse = Bedside(login(Role.NURSE), pid)  # the first session idled out
    nurse.post("end", {"version": nurse.version()})
    vitals_until(services, actors[Role.NURSE], clock, pid, 1, 120)
    clock.advance(dt.timedelta(minutes=1))
    rater = Bedside(login(Role.SAFETY_RATER), pid)
    for instrument, items in BEFORE.items():
        rater.rate(instrument, 120, items)
    rater.rate("prise", 120, {f"item_{i.key}": "no" for i in _prise_items()})
    nurse = Bedside(login(Role.NURSE), pid)
    early = nurse.get()
    assert "Not ready for discharge" in early and "physician" in early
    nurse.post(
        "discharge",
        {"version": nurse.version(), "ambulatory": "yes", "delayed_effects_checked": "yes"},
    )
    nurse.post(
        "adverse-events",
        {
            "term": "nausea",
            "severity": "mild",
            "relatedness": "possible",
            "outcome": "recovered",
            "ae_action": "none",
        },
    )
    doctor = Bedside(login(Role.INVESTIGATOR), pid)
    assert "Ready for discharge once the physician signs off" in doctor.get()
    wrong = doctor.post("signoff", {"version": doctor.version(), "password": "nope"}, expect=422)
    assert "password" in wrong.text and "discharged" not in wrong.text.lower().split("<main")[1]
    doctor.post("signoff", {"version": doctor.version(), "password": PASSWORD})
    page = nurse.get()
    assert "Discharged at" in page and "nausea" in page
    day = services.infusions.day(actors[Role.NURSE], pid, 1)
    assert day.discharged_at is not None and day.ended_at is not None


@sqlite_only
def test_outcome_rater_may_not_open_the_screen_nor_enter_a_rating(login, pid) -> None:
    client = login(Role.OUTCOME_RATER)
    assert client.get(f"/patients/{pid}/infusion/1").status_code == 403
    assert client.get(f"/patients/{pid}/assess/cadss?minute=0&infusion=1").status_code == 403


@sqlite_only
def test_a_reload_refills_the_checklist_form_from_the_record(nurse, rater) -> None:
    """The form shows the latest run of today as stored (ChecklistView.findings), not blanks."""
    _ready(nurse, rater)
    data = {**CHECKLIST_OK, "tox_recorded": "positive", "tox_positive_for": "marijuana"}
    nurse.post("checklist", {**data, "action": "check"}, expect=200)
    page = nurse.get()
    # the readings are shown as the morning's series; the boxes are for new ones (issue 12)
    assert "150/85, 138/80, 130/80" in page
    assert 'name="bp_1_sys" id="bp-1-sys" value=""' in page
    assert 'name="bp_2_dia" id="bp-2-dia" value=""' in page
    assert re.search(r'name="nil_by_mouth" value="yes"\s+checked', page)
    assert re.search(r'name="benzo_taken" value="no"\s+checked', page)
    assert re.search(r'name="pregnancy_test" value="not_applicable"\s+checked', page)
    assert re.search(r'name="tox_recorded" value="positive"\s+checked', page)
    assert 'name="tox_positive_for" value="marijuana"' in page
    assert 'name="weight_kg" value=""' in page  # the weight is stored with the start, not here


@sqlite_only
def test_discharge_reasons_carry_their_criterion_codes(nurse, rater, clock) -> None:
    _ready(nurse, rater)
    nurse.post("checklist", {**CHECKLIST_OK, "action": "start"})
    clock.advance(dt.timedelta(minutes=10))
    page = Bedside(nurse.client, nurse.pid).get()
    listed = page.split('id="discharge-not-ready"', 1)[1].split("</ul>", 1)[0]
    codes = re.findall(r'data-criterion="([a-z_]+)"', listed)
    assert codes[:2] == ["infusion_end", "observation"] and codes[-1] == "physician_signoff"
    assert "vitals_missing" in codes  # the 5-minute reading is past due (PROTOCOL.md §6)
    assert {"ambulatory", "delayed_effects", "dissociation"} <= set(codes)
    assert "other" not in codes


def test_checklist_form_values_map_the_stored_findings_to_the_form_fields() -> None:
    from ketamine_ptsd.adapters.web.bedside import checklist_form_values
    from ketamine_ptsd.services.infusions import ChecklistView

    def run(**findings: object) -> ChecklistView:
        return ChecklistView(1, 1, 1, dt.date(2026, 3, 2), True, (), (), dict(findings))

    assert checklist_form_values(None) == {}
    assert checklist_form_values(
        run(
            nil_by_mouth=False,
            pregnancy_test="negative",
            urine_toxicology_positive_for=[],
            bp_readings=["141/91", "130/80"],
            short_acting_benzodiazepine_taken_this_morning=None,
        )
    ) == {
        "nil_by_mouth": "no",
        "pregnancy_test": "negative",
        "tox_recorded": "negative",
    }  # the readings are not refilled: they are recorded, a box is for a new one (§6)
    unknown_tox = checklist_form_values(run(urine_toxicology_positive_for=None))
    assert "tox_recorded" not in unknown_tox


@sqlite_only
def test_a_medication_is_added_on_the_bedside_page_and_flagged(nurse, rater) -> None:
    """Issue 12: the list on the page; a wrong date keeps what was typed and names the field."""
    bad = {"med_drug": "alprazolam", "med_class": "benzodiazepine", "med_dose": "0.25 mg",
           "med_started_on": "yesterday"}  # fmt: skip
    page = nurse.post("medications", bad, expect=422).text
    assert 'value="alprazolam"' in page and "med_started_on" in page
    nurse.post("medications", {**bad, "med_started_on": "2026-02-01"})
    page = nurse.get()
    assert "alprazolam" in page and "changes sedation or BP" in page
    _ready(nurse, rater)
    nurse.post("checklist", {**CHECKLIST_OK, "action": "check"}, expect=200)
    assert "The checklist flags" in nurse.get()


@sqlite_only
def test_a_weight_of_900_on_the_checklist_is_refused_at_its_field(nurse, rater) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 3: not silently ignored; the form and the API share one bound."""
    _ready(nurse, rater)
    page = nurse.post(
        "checklist", {**CHECKLIST_OK, "weight_kg": "900", "action": "check"}, expect=422
    ).text
    assert 'id="field-error-weight_kg"' in page and "30–250 kg" in page
    assert 'value="900"' in page and 'min="30.0" max="250.0"' in page


@sqlite_only
def test_the_start_needs_a_second_staff_member_and_keeps_what_was_typed(
    nurse, rater, actors
) -> None:  # type: ignore[no-untyped-def]
    _ready(nurse, rater)
    wrong = {**CHECKLIST_OK, "action": "start", "witness_password": "nope", "bag_lot": "L-77"}
    page = nurse.post("checklist", wrong, expect=422).text
    assert 'id="field-error-witness_password"' in page
    assert 'value="L-77"' in page and "nope" not in page  # input kept, the password not
    assert "mg/mL" not in page  # a blinded nurse is never asked the concentration
    # the readings are recorded: the form comes back with empty boxes, sent again as it is
    again = {**CHECKLIST_OK, "bp_1_sys": "", "bp_1_dia": "", "bp_2_sys": "", "bp_2_dia": ""}
    same = {**again, "action": "start", "witness_username": "nurse"}
    assert "not you" in nurse.post("checklist", same, expect=422).text
    nurse.post("checklist", {**again, "action": "start"})
    page = nurse.get()
    assert 'id="supervising-physician">Test investigator<' in page
    assert 'id="checked-by">Test investigator (52.5 mL/h)' in page
    assert "LOT-2026-001" in page


@sqlite_only
def test_an_early_stop_and_the_witnessed_waste_through_the_form(
    nurse, rater, clock, services, actors, pid
) -> None:  # type: ignore[no-untyped-def]
    _ready(nurse, rater)
    nurse.post("checklist", {**CHECKLIST_OK, "action": "start"})
    clock.advance(dt.timedelta(minutes=20))
    version = nurse.version()
    refused = nurse.post(
        "end", {"version": version, "stopped_early": "yes", "volume_given_ml": "17.5"}, expect=422
    ).text
    assert 'id="field-error-early_stop_reason"' in refused and 'value="17.5"' in refused
    future = nurse.post("end", {"version": version, "ended_at": "23:59"}, expect=422).text
    assert 'id="field-error-ended_at"' in future
    nurse.post(
        "end",
        {
            "version": version,
            "ended_at": "08:18",
            "stopped_early": "yes",
            "volume_given_ml": "17.5",
            "early_stop_reason": "BP 190/110",
        },
    )
    page = nurse.get()
    assert "17.5 mL — stopped early: BP 190/110" in page
    nurse.post(
        "waste",
        {
            "volume_wasted_ml": "17.5",
            "witness_username": "investigator",
            "witness_password": PASSWORD,
        },
    )
    day = services.infusions.day(actors[Role.PHARMACIST], pid, 1)
    assert day.administration is not None
    assert day.ended_at == dt.datetime(2026, 3, 2, 8, 18, tzinfo=dt.UTC)
    assert day.administration.volume_wasted_ml == 17.5
    given = day.administration.dose_given_mg
    assert given == {"ketamine": 17.5, "midazolam": 1.575}[day.drug]


@sqlite_only
def test_every_unreadable_box_of_the_start_is_listed_with_its_label(nurse, rater) -> None:
    """Issue 12 (bedside): every error listed at once, each under the screen's label and at its
    box, what was typed kept; nothing is stored (the checklist is not run on a refused form)."""
    _ready(nurse, rater)
    bad = {**CHECKLIST_OK, "action": "start", "bag_expiry": "next week", "bag_volume_ml": "",
           "pump_rate_ml_per_h": "fast", "supervising_physician_id": "", "weight_kg": ""}  # fmt: skip
    page = nurse.post("checklist", bad, expect=422).text
    assert "Not saved — 5 boxes to correct:" in page
    for label in ("Today&#39;s weight (kg)", "Supervising physician", "Bag expiry",
                  "Bag volume (mL)", "Rate on the pump (mL/h)"):  # fmt: skip
        assert label in page, label
    for name in ("weight_kg", "supervising_physician_id", "bag_expiry", "bag_volume_ml",
                 "pump_rate_ml_per_h"):  # fmt: skip
        assert f'id="field-error-{name}"' in page, name
    assert 'value="fast"' in page and 'value="next week"' in page
    assert "Infusion may not start" not in page and "Checklist run" not in page
