"""Electronic signatures: password re-check, bound to the signed version, voided by a later edit."""

from __future__ import annotations

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import AuthenticationFailed, PermissionDenied, Services
from ketamine_ptsd.services.patients import IdentityInput


def test_a_signature_needs_the_password_and_a_later_edit_invalidates_it(
    services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = services.patients.register(
        investigator, protocol_name="rct", site="YAL", identity=IdentityInput("Doe", "Jane")
    )
    identity = services.patients.identity(investigator, patient.id)
    identity_row = services.audit.entries(
        actors[Role.ADMINISTRATOR], table_name="patient_identities"
    )[0].record_id
    with pytest.raises(AuthenticationFailed):
        services.signatures.sign(
            investigator,
            password="wrong password",
            table_name="patient_identities",
            record_id=int(identity_row),
            meaning="verified",
        )
    signed = services.signatures.sign(
        investigator,
        password=PASSWORD,
        table_name="patient_identities",
        record_id=int(identity_row),
        meaning="verified against ID card",
    )
    assert signed.valid and signed.signer_name == "Test investigator"
    services.patients.set_identity(
        investigator,
        patient.id,
        IdentityInput("Doe", "Janet"),
        expected_version=identity.version,
        reason="typo",
    )
    [after] = services.signatures.signatures(
        investigator, table_name="patient_identities", record_id=int(identity_row)
    )
    assert not after.valid and after.invalidated_reason == "record edited after signing"
    events = [e.event for e in services.audit.entries(actors[Role.ADMINISTRATOR])]
    assert "sign" in events and "signature_invalidated" in events
    assert services.audit.verify(actors[Role.ADMINISTRATOR]).ok


def test_roles_without_signing_rights_cannot_sign(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    patient = services.patients.register(actors[Role.INVESTIGATOR], protocol_name="rct", site="YAL")
    with pytest.raises(PermissionDenied):
        services.signatures.sign(
            actors[Role.MONITOR],
            password=PASSWORD,
            table_name="patients",
            record_id=patient.id,
            meaning="ok",
        )
