"""The audit listing's filters and its site scope (services/audit/scope.py, issue 17): a member
of a site never sees an audit row of another site's patient; a central user sees every site's;
a patient, a form, a user and a time range filter the listing, page by page."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, NotFound, Services
from ketamine_ptsd.services.audit import REDACTED, AuditView
from ketamine_ptsd.services.patients import IdentityInput
from ketamine_ptsd.services.screening_views import DemographicsInput

ADMIN = Actor.system("test-admin")


def _two_sites(services: Services, actors: dict[Role, Actor]) -> tuple[int, int]:
    """A YAL and a BOS patient, each with an identity, demographics and a query."""
    for code in ("YAL", "BOS"):
        services.sites.add(ADMIN, code=code, name=code, time_zone="America/New_York")
    md, monitor = actors[Role.INVESTIGATOR], actors[Role.MONITOR]
    ids = []
    for site in ("YAL", "BOS"):
        pid = services.patients.register(
            md,
            protocol_name="rct",
            site=site,
            identity=IdentityInput("Doe", site.title(), dt.date(1980, 1, 1)),
        ).id
        services.screening.record_demographics(md, pid, DemographicsInput(40, "female", "White"))
        services.queries.raise_query(
            monitor,
            patient_id=pid,
            table_name="patients",
            record_id=str(pid),
            field="site",
            question="Please confirm the site code",
        )
        ids.append(pid)
    return ids[0], ids[1]


def _patient_rows(rows: list[AuditView], services: Services, md: Actor, pid: int) -> set[int]:
    """The seqs of ``rows`` that are the patient's record or one of its forms."""
    return {r.seq for r in services.audit.entries(md, study_id=_study(services, md, pid))} & {
        r.seq for r in rows
    }


def _study(services: Services, actor: Actor, pid: int) -> str:
    return services.patients.get(actor, pid).study_id


def test_a_sites_user_sees_no_audit_row_of_another_sites_patient(
    services: Services, actors: dict[Role, Actor]
) -> None:
    yal, bos = _two_sites(services, actors)
    central = actors[Role.MONITOR]
    services.sites.add_member(ADMIN, username="investigator", site="YAL")
    scoped = services.auth.login("investigator", PASSWORD).actor
    everything = services.audit.entries(central, limit=10_000)
    mine = services.audit.entries(scoped, limit=10_000)
    bos_rows = _patient_rows(everything, services, central, bos)
    yal_rows = _patient_rows(everything, services, central, yal)
    # every kind of patient row is traced: the patient, identity, demographics, the query
    traced = {r.table_name for r in everything if r.seq in bos_rows}
    assert {"patients", "patient_identities", "demographics", "data_queries"} <= traced
    assert bos_rows and yal_rows and not bos_rows & yal_rows
    seen = {r.seq for r in mine}
    assert not seen & bos_rows, "a YAL user saw a BOS patient's audit rows"
    assert yal_rows <= seen
    # the rows naming no patient (accounts, sites) are everyone's
    assert {r.table_name for r in mine} >= {"users", "sites"}
    # the central user sees both sites' rows
    assert bos_rows | yal_rows <= {r.seq for r in everything}
    # nothing leaks through the filters: another site's study id is not found
    with pytest.raises(NotFound):
        services.audit.entries(scoped, study_id=_study(services, central, bos))
    forms = services.audit.entries(scoped, table_name="demographics")
    assert forms and not {r.seq for r in forms} & bos_rows


def test_the_audit_listing_filters_by_patient_form_user_and_time_and_pages(
    services: Services, actors: dict[Role, Actor], clock: FixedClock
) -> None:
    start = clock.now()
    yal, bos = _two_sites(services, actors)
    clock.advance(dt.timedelta(days=2))
    md, monitor = actors[Role.INVESTIGATOR], actors[Role.MONITOR]
    services.screening.record_demographics(
        md, yal, DemographicsInput(41, "female", "White"), expected_version=1, reason="age was 41"
    )
    study = _study(services, md, yal)
    of_yal = services.audit.entries(monitor, study_id=study)
    assert {r.record_id for r in of_yal if r.table_name == "patients"} == {str(yal)}
    assert str(bos) not in {r.record_id for r in of_yal if r.table_name == "patients"}
    by_monitor = services.audit.entries(monitor, username="monitor")
    assert by_monitor and {r.actor_username for r in by_monitor} == {"monitor"}
    later = services.audit.entries(monitor, occurred_from=start + dt.timedelta(days=1))
    assert later and all(r.occurred_at >= start + dt.timedelta(days=1) for r in later)
    earlier = services.audit.entries(monitor, occurred_before=start + dt.timedelta(days=1))
    assert earlier and not {r.seq for r in earlier} & {r.seq for r in later}
    # identity values stay redacted for the monitor, whatever the filter
    identities = services.audit.entries(monitor, study_id=study, table_name="patient_identities")
    assert {r.new_value for r in identities if r.field == "family_name"} == {REDACTED}
    # pages: newest first, no row twice, none lost
    everything = services.audit.entries(monitor, limit=10_000, newest_first=True)
    pages = [
        services.audit.entries(monitor, limit=7, offset=o, newest_first=True)
        for o in range(0, len(everything), 7)
    ]
    assert [r.seq for page in pages for r in page] == [r.seq for r in everything]
    assert everything[0].seq > everything[-1].seq
