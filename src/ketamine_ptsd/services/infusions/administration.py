"""The people and facts around giving the drug: the second staff member's countersignature, the
supervising physician, who prepared the bag, the last recorded weight (PROTOCOL.md §4, §6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ketamine_ptsd.core.roles import Action, Role, is_allowed

from ..access import Actor
from ..audit import AuditEvent, encode_value
from ..errors import ValidationFailed
from ..records import InfusionDay, Patient, ScreeningVisit, User
from ..uow import UnitOfWork
from .base import InfusionBase
from .views import Countersign

#: The field names a refused countersignature is reported under (the form's inputs).
WITNESS_USERNAME = "witness_username"
WITNESS_PASSWORD = "witness_password"


def last_recorded_weight(uow: UnitOfWork, patient: Patient, before: int) -> float | None:
    """The weight the day's is compared with: the latest earlier infusion day's, else the
    screening visit's (PROTOCOL.md §4)."""
    previous = uow.session.scalars(
        select(InfusionDay.weight_kg)
        .where(
            InfusionDay.patient_id == patient.id,
            InfusionDay.infusion_number < before,
            InfusionDay.voided_at.is_(None),
        )
        .order_by(InfusionDay.infusion_number.desc())
    ).first()
    if previous is not None:
        return float(previous)
    for measures in uow.session.scalars(
        select(ScreeningVisit.measures)
        .where(ScreeningVisit.patient_id == patient.id, ScreeningVisit.voided_at.is_(None))
        .order_by(ScreeningVisit.id.desc())
    ):
        body: Any = (measures or {}).get("body")
        if isinstance(body, dict) and body.get("weight_kg") is not None:
            return float(body["weight_kg"])
    return None


def active_user(uow: UnitOfWork, username: str, field: str) -> User:
    """An active account by username, or a refusal naming ``field``."""
    name = username.strip() if isinstance(username, str) else ""
    user = uow.session.scalar(select(User).where(User.username == name)) if name else None
    if user is None or not user.active:
        raise ValidationFailed(field, "not an active user of this record", username)
    return user


def supervising_physician(uow: UnitOfWork, user_id: object) -> User:
    """The supervising physician: an active user whose role signs off discharges (investigator
    or clinician; PROTOCOL.md §6 "a physician trained in sedation oversees")."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise ValidationFailed(
            "supervising_physician_id", "choose the physician supervising this infusion", user_id
        )
    user = uow.session.get(User, user_id)
    if user is None or not user.active or not is_allowed(user.role, Action.DISCHARGE_SIGNOFF):
        raise ValidationFailed(
            "supervising_physician_id",
            "must be an active physician (investigator or clinician) (§6)",
            user_id,
        )
    return user


class AdministrationSupport(InfusionBase):
    """Countersignatures and the list of physicians a start may name."""

    def physicians(self, actor: Actor) -> list[tuple[int, str]]:
        """(id, name) of every active user who may supervise an infusion (§6)."""
        if not is_allowed(actor.role, Action.INFUSION_READ):
            return []
        roles = [r.value for r in Role if is_allowed(r, Action.DISCHARGE_SIGNOFF)]
        with self._ctx.uow(actor, write=False) as uow:
            rows = uow.session.execute(
                select(User.id, User.full_name)
                .where(User.active.is_(True), User.role.in_(roles))
                .order_by(User.full_name)
            )
            return [(row[0], row[1]) for row in rows]

    def _countersign(
        self, actor: Actor, witness: Countersign, *, purpose: str, record: str
    ) -> tuple[int, str]:
        """Verify a second staff member at the bedside (their own password, counted and audited
        like a sign-in, in its own transaction); return their id and name.

        Refused: the actor themself (an independent double-check needs two people, ISMP), a
        user who may not record infusions, an unknown user or a wrong password (one message for
        both, so usernames cannot be probed).
        """
        if not isinstance(witness, Countersign):
            raise ValidationFailed(WITNESS_USERNAME, "a second staff member must check", None)
        name = witness.username.strip() if isinstance(witness.username, str) else ""
        if not name:
            raise ValidationFailed(
                WITNESS_USERNAME, "the second staff member's username", witness.username
            )
        with self._ctx.uow(actor, write=True) as uow:
            user = uow.session.scalar(select(User).where(User.username == name))
            if user is not None and user.id == actor.user_id:
                raise ValidationFailed(
                    WITNESS_USERNAME,
                    "a second staff member, not you, must check (independent double-check)",
                    witness.username,
                )
            if user is not None and not is_allowed(user.role, Action.INFUSION_RECORD):
                raise ValidationFailed(
                    WITNESS_USERNAME,
                    "must be clinical staff who may record infusions (nurse or physician)",
                    witness.username,
                )
            if user is None:
                self._auth._dummy_verify(witness.password)
                ok = False
            else:
                ok = self._auth.check_password(uow, user, witness.password)
            if not ok:
                uow.commit()  # the failed attempt is counted and audited
                raise ValidationFailed(
                    WITNESS_PASSWORD, "the second staff member's username or password", None
                )
            assert user is not None
            uow.events(
                [
                    AuditEvent(
                        "countersign",
                        "users",
                        str(user.id),
                        None,
                        None,
                        encode_value({"purpose": purpose, "record": record}),
                        reason=purpose,
                    )
                ]
            )
            uow.commit()
            return user.id, user.full_name
