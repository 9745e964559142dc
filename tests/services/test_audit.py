"""The audit trail: same-transaction rows, reasons, append-only, tamper evidence, replay, redaction."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

from ketamine_ptsd.adapters.db.engine import Database
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, Services, ValidationFailed
from ketamine_ptsd.services.audit import REDACTED, decode_value, encode_value, replay
from ketamine_ptsd.services.patients import IdentityInput
from ketamine_ptsd.services.records import AuditEntry, Patient, PatientIdentity


def _drop_guard(db: Database, operation: str) -> None:
    name = f"audit_log_no_{operation}"
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.execute(text(f"DROP TRIGGER {name} ON audit_log"))
        else:
            connection.execute(text(f"DROP TRIGGER {name}"))


def _register(services: Services, actors: dict[Role, Actor]) -> int:
    patient = services.patients.register(
        actors[Role.INVESTIGATOR],
        protocol_name="rct",
        site="YAL",
        identity=IdentityInput("Doe", "Jane"),
    )
    return patient.id


def test_an_edit_writes_who_when_what_old_new_and_why(
    services: Services, actors: dict[Role, Actor], clock
) -> None:
    patient_id = _register(services, actors)
    investigator = actors[Role.INVESTIGATOR]
    identity = services.patients.identity(investigator, patient_id)
    clock.advance(dt.timedelta(minutes=5))
    services.patients.set_identity(
        investigator,
        patient_id,
        IdentityInput("Doe", "Janet"),
        expected_version=identity.version,
        reason="typo",
    )
    rows = services.audit.entries(actors[Role.ADMINISTRATOR], table_name="patient_identities")
    edit = [r for r in rows if r.event == "update"]
    assert [(r.field, r.old_value, r.new_value, r.reason) for r in edit] == [
        ("given_name", "Jane", "Janet", "typo")
    ]
    assert edit[0].actor_username == investigator.username
    assert edit[0].occurred_at == clock.now()


def test_an_edit_of_a_saved_value_without_a_reason_is_refused_and_changes_nothing(
    services: Services, actors: dict[Role, Actor]
) -> None:
    patient_id = _register(services, actors)
    investigator = actors[Role.INVESTIGATOR]
    with pytest.raises(ValidationFailed) as excinfo:
        services.patients.set_identity(
            investigator, patient_id, IdentityInput("Roe", "Jane"), expected_version=1
        )
    assert excinfo.value.field == "reason"
    # the hook refuses it too, whichever service forgets to ask
    with services.context.uow(investigator, write=True) as uow:
        uow.session.scalar(select(Patient).where(Patient.id == patient_id)).site = "XYZ"
        with pytest.raises(ValidationFailed, match="reason"):
            uow.flush()
    assert services.patients.identity(investigator, patient_id).family_name == "Doe"


def test_clinical_records_cannot_be_hard_deleted(
    services: Services, actors: dict[Role, Actor]
) -> None:
    patient_id = _register(services, actors)
    with services.context.uow(actors[Role.INVESTIGATOR], write=True) as uow:
        uow.session.delete(uow.session.get(Patient, patient_id))
        with pytest.raises(ValidationFailed) as excinfo:
            uow.flush()
    assert excinfo.value.field == "record"


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"]
)
def test_the_database_refuses_update_and_delete_on_the_audit_log(
    services: Services, actors: dict[Role, Actor], db: Database, statement: str
) -> None:
    _register(services, actors)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(statement))


def test_verify_names_a_changed_row(
    services: Services, actors: dict[Role, Actor], db: Database
) -> None:
    _register(services, actors)
    admin = actors[Role.ADMINISTRATOR]
    assert services.audit.verify(admin).ok
    _drop_guard(db, "update")
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET new_value = '\"Smith\"' WHERE seq = 15"))
    report = services.audit.verify(admin)
    assert (report.ok, report.first_bad_seq) == (False, 15)
    assert "changed" in (report.problem or "")


@pytest.mark.parametrize("where", ["seq = 12", "seq = (SELECT MAX(seq) FROM audit_log)"])
def test_verify_detects_a_removed_row_in_the_middle_or_at_the_end(
    services: Services, actors: dict[Role, Actor], db: Database, where: str
) -> None:
    _register(services, actors)
    admin = actors[Role.ADMINISTRATOR]
    _drop_guard(db, "delete")
    with db.engine.begin() as connection:
        last = connection.execute(text("SELECT MAX(seq) FROM audit_log")).scalar_one()
        if "MAX" in where:
            connection.execute(text(f"DELETE FROM audit_log WHERE seq = {last}"))
        else:
            connection.execute(text(f"DELETE FROM audit_log WHERE {where}"))
    report = services.audit.verify(admin)
    assert not report.ok
    assert report.first_bad_seq == (last if "MAX" in where else 12)


def test_blinded_roles_see_allocation_values_redacted_in_audit_views(
    services: Services, actors: dict[Role, Actor], enrol
) -> None:
    patient_id = enrol()
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], patient_id, infusion_date=dt.date(2026, 3, 2)
    )
    for role in (Role.MONITOR, Role.ADMINISTRATOR, Role.INVESTIGATOR):
        rows = services.audit.entries(actors[role], limit=10_000)
        randomize = [r for r in rows if r.event == "randomize"]
        assert randomize and all(r.new_value == REDACTED for r in randomize)
        slot_rows = [r for r in rows if r.table_name == "allocations" and r.field == "slot_id"]
        assert slot_rows and all(r.new_value == REDACTED for r in slot_rows)
        # Screening rows name the eligibility criteria (e.g. recreational ketamine use, §1);
        # what must not appear is an arm: nothing about this patient's list or allocation.
        after_screening = [r for r in rows if r.table_name not in SCREENING_TABLES]
        assert "ketamine" not in repr(after_screening)
        assert "midazolam" not in repr(after_screening)


SCREENING_TABLES = {"screening_visits", "eligibility_decisions"}


def test_identity_values_are_redacted_for_the_monitor_but_not_the_administrator(
    services: Services, actors: dict[Role, Actor]
) -> None:
    _register(services, actors)
    monitor_rows = services.audit.entries(actors[Role.MONITOR], table_name="patient_identities")
    admin_rows = services.audit.entries(actors[Role.ADMINISTRATOR], table_name="patient_identities")
    assert {r.new_value for r in monitor_rows if r.field == "family_name"} == {REDACTED}
    assert {r.new_value for r in admin_rows if r.field == "family_name"} == {"Doe"}


def test_password_hashes_never_enter_the_audit_trail(
    services: Services, actors: dict[Role, Actor], db: Database
) -> None:
    with db.engine.connect() as connection:
        values = (
            connection.execute(
                text("SELECT new_value FROM audit_log WHERE field = 'password_hash'")
            )
            .scalars()
            .all()
        )
    assert values and all("argon2" not in (v or "") for v in values)


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéø -'", min_size=1, max_size=12).filter(
    lambda s: s.strip()
)


def test_replaying_the_audit_log_rebuilds_the_current_values(
    services: Services, actors: dict[Role, Actor], db: Database
) -> None:
    """A Hypothesis state machine of random edits; after each step, replay == the stored record."""
    investigator = actors[Role.INVESTIGATOR]

    class Edits(RuleBasedStateMachine):
        @initialize()
        def register(self) -> None:
            self.patient_id = _register(services, actors)

        @rule(
            family=NAMES,
            given=NAMES,
            born=st.none() | st.dates(dt.date(1950, 1, 1), dt.date(2005, 12, 31)),
        )
        def edit_identity(self, family: str, given: str, born: dt.date | None) -> None:
            current = services.patients.identity(investigator, self.patient_id)
            services.patients.set_identity(
                investigator,
                self.patient_id,
                IdentityInput(family, given, born, current.contact),
                expected_version=current.version,
                reason="correction",
            )

        @rule(stratum=st.sampled_from(["male", "female", "other"]))
        def edit_stratum(self, stratum: str) -> None:
            version = services.patients.get(investigator, self.patient_id).version
            services.patients.edit(
                investigator,
                self.patient_id,
                expected_version=version,
                reason="re-stratified",
                stratum=stratum,
            )

        @invariant()
        def replay_matches(self) -> None:
            with db.session(write=False) as session:
                state = replay(session.scalars(select(AuditEntry)).all())
                for obj in (
                    session.get(Patient, self.patient_id),
                    session.scalar(
                        select(PatientIdentity).where(PatientIdentity.patient_id == self.patient_id)
                    ),
                ):
                    mapper = inspect(type(obj))
                    replayed = state[(mapper.local_table.name, str(obj.id))]
                    for column in mapper.local_table.c:
                        if (
                            column.info.get("audit", True) is False
                            or column.info.get("sensitivity") == "secret"
                        ):
                            continue
                        current = decode_value(encode_value(getattr(obj, column.key)))
                        assert replayed.get(column.key) == current, column.key

    run_state_machine_as_test(
        Edits, settings=settings(max_examples=20, stateful_step_count=6, deadline=None)
    )
    assert services.audit.verify(actors[Role.ADMINISTRATOR]).ok
