"""Registration, identity, consent (PROTOCOL.md §1, §2), screening outcomes, voiding."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.workflow import BLINDED_LABEL
from ketamine_ptsd.services import (
    AuthenticationFailed,
    ConflictError,
    NotFound,
    PermissionDenied,
    Services,
    ValidationFailed,
)
from ketamine_ptsd.services.patients import (
    CLINIC_CONSENT_TOPICS,
    ConsentInput,
    IdentityInput,
)


def test_study_ids_are_site_prefix_and_sequence(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    ids = [
        services.patients.register(investigator, protocol_name="rct", site=s).study_id
        for s in ("YAL", "YAL", "VA")
    ]
    assert ids == ["YAL-0001", "YAL-0002", "VA-0001"]


def test_identity_is_readable_only_by_identity_roles(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    patient = services.patients.register(
        actors[Role.INVESTIGATOR],
        protocol_name="rct",
        site="YAL",
        identity=IdentityInput("Doe", "Jane", dt.date(1980, 5, 1)),
    )
    assert services.patients.identity(actors[Role.ADMINISTRATOR], patient.id).family_name == "Doe"
    for role in (Role.NURSE, Role.OUTCOME_RATER, Role.MONITOR, Role.STATISTICIAN, Role.PHARMACIST):
        with pytest.raises(PermissionDenied):
            services.patients.identity(actors[role], patient.id)
    assert "Doe" not in repr(services.patients.get(actors[Role.NURSE], patient.id))


def test_clinicians_work_only_with_open_label_clinic_patients(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    trial_patient = services.patients.register(
        actors[Role.INVESTIGATOR], protocol_name="rct", site="YAL"
    )
    clinician = actors[Role.CLINICIAN]
    clinic_patient = services.patients.register(clinician, protocol_name="clinical", site="CLN")
    with pytest.raises(PermissionDenied):
        services.patients.get(clinician, trial_patient.id)
    with pytest.raises(ValidationFailed):
        services.patients.register(clinician, protocol_name="rct", site="YAL")
    assert [p.id for p in services.patients.list(clinician)] == [clinic_patient.id]


def test_clinic_consent_must_cover_every_topic_of_section_2(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    patient = services.patients.register(clinician, protocol_name="clinical", site="CLN")
    partial = ConsentInput("v1", dt.date(2026, 3, 1), True, None, None, CLINIC_CONSENT_TOPICS[:-1])
    with pytest.raises(ValidationFailed) as excinfo:
        services.patients.record_consent(clinician, patient.id, partial)
    assert excinfo.value.field == "topics" and "maintenance_plan" in excinfo.value.message
    assert services.patients.consents(clinician, patient.id) == []
    full = ConsentInput("v1", dt.date(2026, 3, 1), True, None, None, CLINIC_CONSENT_TOPICS)
    assert (
        services.patients.record_consent(clinician, patient.id, full).topics
        == CLINIC_CONSENT_TOPICS
    )


@pytest.mark.parametrize(
    ("consent", "field"),
    [
        (ConsentInput("v1", dt.date(2026, 3, 1), False, "Dr C"), "capacity_assessed"),
        (ConsentInput("v1", dt.date(2026, 3, 1), True, None), "capacity_assessor"),
        (ConsentInput("v1", dt.date(2026, 3, 9), True, "Dr C"), "consent_date"),
        (ConsentInput(" ", dt.date(2026, 3, 1), True, "Dr C"), "consent_version"),
    ],
)
def test_trial_consent_needs_an_independent_capacity_assessment(
    services: Services, actors, consent, field
) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = services.patients.register(investigator, protocol_name="rct", site="YAL")
    with pytest.raises(ValidationFailed) as excinfo:
        services.patients.record_consent(investigator, patient.id, consent)
    assert excinfo.value.field == field


def test_screen_failures_and_refusals_are_kept_with_reasons(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    failed = services.patients.register(investigator, protocol_name="rct", site="YAL")
    declined = services.patients.register(investigator, protocol_name="rct", site="YAL")
    with pytest.raises(ValidationFailed) as excinfo:
        services.patients.record_screening_outcome(
            investigator, failed.id, outcome="screen_failed", decided_on=dt.date(2026, 3, 1)
        )
    assert excinfo.value.field == "reasons"
    services.patients.record_screening_outcome(
        investigator,
        failed.id,
        outcome="screen_failed",
        decided_on=dt.date(2026, 3, 1),
        reasons=["CAPS-5 total below 30 (PROTOCOL.md §1)"],
    )
    services.patients.record_screening_outcome(
        investigator,
        declined.id,
        outcome="declined",
        decided_on=dt.date(2026, 3, 1),
        reasons=["did not want infusions"],
    )
    assert services.patients.get(investigator, failed.id).status == "screen_failed"
    assert services.patients.screening_outcomes(actors[Role.MONITOR], declined.id)[0].reasons == (
        "did not want infusions",
    )
    with pytest.raises(ConflictError, match="screen_failed"):
        services.patients.record_screening_outcome(
            investigator,
            failed.id,
            outcome="declined",
            decided_on=dt.date(2026, 3, 1),
            reasons=["changed their mind"],
        )


def test_a_bare_eligible_outcome_is_refused_saying_what_is_missing(
    services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: a form made a consented patient eligible with no screening data at all."""
    investigator = actors[Role.INVESTIGATOR]
    patient = services.patients.register(investigator, protocol_name="rct", site="YAL")
    services.patients.record_consent(
        investigator, patient.id, ConsentInput("v1", dt.date(2026, 3, 1), True, "Dr C")
    )
    with pytest.raises(ValidationFailed, match="screening visit") as refused:
        services.patients.record_screening_outcome(
            investigator, patient.id, outcome="eligible", decided_on=dt.date(2026, 3, 1)
        )
    assert refused.value.field == "outcome" and refused.value.value == "eligible"
    assert "§1" in refused.value.message and "override" in refused.value.message
    assert services.patients.get(investigator, patient.id).status == "screening"
    assert services.patients.screening_outcomes(investigator, patient.id) == []


