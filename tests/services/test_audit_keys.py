"""The keyed chain (HMAC under a key outside the database), key rotation, the legacy segment,
signed checkpoints and reconciliation of the live tables (issue 16; 21 CFR 11.10(e))."""

from __future__ import annotations

import dataclasses

import pytest
from service_support import PASSWORD, TEST_KEY, keyed_anchor, make_context  # type: ignore[import-not-found]
from sqlalchemy import select, text

from ketamine_ptsd.adapters.db.engine import Database
from ketamine_ptsd.adapters.db.tables import audit_log
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, Services
from ketamine_ptsd.services.audit import AuditKey, Checkpoint, entry_hash
from ketamine_ptsd.services.patients import IdentityInput

OTHER_KEY = AuditKey("test-2", bytes(range(100, 132)), "2026-06-01")


def _drop_guards(db: Database) -> None:
    with db.engine.begin() as connection:
        for operation in ("update", "delete"):
            name = f"audit_log_no_{operation}"
            suffix = " ON audit_log" if db.dialect == "postgresql" else ""
            connection.execute(text(f"DROP TRIGGER {name}{suffix}"))


def _register(services: Services, actors: dict[Role, Actor], site: str = "YAL") -> int:
    return services.patients.register(actors[Role.INVESTIGATOR], protocol_name="rct", site=site).id


def _with_anchor(db: Database, clock: FixedClock, anchor) -> Services:  # type: ignore[no-untyped-def]
    return Services(dataclasses.replace(make_context(db, clock), audit_anchor=anchor))


def test_rows_carry_the_active_key_and_a_database_writer_cannot_recompute_them(
    services: Services, actors: dict[Role, Actor], db: Database
) -> None:
    _register(services, actors)
    admin = actors[Role.ADMINISTRATOR]
    with db.engine.connect() as connection:
        keys = connection.execute(text("SELECT DISTINCT key_id FROM audit_log")).scalars().all()
    assert keys == [TEST_KEY.key_id]
    _drop_guards(db)
    # The attacker changes row 5 and recomputes every later hash with the project's own
    # function: without the key it can only make the unkeyed (SHA-256) form.
    with db.engine.begin() as connection:
        rows = connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
        prev = rows[3]["row_hash"]
        for row in rows[4:]:
            content = {k: row[k] for k in row if k not in ("prev_hash", "row_hash", "key_id")}
            if row["seq"] == 5:
                content["new_value"] = '"forged"'
            row_hash = entry_hash(**content, prev_hash=prev)
            connection.execute(
                text(
                    "UPDATE audit_log SET new_value = :v, prev_hash = :p, row_hash = :h, "
                    "key_id = NULL WHERE seq = :s"
                ),
                {"v": content["new_value"], "p": prev, "h": row_hash, "s": row["seq"]},
            )
            prev = row_hash
        connection.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": prev})
    report = services.audit.verify(admin)
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert "unkeyed after the keyed rows began" in (report.problem or "")


def test_a_legacy_unkeyed_segment_verifies_and_is_reported(db: Database, clock: FixedClock) -> None:
    """A record written before keys existed: its rows stay SHA-256 and verify as the legacy
    segment; the rows written after are keyed."""
    legacy = _with_anchor(db, clock, None)
    setup = Actor.system("test-setup")
    accounts = {}
    for role in (Role.ADMINISTRATOR, Role.INVESTIGATOR):
        view = legacy.users.add(
            setup, username=role.value, role=role.value, password=PASSWORD, full_name=role.value
        )
        accounts[role] = Actor(view.id, view.username, role)
    _register(legacy, accounts)
    keyed = _with_anchor(db, clock, keyed_anchor())
    before = keyed.audit.count(accounts[Role.ADMINISTRATOR])
    _register(keyed, accounts)
    report = keyed.audit.verify(accounts[Role.ADMINISTRATOR])
    assert report.ok, report.problem
    assert 0 < report.legacy_rows == before < report.rows_checked


def test_an_unkeyed_row_after_keyed_rows_breaks_the_chain(
    services: Services, db: Database, clock: FixedClock, actors: dict[Role, Actor]
) -> None:
    last = services.audit.count(actors[Role.ADMINISTRATOR])
    _register(_with_anchor(db, clock, None), actors)
    report = services.audit.verify(actors[Role.ADMINISTRATOR])
    assert (report.ok, report.first_bad_seq) == (False, last + 1)


