"""Finding a patient (issue 13, "what a clinic uses every day"): search by study id, and by name
only for a role that may read identities; filters, sorting and pages; the site scope and the
blind hold as in the plain list (services/patient_search.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Services, ValidationFailed
from ketamine_ptsd.services.patient_search import PatientQuery
from ketamine_ptsd.services.patients import IdentityInput


@pytest.fixture
def clinic(services: Services, actors, clock):  # type: ignore[no-untyped-def]
    md = actors[Role.INVESTIGATOR]
    services.patients.register(md, protocol_name="rct", site="VA")  # first, with no name

    names = [("Okafor", "Ada"), ("Lindqvist", "Bo"), ("Okafor", "Chidi"), ("Moreau", "Dana")]
    ids = []
    for i, (family, given) in enumerate(names):
        protocol = "rct" if i % 2 == 0 else "clinical"
        patient = services.patients.register(md, protocol_name=protocol, site="YAL")
        services.patients.set_identity(
            md, patient.id, IdentityInput(family, given, None), expected_version=None
        )
        ids.append(patient.id)
        clock.advance(dt.timedelta(hours=1))
    return ids


def _ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.study_id for p in page.items]


def test_a_name_is_found_by_a_role_that_may_read_it_and_never_by_one_that_may_not(
    services: Services, actors, clinic
) -> None:  # type: ignore[no-untyped-def]
    md = actors[Role.INVESTIGATOR]
    assert _ids(services.patients.search(md, PatientQuery(text="okafor"))) == [
        "YAL-0001",
        "YAL-0003",
    ]
    assert _ids(services.patients.search(md, PatientQuery(text="  ada  okafor "))) == ["YAL-0001"]
    for role in (Role.SAFETY_RATER, Role.PHARMACIST, Role.STATISTICIAN):
        found = services.patients.search(actors[role], PatientQuery(text="okafor"))
        assert found.total == 0, role  # a name this role may not see never matches
    assert _ids(
        services.patients.search(actors[Role.SAFETY_RATER], PatientQuery(text="yal-0002"))
    ) == ["YAL-0002"]


def test_filters_sorting_and_pages(services: Services, actors, clinic) -> None:  # type: ignore[no-untyped-def]
    md = actors[Role.INVESTIGATOR]
    rct = services.patients.search(md, PatientQuery(protocol="rct"))
    assert _ids(rct) == ["VA-0001", "YAL-0001", "YAL-0003"]
    assert services.patients.search(md, PatientQuery(status="registered")).total == 5
    assert services.patients.search(md, PatientQuery(status="eligible")).total == 0
    newest = services.patients.search(md, PatientQuery(sort="-registered"))
    assert _ids(newest) == ["YAL-0004", "YAL-0003", "YAL-0002", "YAL-0001", "VA-0001"]
    first = services.patients.search(md, PatientQuery(sort="-study_id", per_page=2))
    second = services.patients.search(md, PatientQuery(sort="-study_id", per_page=2, page=2))
    third = services.patients.search(md, PatientQuery(sort="-study_id", per_page=2, page=3))
    assert (first.total, first.pages) == (5, 3)
    assert _ids(first) + _ids(second) + _ids(third) == [
        "YAL-0004", "YAL-0003", "YAL-0002", "YAL-0001", "VA-0001",
    ]  # fmt: skip
    assert _ids(services.patients.search(md, PatientQuery(page=9, per_page=2))) == []
    everyone = services.patients.search(md, PatientQuery(per_page=None))
    assert everyone.total == len(everyone.items) == 5


def test_the_clinician_and_a_sites_user_search_only_what_they_may_list(
    services: Services, actors, clinic
) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    found = services.patients.search(clinician, PatientQuery(text="YAL"))
    assert _ids(found) == ["YAL-0002", "YAL-0004"]  # the clinic-mode patients only
    assert services.patients.search(clinician, PatientQuery(text="okafor")).total == 0  # rct ones


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (PatientQuery(sort="name"), "sort"),
        (PatientQuery(status="cured"), "status"),
        (PatientQuery(page=0), "page"),
        (PatientQuery(per_page=0), "per_page"),
        (PatientQuery(per_page=201), "per_page"),
        (PatientQuery(text="x" * 101), "text"),
    ],
)
def test_a_bad_query_names_its_field(services: Services, actors, query, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as info:
        services.patients.search(actors[Role.INVESTIGATOR], query)
    assert info.value.field == field
