"""What the workflow services share: the protocol as the core's model, the patient's drug, edits.

The workflow services (screening, infusions, assessments, follow-up, clinic) run the clinical
rules of :mod:`ketamine_ptsd.core.rules`, which take the core's :class:`Protocol`; the service
context hands out whatever its protocol store returns, so :func:`core_protocol` insists on the
real model (a test double without eligibility rules cannot decide eligibility).

Edits follow one pattern everywhere (issue 4: optimistic locking, an edit of a saved value needs
a reason, a later edit invalidates signatures — the audit hook does the last part): the caller
passes the version it read; :func:`check_editable` refuses a stale or voided record before any
change, and :func:`core_call` turns a core :class:`InvalidInput` into the service layer's
:class:`ValidationFailed` with the same field, so nothing is half-written.

A patient's randomization stratum is checked by :func:`check_stratum` at registration and on
every edit (not first at allocation), so every interface refuses a malformed one alike.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from ketamine_ptsd.core.errors import DomainError, InvalidInput
from ketamine_ptsd.core.protocol import Protocol

from .access import Actor
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .records import Allocation, Patient, RandomizationList, RandomizationSlot, Record
from .uow import UnitOfWork

__all__ = [
    "STRATUM_PATTERN",
    "check_editable",
    "check_stratum",
    "core_call",
    "core_protocol",
    "entered",
    "need_reason",
    "patient_drug",
    "require_open",
    "void_record",
]


T = TypeVar("T")


def core_protocol(ctx: ServiceContext, name: str) -> Protocol:
    """The protocol ``name`` as the core's validated model (the rules need all of it)."""
    protocol = ctx.protocol(name)
    if not isinstance(protocol, Protocol):
        raise ValidationFailed(
            "protocol_name", "the workflows need a full protocol file (core.protocol)", name
        )
    return protocol


def core_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a pure core function; its InvalidInput becomes ValidationFailed (same field)."""
    try:
        return fn(*args, **kwargs)
    except InvalidInput as exc:
        raise ValidationFailed(exc.field, exc.message, exc.value) from exc
    except DomainError as exc:
        raise ValidationFailed("protocol", str(exc)) from exc


def entered(actor: Actor, now: dt.datetime) -> dict[str, Any]:
    """The provenance of a new clinical record: who entered it and when, and not voided."""
    return {
        "recorded_by": actor.user_id,
        "recorded_at": now,
        "voided_at": None,
        "voided_by": None,
        "void_reason": None,
    }


def need_reason(reason: str | None) -> str:
    """An edit of a saved value needs a reason (21 CFR 11.10(e) spirit; issue 4)."""
    if reason is None or not reason.strip():
        raise ValidationFailed("reason", "an edit of a saved value needs a reason", reason)
    return reason.strip()


def check_editable(entity: str, record: Record, expected_version: int) -> None:
    """Refuse an edit of a voided record or of a version other than the one the caller read."""
    if getattr(record, "voided_at", None) is not None:
        raise ConflictError(entity, record.id, "voided records cannot be edited")
    if getattr(record, "version", None) != expected_version:
        raise ConflictError(
            entity, record.id, "changed by someone else since it was read; reload and retry"
        )


def void_record(
    uow: UnitOfWork, entity: str, record: Record, *, expected_version: int, reason: str
) -> None:
    """Void (never delete) a clinical record, with the reason audited."""
    reason = need_reason(reason)
    check_editable(entity, record, expected_version)
    uow.reason = reason
    record.voided_at = uow.now  # type: ignore[attr-defined]
    record.voided_by = uow.actor.user_id  # type: ignore[attr-defined]
    record.void_reason = reason  # type: ignore[attr-defined]


def require_open(patient: Patient) -> None:
    """Refuse new clinical data for a voided registration."""
    if patient.voided_at is not None:
        raise ConflictError("patient", patient.study_id, "voided")


def patient_drug(uow: UnitOfWork, protocol: Protocol, patient: Patient) -> str | None:
    """The drug the patient receives: the allocated arm's (trial) or the only arm's (clinic).

    None in a trial before allocation. Never shown to a blinded reader: callers decide.
    """
    allocation = uow.session.scalar(select(Allocation).where(Allocation.patient_id == patient.id))
    if allocation is None:
        if len(protocol.arms) == 1 and not protocol.blinded:
            return protocol.arms[0].drug
        return None
    slot = uow.session.get(RandomizationSlot, allocation.slot_id)
    if slot is None:  # pragma: no cover - the foreign key guarantees it
        raise NotFound("randomization slot", allocation.slot_id)
    for arm in protocol.arms:
        if arm.id == slot.arm:
            return arm.drug
    raise ValidationFailed("arm", "the allocated arm is not in the protocol", None)


def not_in_future(field: str, day: dt.date, today: dt.date) -> None:
    """Clinical dates are never in the future (a typing error, not a plan)."""
    if day > today:
        raise ValidationFailed(field, "cannot be in the future", day)


#: A randomization stratum's label (PROTOCOL.md §3: permuted blocks, optional strata): what a
#: sealed list holds and a page shows — letters, digits, space, ``.``, ``_``, ``-``.
STRATUM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


def check_stratum(uow: UnitOfWork, protocol: Any, stratum: str | None) -> None:
    """Refuse a stratum the protocol's randomization cannot use, at registration and on edit
    (so the web pages, the API and the command line all refuse it, not the allocation later):
    only a randomized trial has strata; a label is :data:`STRATUM_PATTERN`; and once the
    protocol has a sealed list, it must be one of that list's strata."""
    if stratum is None:
        return
    if not stratum.strip():
        raise ValidationFailed("stratum", "must not be blank", stratum)
    if protocol.mode != "trial" or len(protocol.arms) < 2:
        raise ValidationFailed("stratum", "only a randomized trial protocol has strata", stratum)
    if not STRATUM_PATTERN.match(stratum):
        raise ValidationFailed(
            "stratum",
            "1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit",
            stratum,
        )
    strata = uow.session.scalar(
        select(RandomizationList.strata)
        .where(
            RandomizationList.protocol_name == protocol.name,
            RandomizationList.retired_at.is_(None),
        )
        .order_by(RandomizationList.id.desc())
        .limit(1)
    )
    if strata is not None and stratum not in strata:
        raise ValidationFailed(
            "stratum", f"not a stratum of the randomization list ({', '.join(strata)})", stratum
        )
