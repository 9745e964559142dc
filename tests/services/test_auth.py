"""Login, sessions, lockout (clock injected), and user administration."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]
from sqlalchemy import text

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    AccountLocked,
    Actor,
    AuthenticationFailed,
    ConflictError,
    FixedClock,
    PermissionDenied,
    Services,
    ValidationFailed,
)


def test_login_opens_a_session_whose_token_is_stored_only_as_a_hash(
    services: Services, actors, db
) -> None:  # type: ignore[no-untyped-def]
    login = services.auth.login("nurse", PASSWORD)
    assert login.actor == actors[Role.NURSE]
    assert services.auth.authenticate(login.token) == actors[Role.NURSE]
    with db.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM user_sessions")).scalars().all()
    assert login.token not in stored and len(stored) == 1


def test_sessions_expire_and_logout_revokes(services: Services, actors, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    first = services.auth.login("nurse", PASSWORD)
    clock.advance(services.context.security.session_ttl + dt.timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed):
        services.auth.authenticate(first.token)
    second = services.auth.login("nurse", PASSWORD)
    services.auth.logout(second.token)
    with pytest.raises(AuthenticationFailed):
        services.auth.authenticate(second.token)


def test_wrong_password_and_unknown_user_give_the_same_message(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationFailed) as wrong:
        services.auth.login("nurse", "not the password")
    with pytest.raises(AuthenticationFailed) as unknown:
        services.auth.login("nobody", "not the password")
    assert str(wrong.value) == str(unknown.value)


def test_five_failures_lock_the_account_for_fifteen_minutes(
    services: Services, actors, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        with pytest.raises(AuthenticationFailed) as excinfo:
            services.auth.login("nurse", "wrong password!")
        assert not isinstance(excinfo.value, AccountLocked)
    with pytest.raises(AccountLocked):
        services.auth.login("nurse", "wrong password!")
    with pytest.raises(AccountLocked):  # even the right password, while locked
        services.auth.login("nurse", PASSWORD)
    clock.advance(dt.timedelta(minutes=15, seconds=1))
    assert services.auth.login("nurse", PASSWORD).actor.role is Role.NURSE
    events = [
        e.event for e in services.audit.entries(actors[Role.ADMINISTRATOR], table_name="users")
    ]
    assert (
        events.count("login_failed") == 6
        and events.count("account_locked") == 1
        and "login" in events
    )


def test_only_administrators_manage_users(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        services.users.add(
            actors[Role.INVESTIGATOR],
            username="eve",
            role="pharmacist",
            password=PASSWORD,
            full_name="Eve",
        )


@pytest.mark.parametrize(
    ("username", "role", "password", "field"),
    [
        ("Bad Name", "nurse", PASSWORD, "username"),
        ("eve", "wizard", PASSWORD, "role"),
        ("eve", "nurse", "short", "password"),
    ],
)
def test_invalid_accounts_are_refused_naming_the_field(
    services: Services, actors, username, role, password, field
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as excinfo:
        services.users.add(
            actors[Role.ADMINISTRATOR],
            username=username,
            role=role,
            password=password,
            full_name="Eve",
        )
    assert excinfo.value.field == field
    assert excinfo.value.value != password or field != "password"


def test_a_duplicate_username_is_a_conflict(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConflictError):
        services.users.add(
            Actor.system(), username="nurse", role="nurse", password=PASSWORD, full_name="Another"
        )


def test_a_deactivated_user_cannot_log_in_and_a_new_password_works(
    services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    admin = actors[Role.ADMINISTRATOR]
    nurse = actors[Role.NURSE]
    view = services.users.set_active(
        admin, nurse.user_id, False, expected_version=1, reason="left the unit"
    )
    with pytest.raises(AuthenticationFailed):
        services.auth.login("nurse", PASSWORD)
    view = services.users.set_active(
        admin, nurse.user_id, True, expected_version=view.version, reason="back"
    )
    services.users.set_password(
        admin,
        nurse.user_id,
        "a brand new passphrase",
        expected_version=view.version,
        reason="reset",
    )
    assert services.auth.login("nurse", "a brand new passphrase").actor == nurse