def test_rotation_keeps_older_rows_verifiable_and_a_lost_key_is_named(
    services: Services, db: Database, clock: FixedClock, actors: dict[Role, Actor]
) -> None:
    _register(services, actors)
    rotated = _with_anchor(db, clock, keyed_anchor(TEST_KEY, OTHER_KEY))
    _register(rotated, actors, site="BOS")
    with db.engine.connect() as connection:
        keys = connection.execute(text("SELECT DISTINCT key_id FROM audit_log")).scalars().all()
    assert set(keys) == {TEST_KEY.key_id, OTHER_KEY.key_id}
    assert rotated.audit.verify(actors[Role.ADMINISTRATOR]).ok
    lost = _with_anchor(db, clock, keyed_anchor(OTHER_KEY)).audit.verify(actors[Role.ADMINISTRATOR])
    assert not lost.ok and f"audit key {TEST_KEY.key_id}" in (lost.problem or "")


def test_checkpoints_catch_a_removed_tail_with_a_rewritten_head(
    db: Database, clock: FixedClock, actors: dict[Role, Actor]
) -> None:
    anchor = keyed_anchor(every_rows=10)
    services = _with_anchor(db, clock, anchor)
    for site in ("YAL", "BOS", "NYC"):
        _register(services, actors, site=site)
    checkpoints = anchor.store.read()
    assert checkpoints and all(c.kind == "interval" for c in checkpoints)
    assert services.audit.verify(actors[Role.ADMINISTRATOR]).ok
    cut = checkpoints[-1].head_seq - 1
    _drop_guards(db)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": cut})
        connection.execute(
            text(
                "UPDATE audit_head SET last_seq = :s, "
                "last_hash = (SELECT row_hash FROM audit_log WHERE seq = :s)"
            ),
            {"s": cut},
        )
    report = services.audit.verify(actors[Role.ADMINISTRATOR])
    assert not report.ok and f"rows after {cut} were removed" in (report.problem or "")
    assert "signed checkpoint" in (report.problem or "")


def test_a_forged_checkpoint_is_refused(
    db: Database, clock: FixedClock, actors: dict[Role, Actor]
) -> None:
    anchor = keyed_anchor()
    services = _with_anchor(db, clock, anchor)
    _register(services, actors)
    anchor.store.append(Checkpoint("interval", 1, "0" * 64, 1, "2026-03-02", TEST_KEY.key_id, "ab"))
    report = services.audit.verify(actors[Role.ADMINISTRATOR])
    assert not report.ok and "not signed" in (report.problem or "")


def test_reconciliation_names_values_and_records_written_around_the_application(
    services: Services, actors: dict[Role, Actor], db: Database
) -> None:
    investigator = actors[Role.INVESTIGATOR]
    identity = IdentityInput("Doe", "Jane")
    patient_id = services.patients.register(
        investigator, protocol_name="rct", site="YAL", identity=identity
    ).id
    admin = actors[Role.ADMINISTRATOR]
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE patients SET site = 'XXX' WHERE id = :i"), {"i": patient_id}
        )
    report = services.audit.verify(admin)
    assert not report.ok
    assert [str(d) for d in report.unaudited] == [
        f"patients {patient_id} site: the value differs from its audit history"
    ]
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE patients SET site = 'YAL' WHERE id = :i"), {"i": patient_id}
        )
    assert services.audit.verify(admin).ok
    with db.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM patient_identities WHERE patient_id = :i"), {"i": patient_id}
        )
    missing = services.audit.verify(admin)
    assert [d.problem for d in missing.unaudited] == ["in the audit trail but not in the table"]


@pytest.mark.parametrize("kind", ["interval", "backup", "restore", "verify", "demo"])
def test_checkpoints_round_trip_and_a_changed_field_breaks_the_signature(kind: str) -> None:
    anchor = keyed_anchor()
    signed = anchor.checkpoint(kind, 7, "a" * 64, "2026-03-02T08:00:00+00:00")
    assert signed is not None and signed.signed_by(anchor.keyring)
    assert Checkpoint.from_json(signed.to_json()) == signed
    moved = dataclasses.replace(signed, head_seq=6, rows=6)
    assert not moved.signed_by(anchor.keyring)


class _ReadOnlyStore:
    def append(self, checkpoint: Checkpoint) -> None:
        raise PermissionError("read-only file system")

    def read(self) -> list[Checkpoint]:
        return []


def test_an_unwritable_checkpoint_store_does_not_undo_a_committed_change(
    db: Database, clock: FixedClock, actors: dict[Role, Actor], caplog: pytest.LogCaptureFixture
) -> None:
    anchor = dataclasses.replace(keyed_anchor(every_rows=1), store=_ReadOnlyStore())
    services = _with_anchor(db, clock, anchor)
    patient_id = _register(services, actors)
    assert services.patients.get(actors[Role.INVESTIGATOR], patient_id).site == "YAL"
    assert "audit checkpoint at row" in caplog.text
