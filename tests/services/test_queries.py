"""Data queries (issue 17): raised by a monitor on one field, answered by the site by a
correction or an explanation, closed or re-opened — every step audited, the blind kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ketamine_ptsd.core.conduct import QueryEvent, QueryRefused, QueryState, next_query_state
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    Actor,
    ConflictError,
    NotFound,
    PermissionDenied,
    Services,
    ValidationFailed,
)
from ketamine_ptsd.services.records import Demographics
from ketamine_ptsd.services.screening_views import DemographicsInput


def _patient_with_demographics(services: Services, actors: dict[Role, Actor]) -> tuple[int, int]:
    md = actors[Role.INVESTIGATOR]
    pid = services.patients.register(md, protocol_name="rct", site="S1").id
    services.screening.record_demographics(
        md, pid, DemographicsInput(age_years=82, sex="female", race="White")
    )
    with services.context.uow(md, write=False) as uow:
        rid = uow.session.scalar(select(Demographics.id).where(Demographics.patient_id == pid))
    return pid, int(rid)


def _raise(services: Services, actors: dict[Role, Actor], pid: int, rid: int) -> object:
    return services.queries.raise_query(
        actors[Role.MONITOR],
        patient_id=pid,
        table_name="demographics",
        record_id=str(rid),
        field="age_years",
        question="Age 82 years: please check against the source",
    )


def test_the_query_life_in_the_core_refuses_what_does_not_apply() -> None:
    assert next_query_state(None, QueryEvent.RAISE) is QueryState.OPEN
    assert next_query_state(QueryState.OPEN, QueryEvent.ANSWER) is QueryState.ANSWERED
    assert next_query_state(QueryState.ANSWERED, QueryEvent.CLOSE) is QueryState.CLOSED
    assert next_query_state(QueryState.CLOSED, QueryEvent.REOPEN) is QueryState.OPEN
    assert next_query_state(QueryState.ANSWERED, QueryEvent.REOPEN) is QueryState.OPEN
    with pytest.raises(
        QueryRefused, match="cannot close a query that is open; only a query that is answered"
    ):
        next_query_state(QueryState.OPEN, QueryEvent.CLOSE)
    with pytest.raises(QueryRefused):
        next_query_state(QueryState.CLOSED, QueryEvent.ANSWER)
    with pytest.raises(QueryRefused):
        next_query_state(QueryState.OPEN, QueryEvent.RAISE)


def test_a_monitor_raises_the_site_corrects_the_monitor_closes(
    services: Services, actors: dict[Role, Actor]
) -> None:
    pid, rid = _patient_with_demographics(services, actors)
    q = _raise(services, actors, pid, rid)
    assert (q.state, q.value_raised, q.raised_by, q.origin) == ("open", 82, "monitor", "manual")  # type: ignore[attr-defined]
    md = actors[Role.INVESTIGATOR]
    # "corrected" is refused while the value is what the query was raised on
    with pytest.raises(ValidationFailed) as unchanged:
        services.queries.answer(
            md, q.id, answer="Corrected to 28", corrected=True, expected_version=1
        )  # type: ignore[attr-defined]
    assert unchanged.value.field == "corrected"
    services.screening.record_demographics(
        md,
        pid,
        DemographicsInput(age_years=28, sex="female", race="White"),
        expected_version=1,
        reason="typing error: the source says 28 (query)",
    )
    answered = services.queries.answer(
        md,
        q.id,
        answer="Corrected to 28 from the source",
        corrected=True,
        expected_version=1,  # type: ignore[attr-defined]
    )
    assert (answered.state, answered.corrected, answered.answered_by) == (
        "answered",
        True,
        "investigator",
    )
    with pytest.raises(PermissionDenied):
        services.queries.close(md, q.id, expected_version=answered.version)  # type: ignore[attr-defined]
    with pytest.raises(ConflictError, match="changed by someone else"):
        services.queries.close(actors[Role.MONITOR], q.id, expected_version=1)  # type: ignore[attr-defined]
    closed = services.queries.close(actors[Role.MONITOR], q.id, expected_version=answered.version)  # type: ignore[attr-defined]
    assert closed.state == "closed" and closed.closed_by == "monitor"
    with pytest.raises(ConflictError, match="cannot answer a query that is closed"):
        services.queries.answer(
            md, q.id, answer="again, again", corrected=False, expected_version=closed.version
        )  # type: ignore[attr-defined]
    # every step is in the audit trail
    rows = services.audit.entries(actors[Role.ADMINISTRATOR], table_name="data_queries")
    states = [r.new_value for r in rows if r.field == "state"]
    assert states == ["open", "answered", "closed"]
    assert {r.actor_username for r in rows} == {"monitor", "investigator"}


def test_an_explanation_and_a_reopen(services: Services, actors: dict[Role, Actor]) -> None:
    pid, rid = _patient_with_demographics(services, actors)
    q = _raise(services, actors, pid, rid)
    nurse = actors[Role.NURSE]
    answered = services.queries.answer(
        nurse,
        q.id,
        answer="Source says 82; asking the investigator",
        corrected=False,
        expected_version=1,  # type: ignore[attr-defined]
    )
    reopened = services.queries.reopen(
        actors[Role.STATISTICIAN],
        q.id,  # type: ignore[attr-defined]
        question="82 is not the age on the consent form",
        expected_version=answered.version,
    )
    assert (reopened.state, reopened.reopen_count, reopened.answer) == ("open", 1, None)
    assert reopened.question == "82 is not the age on the consent form"
    counts = services.queries.counts(actors[Role.MONITOR])
    assert counts.by_state == {"open": 1, "answered": 0, "closed": 0}
    assert counts.open_by_form == {"demographics": 1} and counts.open_by_age["0-7 days"] == 1
    listed = services.queries.list(actors[Role.NURSE], patient_id=pid, state="open")
    assert [v.id for v in listed] == [q.id]  # type: ignore[attr-defined]


def test_refusals_name_the_field_and_keep_the_value(
    services: Services, actors: dict[Role, Actor]
) -> None:
    pid, rid = _patient_with_demographics(services, actors)
    monitor = actors[Role.MONITOR]
    base = dict(patient_id=pid, table_name="demographics", record_id=str(rid), field="age_years")
    with pytest.raises(ValidationFailed) as short:
        services.queries.raise_query(monitor, **base, question="?")  # type: ignore[arg-type]
    assert (short.value.field, short.value.value) == ("question", "?")
    for change, field in (
        ({"table_name": "audit_log"}, "table_name"),
        ({"table_name": "users"}, "table_name"),  # not patient data (users has no patient)
        ({"field": "no_such_field"}, "field"),
        ({"record_id": "x1"}, "record_id"),
    ):
        with pytest.raises((ValidationFailed, NotFound)) as bad:
            services.queries.raise_query(monitor, **{**base, **change}, question="please check")  # type: ignore[arg-type]
        if isinstance(bad.value, ValidationFailed):
            assert bad.value.field == field
    other = services.patients.register(actors[Role.INVESTIGATOR], protocol_name="rct", site="S1").id
    with pytest.raises(NotFound):
        services.queries.raise_query(
            monitor, **{**base, "patient_id": other}, question="please check"
        )  # type: ignore[arg-type]
    for role in (Role.NURSE, Role.OUTCOME_RATER, Role.PHARMACIST):
        with pytest.raises(PermissionDenied):
            services.queries.raise_query(actors[role], **base, question="please check")  # type: ignore[arg-type]


def test_no_query_on_a_field_that_would_carry_the_allocation(
    services: Services, actors: dict[Role, Actor]
) -> None:
    pid, rid = _patient_with_demographics(services, actors)
    with pytest.raises(ValidationFailed) as blind:
        services.queries.raise_query(
            actors[Role.MONITOR],
            patient_id=pid,
            table_name="unblindings",
            record_id="1",
            field="reason",  # the emergency unblinding's reason names the arm (PROTOCOL.md §3)
            question="please check this",
        )
    assert blind.value.field == "field" and "may not see" in blind.value.message
    q = _raise(services, actors, pid, rid)
    assert services.queries.get(actors[Role.NURSE], q.id).value_raised == 82  # type: ignore[attr-defined]


def test_the_monitors_picker_lists_the_patients_forms_and_fields_never_the_blind(
    services: Services, actors: dict[Role, Actor], clock
) -> None:  # type: ignore[no-untyped-def]
    from workflow_support import screen_rct  # type: ignore[import-not-found]

    from conduct_support import IMPLAUSIBLE_HR, unchecked_reading  # type: ignore[import-not-found]
    from ketamine_ptsd.core.roles import Sensitivity
    from ketamine_ptsd.services.audit.hooks import audited_columns
    from ketamine_ptsd.services.patient_records import form_class

    pid = screen_rct(services, actors[Role.INVESTIGATOR])
    _, reading_id = unchecked_reading(services, actors, clock, pid)
    monitor = actors[Role.MONITOR]
    forms = services.queries.forms(monitor, pid)
    tables = {f.table_name for f in forms}
    assert {"patients", "consents", "screening_visits", "infusion_days", "vital_signs"} <= tables
    reading = next(
        f for f in forms if (f.table_name, f.record_id) == ("vital_signs", str(reading_id))
    )
    assert reading.label == f"vital signs {reading_id} · infusion 1 · minute 5"
    fields = {
        f.field: f.value
        for f in services.queries.fields(
            monitor, pid, table_name="vital_signs", record_id=str(reading_id)
        )
    }
    assert fields["heart_rate_bpm"] == IMPLAUSIBLE_HR and fields["spo2_percent"] is None
    assert not {"id", "patient_id", "version", "recorded_by"} & set(fields)
    # the blind: no field the monitor may not see, on any record of the patient
    for f in forms:
        sensitivity = {c.key: c.sensitivity for c in audited_columns(form_class(f.table_name))}
        for field in services.queries.fields(
            monitor, pid, table_name=f.table_name, record_id=f.record_id
        ):
            assert sensitivity[field.field] not in (
                Sensitivity.ALLOCATION.value,
                Sensitivity.SECRET.value,
                Sensitivity.IDENTITY.value,
            ), (f.table_name, field.field)
    with pytest.raises(PermissionDenied):
        services.queries.forms(actors[Role.NURSE], pid)
    with pytest.raises(NotFound):
        services.queries.fields(monitor, pid, table_name="vital_signs", record_id="999999")
