"""Protocol versions in the record: a patient stays on the version they consented under until
they re-consent to an amendment, which an administrator publishes (issue 11)."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import make_context  # type: ignore[import-not-found]
from workflow_support import (  # type: ignore[import-not-found]
    consent,
    items,
    ready_for_infusion,
    screen_rct,
)

from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, PermissionDenied, Services, ValidationFailed
from ketamine_ptsd.services.assessments import AssessmentInput

RCT = load_protocol("rct")
#: The amendment: response is now a 50 % reduction (§8 made stricter), version 1.1.0.
AMENDED = RCT.model_copy(
    update={
        "version": "1.1.0",
        "response": RCT.response.model_copy(update={"min_reduction_fraction": 0.5}),
    }
)
SAME_VERSION_CHANGED = AMENDED.model_copy(update={"version": RCT.version})


@pytest.fixture
def files() -> dict[str, object]:
    """The site's protocol file, which the test edits as a site would."""
    return {"rct": RCT}


@pytest.fixture
def wf(db, clock, files) -> Services:  # type: ignore[no-untyped-def]
    return Services(make_context(db, clock, protocols=lambda name: files[name]))


def _week2_responder(wf: Services, actors, clock, pid: int) -> str:  # type: ignore[no-untyped-def]
    """Infusion 1, CAPS-5 50 at baseline and 30 at week 2 (a 40 % reduction): the status."""
    clock.set(dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC))
    rater = actors[Role.OUTCOME_RATER]
    wf.assessments.record(
        rater,
        pid,
        AssessmentInput("baseline", "caps5_past_week", clock.now().date(), items(20, 50)),
    )
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 70)
    )
    clock.set(dt.datetime(2026, 3, 16, 9, tzinfo=dt.UTC))
    week2 = AssessmentInput("week2", "caps5_past_week", dt.date(2026, 3, 16), items(20, 30))
    wf.assessments.record(rater, pid, week2)
    return wf.patients.get(rater, pid).status


def test_a_patient_stays_on_the_version_they_consented_under(wf, actors, clock, files) -> None:  # type: ignore[no-untyped-def]
    investigator, admin = actors[Role.INVESTIGATOR], actors[Role.ADMINISTRATOR]
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=8
    )
    first = screen_rct(wf, investigator)
    assert wf.patients.get(investigator, first).protocol_version == RCT.version
    [stored] = wf.protocol_versions.versions(investigator, "rct")
    assert stored.version == RCT.version and len(stored.digest) == 64

    files["rct"] = SAME_VERSION_CHANGED  # the file edited without a new version number
    with pytest.raises(ValidationFailed, match="needs a new version"):
        wf.protocol_versions.publish(admin, "rct", reason="stricter response definition")
    files["rct"] = AMENDED
    with pytest.raises(PermissionDenied):
        wf.protocol_versions.publish(investigator, "rct", reason="stricter response definition")
    with pytest.raises(ValidationFailed, match="reason"):
        wf.protocol_versions.publish(admin, "rct", reason="x")
    published = wf.protocol_versions.publish(admin, "rct", reason="stricter response definition")
    assert published.version == "1.1.0"
    with pytest.raises(ConflictError, match="already"):
        wf.protocol_versions.publish(admin, "rct", reason="stricter response definition")
    trail = wf.audit.entries(admin, table_name="protocol_versions")
    assert {e.event for e in trail} >= {"protocol.first_use", "protocol.amendment"}

    # Consented under 1.0.0: the old definition (30 %) still decides, and re-consent is due.
    view = wf.patients.get(investigator, first)
    assert (view.protocol_version, view.reconsent_to) == (RCT.version, "1.1.0")
    assert [p.reconsent_to for p in wf.patients.list(investigator)] == ["1.1.0"]
    second = screen_rct(wf, investigator)  # consents under the amendment
    assert wf.patients.get(investigator, second).protocol_version == "1.1.0"
    assert wf.patients.get(investigator, second).reconsent_to is None
    assert _week2_responder(wf, actors, clock, first) == "responder"  # 40 % ≥ 30 %
    assert _week2_responder(wf, actors, clock, second) == "non_responder"  # 40 % < 50 %

    consent(wf, investigator, first)  # re-consent to the amendment
    view = wf.patients.get(investigator, first)
    assert (view.protocol_version, view.reconsent_to) == ("1.1.0", None)


def test_a_consent_names_one_of_the_protocols_consent_forms(wf, actors, files) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: the consent form versions come from the protocol (``consent_forms``)."""
    from ketamine_ptsd.services.patients import ConsentInput

    investigator = actors[Role.INVESTIGATOR]
    assert RCT.consent_forms == ("v1",)
    pid = wf.patients.register(investigator, protocol_name="rct", site="YAL").id
    typed = ConsentInput("v0-draft", dt.date(2026, 3, 1), True, "Dr Independent")
    with pytest.raises(ValidationFailed, match=r"consent forms of rct 1\.0\.0: v1") as refused:
        wf.patients.record_consent(investigator, pid, typed)
    assert refused.value.field == "consent_version" and refused.value.value == "v0-draft"
    assert wf.patients.consents(investigator, pid) == []
    consent(wf, investigator, pid)
    # An amendment that approves a new form: a re-consent names it.
    files["rct"] = AMENDED.model_copy(update={"consent_forms": ("v2",)})
    wf.protocol_versions.publish(
        actors[Role.ADMINISTRATOR], "rct", reason="stricter response, consent form v2"
    )
    with pytest.raises(ValidationFailed, match="v2"):
        consent(wf, investigator, pid)  # the old form
    renewed = ConsentInput("v2", dt.date(2026, 3, 1), True, "Dr Independent")
    wf.patients.record_consent(investigator, pid, renewed)
    assert wf.patients.get(investigator, pid).protocol_version == "1.1.0"
