"""Login, sessions and their kinds and idle timeout, back-off (clock injected), the password
policy, and user administration."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from service_support import PASSWORD  # type: ignore[import-not-found]
from sqlalchemy import text

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    Actor,
    AuthenticationFailed,
    ConflictError,
    FixedClock,
    PermissionDenied,
    Services,
    SessionKind,
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


def test_failures_back_off_exponentially_up_to_a_short_cap(
    services: Services, actors, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    policy = services.context.security
    for _ in range(policy.max_failed_logins - 1):
        with pytest.raises(AuthenticationFailed):
            services.auth.login("nurse", "wrong password!")
    assert services.auth.login("nurse", PASSWORD).actor.role is Role.NURSE  # no back-off yet
    waits = []
    for _ in range(policy.max_failed_logins + 6):
        with pytest.raises(AuthenticationFailed):
            services.auth.login("nurse", "wrong password!")
        locked_until = _locked_until(services, actors)
        if locked_until is not None:
            with pytest.raises(AuthenticationFailed):  # even the right password, backing off
                services.auth.login("nurse", PASSWORD)
            waits.append(locked_until - clock.now())
            clock.advance(locked_until - clock.now() + dt.timedelta(milliseconds=1))
    assert waits[:3] == [policy.backoff_base * 2**k for k in range(3)]  # doubling
    assert max(waits) == policy.backoff_max <= dt.timedelta(minutes=1)  # never long
    assert services.auth.login("nurse", PASSWORD).actor.role is Role.NURSE
    events = [
        e.event for e in services.audit.entries(actors[Role.ADMINISTRATOR], table_name="users")
    ]
    assert events.count("account_locked") == len(waits) and "login" in events


def _locked_until(services: Services, actors) -> dt.datetime | None:  # type: ignore[no-untyped-def]
    views = services.users.list(actors[Role.ADMINISTRATOR])
    return next(v.locked_until for v in views if v.username == "nurse")


def test_an_administrator_clears_a_back_off_by_username(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    for _ in range(services.context.security.max_failed_logins):
        with pytest.raises(AuthenticationFailed):
            services.auth.login("nurse", "wrong password!")
    assert _locked_until(services, actors) is not None
    with pytest.raises(PermissionDenied):
        services.users.unlock_by_username(actors[Role.NURSE], "nurse", reason="me")
    services.users.unlock_by_username(actors[Role.ADMINISTRATOR], "nurse", reason="phoned in")
    assert _locked_until(services, actors) is None
    assert services.auth.login("nurse", PASSWORD).actor.role is Role.NURSE


def test_back_off_wrong_password_and_unknown_user_are_indistinguishable(
    services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    answers = set()
    for username in ("nurse", "nobody"):
        for _ in range(services.context.security.max_failed_logins + 2):
            with pytest.raises(AuthenticationFailed) as caught:
                services.auth.login(username, "wrong password!")
            answers.add((type(caught.value), str(caught.value)))
    assert len(answers) == 1


def test_bearer_tokens_idle_out_and_kinds_do_not_mix(
    services: Services, actors, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    idle = services.context.security.session_idle
    api = services.auth.login("nurse", PASSWORD, kind=SessionKind.API)
    browser = services.auth.login("nurse", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        services.auth.authenticate(browser.token, kind=SessionKind.API)
    with pytest.raises(AuthenticationFailed):
        services.auth.authenticate(api.token, kind=SessionKind.BROWSER)
    for _ in range(4):  # use keeps it alive past the idle limit
        clock.advance(idle - dt.timedelta(minutes=2))
        assert services.auth.authenticate(api.token, kind=SessionKind.API).username == "nurse"
    clock.advance(idle + dt.timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed):
        services.auth.authenticate(api.token, kind=SessionKind.API)


def test_a_new_password_or_deactivation_revokes_every_session(services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    admin, nurse = actors[Role.ADMINISTRATOR], actors[Role.NURSE]
    tokens = [services.auth.login("nurse", PASSWORD, kind=k) for k in SessionKind]
    view = services.users.set_password(
        admin, nurse.user_id, "a brand new passphrase", expected_version=1, reason="reset"
    )
    for login, kind in zip(tokens, SessionKind, strict=True):
        with pytest.raises(AuthenticationFailed):
            services.auth.authenticate(login.token, kind=kind)
    token = services.auth.login("nurse", "a brand new passphrase", kind=SessionKind.API).token
    services.users.set_active(
        admin, nurse.user_id, False, expected_version=view.version, reason="left"
    )
    with pytest.raises(AuthenticationFailed):
        services.auth.authenticate(token, kind=SessionKind.API)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaa", "common"),
        ("Password123", "common"),
        ("iloveyou12", "common"),
        ("xqzxqzxqzxqz", "repeated"),
        ("klmnopqrstu", "consecutive"),
        ("zyxwvutsrqp", "consecutive"),
        ("nurse-on-ward-7", "username"),
        ("short", "at least 10"),
        ("p" * 60 + "q" * 69, "at most 128"),
    ],
)
def test_password_policy_refuses_weak_passwords_naming_why(
    services: Services, actors, password: str, why: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as caught:
        services.users.set_password(
            actors[Role.ADMINISTRATOR],
            actors[Role.NURSE].user_id,
            password,
            expected_version=1,
            reason="reset",
        )
    assert caught.value.field == "password" and why in caught.value.message
    assert caught.value.value is None  # never echoed


def test_password_policy_accepts_long_passphrases_without_composition_rules(
    services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    phrase = "the tea kettle sings at dawn " * 2 + "over the hill"  # 71 characters, no digits
    services.users.set_password(
        actors[Role.ADMINISTRATOR],
        actors[Role.NURSE].user_id,
        phrase,
        expected_version=1,
        reason="reset",
    )
    assert services.auth.login("nurse", phrase).actor.username == "nurse"


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


def test_every_failed_login_costs_exactly_one_argon2_verification(
    services: Services, actors, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Similar timing: an unknown username, a wrong password, an inactive account and an
    account backing off each cost one verification (a dummy one where there is no hash to
    check), so the time of the answer does not tell them apart."""
    calls: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append(str(password))
            return super().verify(hash, password)

    monkeypatch.setattr(
        services.context,
        "password_hasher",
        CountingHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    admin, pharmacist = actors[Role.ADMINISTRATOR], actors[Role.PHARMACIST]
    services.users.set_active(admin, pharmacist.user_id, False, expected_version=1, reason="x")
    attempts = [("nobody", "wrong password!"), ("pharmacist", PASSWORD)]
    attempts += [("nurse", "wrong password!")] * (services.context.security.max_failed_logins + 2)
    for username, password in attempts:  # the last two are refused during the back-off
        calls.clear()
        with pytest.raises(AuthenticationFailed):
            services.auth.login(username, password)
        assert calls == [password], username
