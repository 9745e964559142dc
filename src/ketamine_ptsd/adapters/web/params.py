"""Bounded integers for every id, number and version a request carries (issue 16 §2).

Record ids and versions are ``INTEGER`` columns: 64-bit in SQLite but 32-bit in PostgreSQL, so
an id past 2**31 - 1 reaches the database as an overflow (a 500), not as "no such record". Every
path parameter, body field and form field that names a record uses one of these types (or
:func:`form_int` for hand-parsed forms), so such a value is refused with 422 naming the field
before any query runs. The types carry their bounds as ``annotated_types`` metadata, which both
FastAPI parameters and pydantic models honour (and which the OpenAPI schema shows).
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

from ketamine_ptsd.services import ValidationFailed

__all__ = ["DB_INT_MAX", "DbId", "InfusionNumber", "Version", "form_int"]

#: The largest value every supported database stores in an ``INTEGER`` column (PostgreSQL int4).
DB_INT_MAX = 2_147_483_647

#: A record's id (path, body or form).
DbId = Annotated[int, Ge(1), Le(DB_INT_MAX)]
#: A record's version (optimistic locking): the same range as an id.
Version = Annotated[int, Ge(1), Le(DB_INT_MAX)]
#: The number of an infusion in a course.
InfusionNumber = Annotated[int, Ge(1), Le(999)]  # the series, then maintenance (§8)


def form_int(
    value: str, field: str, *, minimum: int = -DB_INT_MAX, maximum: int = DB_INT_MAX
) -> int:
    """``value`` as a whole number in ``minimum..maximum``; ValidationFailed naming ``field``."""
    text = value.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdigit() or len(digits) > 10:  # no 10,000-digit int() before the range check
        raise ValidationFailed(field, "a whole number", value)
    number = int(text)
    if not minimum <= number <= maximum:
        raise ValidationFailed(field, f"must be between {minimum} and {maximum}", value)
    return number