def test_a_stale_edit_is_refused_with_a_conflict(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = services.patients.register(investigator, protocol_name="rct", site="YAL")
    services.patients.edit(
        investigator,
        patient.id,
        expected_version=patient.version,
        reason="stratum known",
        stratum="male",
    )
    with pytest.raises(ConflictError):
        services.patients.edit(
            investigator,
            patient.id,
            expected_version=patient.version,
            reason="other",
            stratum="female",
        )
    assert services.patients.get(investigator, patient.id).stratum == "male"


def test_voiding_keeps_the_record_with_its_reason(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = services.patients.register(investigator, protocol_name="rct", site="YAL")
    with pytest.raises(ValidationFailed):
        services.patients.void(
            investigator, patient.id, expected_version=patient.version, reason=""
        )
    services.patients.void(
        investigator, patient.id, expected_version=patient.version, reason="registered twice"
    )
    assert services.patients.list(investigator) == []
    voided = services.patients.list(investigator, include_voided=True)
    assert [(p.voided, p.void_reason) for p in voided] == [(True, "registered twice")]
    events = services.audit.entries(
        actors[Role.ADMINISTRATOR], table_name="patients", record_id=str(patient.id)
    )
    assert any(e.event == "void" and e.reason == "registered twice" for e in events)


def test_invalid_registrations_change_nothing(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    before = services.audit.count(actors[Role.ADMINISTRATOR])
    for kwargs, field in (
        ({"site": "y"}, "site"),
        ({"site": "YAL", "protocol_name": "nope"}, "protocol_name"),
    ):
        with pytest.raises(ValidationFailed) as excinfo:
            services.patients.register(investigator, **{"protocol_name": "rct", **kwargs})
        assert excinfo.value.field == field
    with pytest.raises(NotFound):
        services.patients.get(investigator, 999)
    assert services.audit.count(actors[Role.ADMINISTRATOR]) == before
    assert services.patients.list(investigator) == []


def _listing_world(services: Services, actors, enrol) -> list[int]:  # type: ignore[no-untyped-def]
    """Six trial patients (four allocated, the second emergency-unblinded, the last voided) and
    a clinic patient: every branch of the allocation's visibility."""
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=8
    )
    trial = [enrol() for _ in range(6)]
    for pid in trial[:4]:
        services.randomization.allocate(
            actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
        )
    services.randomization.emergency_unblind(
        actors[Role.INVESTIGATOR], trial[1], reason="suspected serious reaction", password=PASSWORD
    )
    voided = services.patients.get(actors[Role.INVESTIGATOR], trial[5])
    services.patients.void(
        actors[Role.INVESTIGATOR], voided.id, expected_version=voided.version, reason="duplicate"
    )
    return [*trial, enrol("clinical")]


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMINISTRATOR])
def test_the_list_shows_each_patient_as_get_does_for_every_role(
    services: Services, actors, enrol, role: Role
) -> None:  # type: ignore[no-untyped-def]
    """The joined list decides the blind per role, not per patient; it must agree with ``get``
    (services/access.py ``allocation_visibility``) patient by patient (PROTOCOL.md §3)."""
    _listing_world(services, actors, enrol)
    actor = actors[role]
    try:
        listed = services.patients.list(actor, include_voided=True)
    except PermissionDenied:
        return
    assert listed, role
    assert listed == [services.patients.get(actor, p.id) for p in listed]
    if role is Role.INVESTIGATOR:  # the one patient unblinded in an emergency shows the drug
        treatments = [p.treatment for p in listed]
        assert treatments[1] in ("ketamine", "midazolam")
        assert treatments[:4:2] + treatments[3:4] == ["study drug"] * 3
        assert treatments[4:] == [None, None, None]


