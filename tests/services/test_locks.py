"""The database lock (issue 17): an investigator's audited lock refuses every write of patient
data, the audited unlock lifts it, and the final analysis needs it (services/locks.py,
services/lock_guard.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    Actor,
    AuthenticationFailed,
    ConflictError,
    NotFound,
    PermissionDenied,
    Services,
    ValidationFailed,
)
from ketamine_ptsd.services.audit import read_head
from ketamine_ptsd.services.errors import DatabaseLocked
from ketamine_ptsd.services.lock_guard import UNLOCKED_TABLES

REASON = "all patients past week 2; data cleaned"


def _register(services: Services, actors: dict[Role, Actor]) -> int:
    return services.patients.register(actors[Role.INVESTIGATOR], protocol_name="rct", site="S1").id


def test_only_an_investigator_locks_with_a_reason_and_the_password(
    services: Services, actors: dict[Role, Actor]
) -> None:
    for role in (Role.STATISTICIAN, Role.ADMINISTRATOR, Role.MONITOR, Role.NURSE):
        with pytest.raises(PermissionDenied):
            services.locks.lock(actors[role], reason=REASON, password=PASSWORD)
    with pytest.raises(ValidationFailed) as short:
        services.locks.lock(actors[Role.INVESTIGATOR], reason=" too short ", password=PASSWORD)
    assert short.value.field == "reason" and short.value.value == " too short "
    with pytest.raises(AuthenticationFailed):
        services.locks.lock(actors[Role.INVESTIGATOR], reason=REASON, password="wrong password")
    assert services.locks.status(actors[Role.NURSE]) is None
    _register(services, actors)  # nothing was locked by the refusals


def test_a_lock_refuses_every_write_of_patient_data_and_keeps_nothing(
    services: Services, actors: dict[Role, Actor], db: object
) -> None:
    pid = _register(services, actors)
    before = services.patients.list(actors[Role.INVESTIGATOR])
    view = services.locks.lock(actors[Role.INVESTIGATOR], reason=REASON, password=PASSWORD)
    assert view.open and view.locked_by == "investigator" and view.reason == REASON
    with pytest.raises(DatabaseLocked) as refused:
        _register(services, actors)
    assert refused.value.table == "patients"
    assert REASON in refused.value.message and "until an investigator unlocks it" in str(
        refused.value
    )
    with pytest.raises(DatabaseLocked):
        services.patients.void(
            actors[Role.INVESTIGATOR], pid, expected_version=1, reason="entered in error, test"
        )
    assert services.patients.list(actors[Role.INVESTIGATOR]) == before
    # what a locked record still needs: sign-in, accounts, sanctions, the audit trail
    services.auth.login("statistician", PASSWORD)
    services.analysis.sanction(
        actors[Role.ADMINISTRATOR],
        statistician_user_id=actors[Role.STATISTICIAN].user_id,
        level="full",
        purpose="final",
        reason="the final analysis on the locked record",
        expires_at=view.locked_at + dt.timedelta(days=30),
    )
    assert services.locks.status(actors[Role.OUTCOME_RATER]) == view


def test_the_lock_seals_the_audit_head_and_the_unlock_is_audited(
    services: Services, actors: dict[Role, Actor], db: object
) -> None:
    _register(services, actors)
    with services.context.uow(actors[Role.INVESTIGATOR], write=False) as uow:
        seq, head = read_head(uow.session)
    view = services.locks.lock(actors[Role.INVESTIGATOR], reason=REASON, password=PASSWORD)
    # the lock's own audit rows come after the head it seals
    assert view.digest == f"#{seq} {head}"
    with pytest.raises(ConflictError, match="locked already"):
        services.locks.lock(actors[Role.INVESTIGATOR], reason=REASON, password=PASSWORD)
    lifted = services.locks.unlock(
        actors[Role.INVESTIGATOR],
        reason="a query on patient 3 needs a correction",
        password=PASSWORD,
    )
    assert not lifted.open and lifted.unlocked_by == "investigator"
    assert lifted.unlock_reason == "a query on patient 3 needs a correction"
    assert services.locks.status(actors[Role.NURSE]) is None
    _register(services, actors)  # writes are accepted again
    with pytest.raises(ConflictError, match="not locked"):
        services.locks.unlock(actors[Role.INVESTIGATOR], reason=REASON, password=PASSWORD)
    rows = services.audit.entries(actors[Role.ADMINISTRATOR], table_name="database_locks")
    fields = {(r.field, r.new_value) for r in rows}
    assert ("reason", REASON) in fields
    assert ("unlock_reason", "a query on patient 3 needs a correction") in fields
    assert {r.actor_username for r in rows} == {"investigator"}
    assert [v.open for v in services.locks.history(actors[Role.MONITOR])] == [False]


def test_a_table_not_on_the_allow_list_is_locked_by_default() -> None:
    # An allow-list: a table added later holds patient data until said otherwise.
    assert "patients" not in UNLOCKED_TABLES and "vital_signs" not in UNLOCKED_TABLES
    assert {"users", "audit_log", "database_locks", "unblindings"} <= UNLOCKED_TABLES


def test_a_patient_lock_refuses_that_patients_writes_only_and_waits_for_queries(
    services: Services, actors: dict[Role, Actor]
) -> None:
    from ketamine_ptsd.services.screening_views import DemographicsInput

    md, monitor = actors[Role.INVESTIGATOR], actors[Role.MONITOR]
    locked, other = _register(services, actors), _register(services, actors)
    query = services.queries.raise_query(
        monitor,
        patient_id=locked,
        table_name="patients",
        record_id=str(locked),
        field="site",
        question="Is S1 the right site code?",
    )
    with pytest.raises(ConflictError, match="1 query"):
        services.locks.lock(md, reason=REASON, password=PASSWORD, patient_id=locked)
    answered = services.queries.answer(
        md, query.id, answer="Yes, S1 is right", corrected=False, expected_version=1
    )
    services.queries.close(monitor, query.id, expected_version=answered.version)
    view = services.locks.lock(
        md, reason="last visit done, queries closed", password=PASSWORD, patient_id=locked
    )
    assert view.patient == "S1-0001" and view.describe().startswith("patient S1-0001 locked")
    assert services.locks.status(md) is None  # the database itself is not locked
    demographics = DemographicsInput(age_years=40, sex="male", race="White")
    with pytest.raises(DatabaseLocked, match="this patient's record is locked") as refused:
        services.screening.record_demographics(md, locked, demographics)
    assert refused.value.table == "demographics"
    services.screening.record_demographics(md, other, demographics)  # another patient: fine
    with pytest.raises(ConflictError, match="is locked already"):
        services.locks.lock(md, reason=REASON, password=PASSWORD, patient_id=locked)
    services.locks.unlock(
        md, reason="a late lab value to enter", password=PASSWORD, patient_id=locked
    )
    services.screening.record_demographics(md, locked, demographics)


def test_a_form_is_locked_only_once_verified_and_then_refuses_changes(
    services: Services, actors: dict[Role, Actor]
) -> None:
    from ketamine_ptsd.services.screening_views import DemographicsInput

    md, monitor = actors[Role.INVESTIGATOR], actors[Role.MONITOR]
    pid = _register(services, actors)
    services.screening.record_demographics(md, pid, DemographicsInput(40, "male", "White"))
    rid = "1"
    form = {"table_name": "demographics", "record_id": rid}
    with pytest.raises(ConflictError, match="not verified against source"):
        services.locks.lock_form(monitor, pid, **form, reason=REASON, password=PASSWORD)
    services.sdv.verify(monitor, pid, **form)
    with pytest.raises(PermissionDenied):
        services.locks.lock_form(actors[Role.NURSE], pid, **form, reason=REASON, password=PASSWORD)
    view = services.locks.lock_form(
        monitor, pid, **form, reason="verified at the visit", password=PASSWORD
    )
    assert view.form == "demographics 1" and "form demographics 1 locked" in view.describe()
    with pytest.raises(DatabaseLocked, match="this form is locked"):
        services.screening.record_demographics(
            md,
            pid,
            DemographicsInput(41, "male", "White"),
            expected_version=1,
            reason="age was wrong",
        )
    services.patients.edit(md, pid, expected_version=1, reason="nothing to change, just a save")
    services.locks.unlock_form(
        monitor, **form, reason="the age is to be corrected", password=PASSWORD
    )
    services.screening.record_demographics(
        md, pid, DemographicsInput(41, "male", "White"), expected_version=1, reason="age was wrong"
    )


def test_locks_are_site_scoped_like_every_patient_read(
    services: Services, actors: dict[Role, Actor]
) -> None:
    admin = Actor.system("test-admin")
    for code in ("YAL", "BOS"):
        services.sites.add(admin, code=code, name=code, time_zone="UTC")
    md = actors[Role.INVESTIGATOR]
    yal = services.patients.register(md, protocol_name="rct", site="YAL").id
    bos = services.patients.register(md, protocol_name="rct", site="BOS").id
    services.locks.lock(
        md, reason="last visit done, queries closed", password=PASSWORD, patient_id=bos
    )
    services.locks.lock(
        md, reason="last visit done, queries closed", password=PASSWORD, patient_id=yal
    )
    services.locks.lock(md, reason=REASON, password=PASSWORD)
    services.sites.add_member(admin, username="investigator", site="YAL")
    scoped = services.auth.login("investigator", PASSWORD).actor
    assert [v.patient for v in services.locks.history(md)] == [None, "YAL-0001", "BOS-0001"]
    assert [v.patient for v in services.locks.history(scoped)] == [None, "YAL-0001"]
    assert services.locks.patient_lock(scoped, yal) is not None
    with pytest.raises(NotFound):
        services.locks.patient_lock(scoped, bos)
    with pytest.raises(NotFound):  # another site's patient is not found, not unlocked
        services.locks.unlock(scoped, reason="a late lab value", password=PASSWORD, patient_id=bos)
    assert services.locks.patient_lock(md, bos) is not None
    # who reads the history: those who lock (investigator, monitor) and the audit's readers
    assert services.locks.history(actors[Role.MONITOR])
    with pytest.raises(PermissionDenied):
        services.locks.history(actors[Role.NURSE])


def test_a_form_is_unlocked_only_under_its_own_patient(
    services: Services, actors: dict[Role, Actor]
) -> None:
    from ketamine_ptsd.services.screening_views import DemographicsInput

    md, monitor = actors[Role.INVESTIGATOR], actors[Role.MONITOR]
    pid, other = _register(services, actors), _register(services, actors)
    services.screening.record_demographics(md, pid, DemographicsInput(40, "male", "White"))
    form = {"table_name": "demographics", "record_id": "1"}
    services.sdv.verify(monitor, pid, **form)
    services.locks.lock_form(
        monitor, pid, **form, reason="verified at the visit", password=PASSWORD
    )
    with pytest.raises(ConflictError, match="is not locked"):
        services.locks.unlock_form(
            md, **form, reason="the age is to be corrected", password=PASSWORD, patient_id=other
        )
    with pytest.raises(NotFound):
        services.locks.unlock_form(
            md, **form, reason="the age is to be corrected", password=PASSWORD, patient_id=999_999
        )
    view = services.locks.unlock_form(
        md, **form, reason="the age is to be corrected", password=PASSWORD, patient_id=pid
    )
    assert not view.open and view.unlocked_by == "investigator"


def test_the_database_is_locked_only_when_every_query_is_closed(
    services: Services, actors: dict[Role, Actor]
) -> None:
    """A query open or answered holds the database lock, counted by form; closing it lets
    the lock through (issue 17: the final analysis runs on clean, locked data)."""
    md, monitor = actors[Role.INVESTIGATOR], actors[Role.MONITOR]
    pid = _register(services, actors)
    query = services.queries.raise_query(
        monitor,
        patient_id=pid,
        table_name="patients",
        record_id=str(pid),
        field="site",
        question="Is S1 the right site code?",
    )
    with pytest.raises(ConflictError) as held:
        services.locks.lock(md, reason=REASON, password=PASSWORD)
    assert "1 query(ies) not closed (1 on patients)" in held.value.message
    answered = services.queries.answer(
        md, query.id, answer="Yes, S1 is right", corrected=False, expected_version=1
    )
    with pytest.raises(ConflictError, match="not closed"):  # answered is not resolved
        services.locks.lock(md, reason=REASON, password=PASSWORD)
    assert services.locks.status(md) is None
    services.queries.close(monitor, query.id, expected_version=answered.version)
    assert services.locks.lock(md, reason=REASON, password=PASSWORD).open


def test_a_site_investigator_cannot_lock_or_unlock_the_whole_database(
    services: Services, actors: dict[Role, Actor]
) -> None:
    admin = Actor.system("test-admin")
    services.sites.add(admin, code="S1", name="Site one", time_zone="UTC")
    site_md = Actor(
        user_id=actors[Role.INVESTIGATOR].user_id,
        username="investigator",
        role=Role.INVESTIGATOR,
        sites=frozenset({"S1"}),
    )
    with pytest.raises(PermissionDenied, match=r"database\.lock"):
        services.locks.lock(site_md, reason=REASON, password=PASSWORD)
    services.locks.lock(actors[Role.INVESTIGATOR], reason=REASON, password=PASSWORD)
    with pytest.raises(PermissionDenied, match=r"database\.unlock"):
        services.locks.unlock(site_md, reason=REASON, password=PASSWORD)
    assert services.locks.status(site_md) is not None


def test_a_protocol_is_locked_when_each_of_its_patients_is(
    services: Services, actors: dict[Role, Actor]
) -> None:
    """The final analysis's lock may be the protocol's patients locked one by one (a record
    that keeps a clinic open beside a finished trial): every patient of the protocol, none
    left out, and a lock lifted and taken again is a different lock."""
    from ketamine_ptsd.services.lock_guard import protocol_lock

    md = actors[Role.INVESTIGATOR]
    trial = [_register(services, actors) for _ in range(2)]
    clinic = services.patients.register(md, protocol_name="clinical", site="S1").id

    def lock_of(name: str):  # type: ignore[no-untyped-def]
        with services.context.uow(md, write=False) as uow:
            return protocol_lock(uow.session, name)

    assert lock_of("rct") is None
    services.locks.lock(md, reason=REASON, password=PASSWORD, patient_id=trial[0])
    assert lock_of("rct") is None  # one of two is not enough
    last = services.locks.lock(md, reason=REASON, password=PASSWORD, patient_id=trial[1])
    held = lock_of("rct")
    assert held is not None and held.scope == "protocol" and "all 2 patients" in held.reason
    assert held.locked_at == last.locked_at
    assert lock_of("clinical") is None  # the clinic's patient is not locked by the trial's
    services.patients.get(md, clinic)  # and the clinic still writes:
    services.patients.register(md, protocol_name="clinical", site="S1")
    services.locks.unlock(md, reason=REASON, password=PASSWORD, patient_id=trial[1])
    assert lock_of("rct") is None
    services.locks.lock(md, reason=REASON, password=PASSWORD, patient_id=trial[1])
    again = lock_of("rct")
    assert again is not None and again.id != held.id  # a new lock, seen as such
    _register(services, actors)  # a patient registered later is not locked
    assert lock_of("rct") is None
