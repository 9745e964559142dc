"""Sites as data and site-scoped access (issue 17): a site's users see only their sites'
patients — another site's patient is "not found" everywhere — while central roles see all."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, ConflictError, NotFound, Services, ValidationFailed

ADMIN = Actor.system("test-admin")


def _sites(services: Services) -> None:
    services.sites.add(ADMIN, code="YAL", name="Yale", time_zone="America/New_York")
    services.sites.add(
        ADMIN,
        code="BOS",
        name="Boston",
        time_zone="America/New_York",
        active_from=dt.date(2026, 1, 1),
    )


def test_sites_are_validated_naming_the_field(services: Services) -> None:
    with pytest.raises(ValidationFailed) as tz:
        services.sites.add(ADMIN, code="YAL", name="Yale", time_zone="Mars/Olympus")
    assert (tz.value.field, tz.value.value) == ("time_zone", "Mars/Olympus")
    with pytest.raises(ValidationFailed) as code:
        services.sites.add(ADMIN, code="yale", name="Yale", time_zone="UTC")
    assert code.value.field == "code"
    with pytest.raises(ValidationFailed) as dates:
        services.sites.add(
            ADMIN,
            code="YAL",
            name="Yale",
            time_zone="UTC",
            active_from=dt.date(2026, 5, 1),
            active_to=dt.date(2026, 4, 1),
        )
    assert dates.value.field == "active_to"
    _sites(services)
    with pytest.raises(ConflictError):
        services.sites.add(ADMIN, code="YAL", name="Yale again", time_zone="UTC")


def test_a_sites_user_never_sees_another_sites_patient(
    services: Services, actors: dict[Role, Actor]
) -> None:
    _sites(services)
    central = actors[Role.INVESTIGATOR]
    yal = services.patients.register(central, protocol_name="rct", site="YAL")
    bos = services.patients.register(central, protocol_name="rct", site="BOS")
    with pytest.raises(ValidationFailed) as undeclared:
        services.patients.register(central, protocol_name="rct", site="ZZZ")
    assert undeclared.value.field == "site" and "BOS, YAL" in undeclared.value.message
    services.sites.add_member(ADMIN, username="investigator", site="YAL")
    scoped = services.auth.login("investigator", PASSWORD).actor
    assert scoped.sites == frozenset({"YAL"})
    assert [p.study_id for p in services.patients.list(scoped)] == [yal.study_id]
    with pytest.raises(NotFound):
        services.patients.get(scoped, bos.id)
    with pytest.raises(NotFound):
        services.patients.find(scoped, bos.study_id)
    with pytest.raises(ValidationFailed) as elsewhere:
        services.patients.register(scoped, protocol_name="rct", site="BOS")
    assert elsewhere.value.field == "site"
    services.patients.register(scoped, protocol_name="rct", site="YAL")
    # queries and verification follow the same rule
    monitor = actors[Role.MONITOR]  # central: no membership, every site
    for patient in (yal, bos):
        services.queries.raise_query(
            monitor,
            patient_id=patient.id,
            table_name="patients",
            record_id=str(patient.id),
            field="site",
            question="Please confirm the site code",
        )
    assert {q.study_id for q in services.queries.list(monitor)} == {yal.study_id, bos.study_id}
    assert {q.study_id for q in services.queries.list(scoped)} == {yal.study_id}
    assert [s.code for s in services.sites.list(scoped)] == ["YAL"]
    assert [s.members for s in services.sites.list(ADMIN)] == [(), ("investigator",)]
    with pytest.raises(ConflictError):
        services.sites.add_member(ADMIN, username="investigator", site="YAL")
    with pytest.raises(NotFound):
        services.sites.add_member(ADMIN, username="investigator", site="NYC")


def test_an_inactive_site_registers_no_one(
    services: Services, actors: dict[Role, Actor], clock
) -> None:  # type: ignore[no-untyped-def]
    services.sites.add(
        ADMIN,
        code="NYC",
        name="New York",
        time_zone="UTC",
        active_to=clock.now().date() - dt.timedelta(days=1),
    )
    with pytest.raises(ValidationFailed, match="not active today"):
        services.patients.register(actors[Role.INVESTIGATOR], protocol_name="rct", site="NYC")


def test_randomization_stratified_by_site_takes_each_patients_site_as_stratum(
    db,
    clock,
    actors: dict[Role, Actor],  # type: ignore[no-untyped-def]
) -> None:
    from service_support import make_context  # type: ignore[import-not-found]
    from workflow_support import RCT_FACTS, caps5_past_month, consent  # type: ignore[import-not-found]

    from ketamine_ptsd.adapters.protocol_store import load_protocol
    from ketamine_ptsd.services.screening import ScreeningVisitInput

    by_site = load_protocol("rct").model_copy(update={"name": "rctsite", "stratify_by_site": True})
    wf = Services(make_context(db, clock, protocols=lambda name: by_site))
    _sites(wf)
    md = actors[Role.INVESTIGATOR]
    wf.randomization.generate_list(
        actors[Role.PHARMACIST],
        protocol_name="rctsite",
        list_version="S-1",
        slots_per_stratum=4,
        strata=["YAL"],
    )

    def eligible(site: str) -> int:
        pid = wf.patients.register(md, protocol_name="rctsite", site=site).id
        consent(wf, md, pid)
        wf.screening.record_visit(
            md,
            pid,
            ScreeningVisitInput(
                dt.date(2026, 3, 1), facts=RCT_FACTS, caps5_past_month=caps5_past_month(42), cgi_s=5
            ),
        )
        return pid

    yal, bos = eligible("YAL"), eligible("BOS")
    today = clock.now().date()
    wf.randomization.allocate(md, yal, infusion_date=today)
    assert wf.randomization.allocation(actors[Role.PHARMACIST], yal).stratum == "YAL"
    with pytest.raises(ValidationFailed) as missing:
        wf.randomization.allocate(md, bos, infusion_date=today)
    assert missing.value.field == "stratum" and "no stratum for site BOS" in missing.value.message
    wf.randomization.generate_list(
        actors[Role.PHARMACIST],
        protocol_name="rctsite",
        list_version="S-2",
        slots_per_stratum=4,
        strata=["YAL", "BOS"],
    )
    wf.randomization.allocate(md, bos, infusion_date=today)
    assert wf.randomization.allocation(actors[Role.PHARMACIST], bos).stratum == "BOS"


def test_a_sites_statistician_never_reads_a_freeze_made_for_the_whole_trial(
    services: Services, actors: dict[Role, Actor]
) -> None:
    import pandas as pd

    from ketamine_ptsd.services.freezes import read_freeze, write_freeze

    _sites(services)
    central = actors[Role.STATISTICIAN]
    with services.context.uow(central, write=True) as uow:
        row = write_freeze(
            uow.session,
            central,
            uow.now,
            protocol_name="rct",
            level="partial",
            generated_on=uow.now.date(),
            planned_patients=None,
            arms=("A", "B"),
            ongoing=frozenset(),
            frames={"subjects": pd.DataFrame({"subject": ["YAL-0001", "BOS-0001"]})},
        )
        uow.flush()
        freeze_id = row.id
        uow.commit()
    services.analysis.sanction(
        ADMIN,
        statistician_user_id=central.user_id,  # type: ignore[arg-type]
        level="partial",
        purpose="DSMB interim 1",
        reason="the DSMB charter's first look",
        expires_at=services.context.clock.now() + dt.timedelta(days=1),
    )
    with services.context.uow(central, write=False) as uow:
        assert read_freeze(uow.session, central, uow.now, freeze_id).digest == row.digest
    services.sites.add_member(ADMIN, username="statistician", site="YAL")
    scoped = services.auth.login("statistician", PASSWORD).actor
    with services.context.uow(scoped, write=False) as uow, pytest.raises(NotFound):
        read_freeze(uow.session, scoped, uow.now, freeze_id)


def test_a_role_per_site_the_user_works_at_one_site_at_a_time_with_its_role(
    services: Services, actors: dict[Role, Actor]
) -> None:
    from workflow_support import consent  # type: ignore[import-not-found]

    from ketamine_ptsd.services import PermissionDenied

    _sites(services)
    central = actors[Role.INVESTIGATOR]
    yal = services.patients.register(central, protocol_name="rct", site="YAL")
    bos = services.patients.register(central, protocol_name="rct", site="BOS")
    # the nurse is the investigator at YAL, and a nurse at BOS (the account's own role)
    services.sites.add_member(ADMIN, username="nurse", site="YAL", role="investigator")
    view = services.sites.add_member(ADMIN, username="nurse", site="BOS")
    assert view.roles == {"nurse": "nurse"}
    first = services.auth.login("nurse", PASSWORD)  # no site chosen: the first by code
    assert (first.actor.role, first.actor.sites) == (Role.NURSE, frozenset({"BOS"}))
    assert first.actor.site_roles == (("BOS", Role.NURSE), ("YAL", Role.INVESTIGATOR))
    with pytest.raises(PermissionDenied):  # a nurse records no consent
        consent(services, first.actor, bos.id)
    with pytest.raises(NotFound):  # YAL's patients are not this session's
        services.patients.get(first.actor, yal.id)
    at_yal = services.auth.switch_site(first.token, "YAL")
    assert services.auth.authenticate(first.token) == at_yal
    assert (at_yal.role, at_yal.sites) == (Role.INVESTIGATOR, frozenset({"YAL"}))
    consent(services, at_yal, yal.id)  # the investigator's action, at the investigator's site
    with pytest.raises(NotFound):
        services.patients.get(at_yal, bos.id)
    with pytest.raises(NotFound):
        services.auth.switch_site(first.token, "NYC")
    chosen = services.auth.login("nurse", PASSWORD, site="YAL").actor
    assert chosen.role is Role.INVESTIGATOR
    switched = [
        e for e in services.audit.entries(actors[Role.ADMINISTRATOR]) if e.event == "site_switched"
    ]
    assert [e.reason for e in switched] == ["works at YAL as investigator"]
    # the administrator changes a role (audited); a site has no administrator
    services.sites.set_member_role(
        ADMIN, username="nurse", site="YAL", role="nurse", reason="a new investigator started"
    )
    same = services.auth.login("nurse", PASSWORD).actor  # one role everywhere: both sites
    assert (same.role, same.sites) == (Role.NURSE, frozenset({"BOS", "YAL"}))
    changes = services.audit.entries(actors[Role.ADMINISTRATOR], table_name="user_sites")
    assert [(c.old_value, c.new_value) for c in changes if c.field == "role"][-1] == (
        "investigator",
        "nurse",
    )
    with pytest.raises(ValidationFailed) as admin_role:
        services.sites.set_member_role(
            ADMIN, username="nurse", site="YAL", role="administrator", reason="x"
        )
    assert admin_role.value.field == "role"
    with pytest.raises(NotFound):
        services.sites.set_member_role(
            ADMIN, username="monitor", site="YAL", role="nurse", reason="x"
        )