def test_the_list_reads_the_record_in_two_queries_however_many_patients(
    services: Services, actors, enrol, db
) -> None:  # type: ignore[no-untyped-def]
    """No N+1: one joined query for patients, allocations and slots, one for unblindings."""
    from sqlalchemy import event

    _listing_world(services, actors, enrol)
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        listed = services.patients.list(actors[Role.INVESTIGATOR], include_voided=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(listed) == 7
    assert len(statements) == 2, statements


def test_emergency_unblinding_needs_the_password_again(services: Services, actors, enrol) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    pid = enrol()
    services.randomization.allocate(investigator, pid, infusion_date=dt.date(2026, 3, 2))
    with pytest.raises(AuthenticationFailed):
        services.randomization.emergency_unblind(
            investigator, pid, reason="suspected serious reaction", password="not my password"
        )
    assert services.patients.get(investigator, pid).treatment == BLINDED_LABEL  # still blind
    events = [e.event for e in services.audit.entries(actors[Role.ADMINISTRATOR])]
    assert "unblind" not in events and events.count("login_failed") == 1
    services.randomization.emergency_unblind(
        investigator, pid, reason="suspected serious reaction", password=PASSWORD
    )
    assert services.patients.get(investigator, pid).treatment != BLINDED_LABEL


@pytest.mark.parametrize("stratum", ["<script>alert(1)</script>", " ", "a" * 65, "x;DROP"])
def test_a_malformed_stratum_is_refused_at_registration(
    services: Services, actors, stratum: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        services.patients.register(
            actors[Role.INVESTIGATOR], protocol_name="rct", site="YAL", stratum=stratum
        )
    assert refused.value.field == "stratum"


def test_a_stratum_must_be_one_of_the_sealed_lists_and_only_a_trial_has_strata(
    services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    services.randomization.generate_list(
        actors[Role.PHARMACIST],
        protocol_name="rct",
        list_version="L1",
        slots_per_stratum=4,
        strata=("male", "female"),
    )
    assert (
        services.patients.register(
            investigator, protocol_name="rct", site="YAL", stratum="female"
        ).stratum
        == "female"
    )
    with pytest.raises(ValidationFailed, match="male, female"):
        services.patients.register(investigator, protocol_name="rct", site="YAL", stratum="other")
    patient = services.patients.register(investigator, protocol_name="rct", site="YAL")
    with pytest.raises(ValidationFailed):
        services.patients.edit(
            investigator, patient.id, expected_version=patient.version, reason="r", stratum="x"
        )
    with pytest.raises(ValidationFailed, match="only a randomized trial"):
        services.patients.register(
            actors[Role.CLINICIAN], protocol_name="clinical", site="YAL", stratum="male"
        )
