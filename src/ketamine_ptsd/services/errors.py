"""Typed errors of the service layer (STYLE.md "Our shape" §7: one errors.py per layer).

Each carries the fields an adapter needs for one clear line (web: the HTTP status; CLI: the
message), and none carries a blind-breaking value: messages name actions, records and fields,
never an arm or a drug (PROTOCOL.md §3, SYSTEM.md capability 4 "nothing leaks through errors").
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccountLocked",
    "AuthenticationFailed",
    "ConflictError",
    "DatabaseLocked",
    "NotFound",
    "PermissionDenied",
    "ServiceError",
    "ValidationFailed",
]


class ServiceError(Exception):
    """Base of every error a service raises; nothing was changed when one is raised."""


class PermissionDenied(ServiceError):
    """The actor may not perform ``action`` (on ``record``, when given)."""

    def __init__(self, action: str, role: str, record: str | None = None) -> None:
        self.action = action
        self.role = role
        self.record = record
        target = f" on {record}" if record else ""
        super().__init__(f"permission denied: {role} may not {action}{target}")


class NotFound(ServiceError):
    """No ``entity`` with ``key`` (or the actor may not know it exists)."""

    def __init__(self, entity: str, key: Any) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!r} not found")


class ConflictError(ServiceError):
    """The record changed since it was read (optimistic lock), or a unique rule was broken."""

    def __init__(self, entity: str, key: Any, message: str) -> None:
        self.entity = entity
        self.key = key
        self.message = message
        super().__init__(f"{entity}: {message}" if key is None else f"{entity} {key!r}: {message}")


class DatabaseLocked(ConflictError):
    """A write of patient data while the record is locked (issue 17; services/lock_guard.py)."""

    def __init__(self, table: str, message: str) -> None:
        self.table = table
        super().__init__("database", None, message)


class ValidationFailed(ServiceError, ValueError):
    """A value was refused; ``field`` names it, ``value`` keeps what was entered."""

    def __init__(self, field: str, message: str, value: Any = None) -> None:
        self.field = field
        self.message = message
        self.value = value
        super().__init__(f"{field}: {message}")


class AuthenticationFailed(ServiceError):
    """Wrong username or password, or an unknown/expired session (deliberately vague)."""

    def __init__(self, message: str = "invalid username or password") -> None:
        self.message = message
        super().__init__(message)


class AccountLocked(AuthenticationFailed):
    """Too many failed logins: the account is locked until ``until`` (UTC)."""

    def __init__(self, until: Any) -> None:
        self.until = until
        super().__init__(f"account locked after repeated failed logins; try again after {until}")
