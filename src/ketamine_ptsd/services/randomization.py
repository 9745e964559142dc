"""Randomization and the blind: the sealed list, allocation, emergency unblinding.

PROTOCOL.md §3: 1:1 permuted blocks, the list made by the research pharmacy, assignment on the
morning of the first infusion, allocation known only to the pharmacy; audited emergency
unblinding. Here:

* the pharmacist generates the list (:mod:`ketamine_ptsd.core.randomization`) from a seed drawn
  by the injected seed source; list version, seed and SHA-256 digest are stored (the seal), and
  the database refuses UPDATE/DELETE on the slots (migration 0001);
* only the pharmacist can read the list (``randomization_list.read``);
* :meth:`RandomizationService.allocate` takes the next free slot of the patient's stratum. Each
  slot is used once, even under concurrent requests: writers are serialized by the unit of work,
  the slot row is selected ``FOR UPDATE`` (PostgreSQL), and ``allocations.slot_id`` and
  ``allocations.patient_id`` are unique, so a race that got through would be refused by the
  database and retried;
* blinded roles see "study drug"; an investigator may break the blind for one patient in an
  emergency, with a reason, which is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.randomization import (
    AllocationList,
    BlockListSpec,
    Slot,
    generate_block_list,
    verify_block_list,
)
from ketamine_ptsd.core.roles import Action, Sensitivity
from ketamine_ptsd.core.workflow import BLINDED_LABEL, Event

from ._workflow import STRATUM_PATTERN
from .access import Actor, allocation_visibility, require, require_patient
from .audit import AuditEvent, encode_value
from .auth import AuthService
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .patients import load_patient
from .records import Allocation, Patient, RandomizationList, RandomizationSlot, Unblinding
from .uow import UnitOfWork
from .workflow import transition

__all__ = [
    "AllocationView",
    "ListSummary",
    "RandomizationService",
    "SealedList",
    "UnblindingView",
    "partial_code",
    "trial_arm_codes",
]

MAX_ALLOCATION_ATTEMPTS = 5
DEFAULT_STRATUM = "all"


@dataclass(frozen=True)
class ListSummary:
    """What anyone allowed to generate or read a list sees about it (no arms)."""

    id: int
    protocol_name: str
    list_version: str
    strata: tuple[str, ...]
    slots: int
    digest: str
    generated_at: dt.datetime


@dataclass(frozen=True)
class SealedList:
    """The list itself (pharmacist only), as the core's value object."""

    summary: ListSummary
    allocation_list: AllocationList


@dataclass(frozen=True)
class AllocationView:
    """An allocation as the actor may see it: ``treatment`` is "study drug" while blinded."""

    study_id: str
    allocated_at: dt.datetime
    infusion_date: dt.date
    list_version: str
    treatment: str
    arm_id: str | None
    stratum: str
    sequence: int | None


@dataclass(frozen=True)
class UnblindingView:
    study_id: str
    arm_id: str
    drug: str
    unblinded_at: dt.datetime


def partial_code(seed: str, arm_ids: Sequence[str], arm_id: str) -> str:
    """The "drug A / drug B" code of an arm for a partially unblinded analysis (PROTOCOL.md §3).

    The letter order is a permutation keyed on the list's secret seed, so the coded arms do not
    reveal which drug is which to someone who knows the arm order of the protocol.
    """
    order = sorted(arm_ids, key=lambda a: hashlib.sha256(f"{seed}:{a}".encode()).hexdigest())
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[order.index(arm_id)]


def trial_arm_codes(session: Session, protocol_name: str) -> dict[str, str]:
    """arm id → its "A"/"B" code for the whole trial of ``protocol_name``.

    Fixed once per trial: keyed on the seed of the protocol's first sealed list, over every arm
    any of its lists uses, so a patient allocated from a list sealed later gets the same code as
    a patient of the same arm from the first list (issue 11: per-list codes put a midazolam
    patient under "A" next to the ketamine patients once a second list was sealed).
    """
    lists = session.scalars(
        select(RandomizationList)
        .where(RandomizationList.protocol_name == protocol_name)
        .order_by(RandomizationList.id)
    ).all()
    if not lists:
        return {}
    arms = sorted({arm for record in lists for arm in record.arms})
    return {arm: partial_code(lists[0].seed, arms, arm) for arm in arms}


def _summary(record: RandomizationList, slots: int) -> ListSummary:
    return ListSummary(
        record.id,
        record.protocol_name,
        record.list_version,
        tuple(record.strata),
        slots,
        record.digest,
        record.generated_at,
    )


def _as_allocation_list(
    record: RandomizationList, slots: Sequence[RandomizationSlot]
) -> AllocationList:
    spec = BlockListSpec(
        arms=tuple(record.arms),
        ratio=tuple(record.ratio),
        block_sizes=tuple(record.block_sizes),
        strata=tuple(record.strata),
        slots_per_stratum=record.slots_per_stratum,
    )
    return AllocationList(
        record.list_version,
        int(record.seed),
        spec,
        tuple(Slot(s.stratum, s.sequence, s.block_number, s.block_size, s.arm) for s in slots),
    )


class RandomizationService:
    """The pharmacy's list, allocation on infusion day 1, emergency unblinding."""

    def __init__(self, ctx: ServiceContext, auth: AuthService) -> None:
        self._ctx = ctx
        self._auth = auth

    # --- the list ----------------------------------------------------------------------------

    def generate_list(
        self,
        actor: Actor,
        *,
        protocol_name: str,
        list_version: str,
        slots_per_stratum: int,
        block_sizes: Sequence[int] = (2, 4),
        strata: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> ListSummary:
        """Generate and seal a list for a randomized protocol; any earlier list is retired."""
        require(actor, Action.RANDOMIZATION_LIST_GENERATE)
        protocol = self._ctx.protocol(protocol_name)
        if protocol.mode != "trial" or len(protocol.arms) < 2:
            raise ValidationFailed(
                "protocol_name", "only a randomized trial protocol has a list", protocol_name
            )
        for stratum in strata or ():
            if not STRATUM_PATTERN.match(stratum):
                raise ValidationFailed(
                    "strata", "letters, digits, spaces, '.', '_' or '-'", stratum
                )
        spec = BlockListSpec(
            arms=tuple(arm.id for arm in protocol.arms),
            ratio=tuple(int(arm.allocation_ratio) for arm in protocol.arms),
            block_sizes=tuple(int(b) for b in block_sizes),
            strata=tuple(strata) if strata else (DEFAULT_STRATUM,),
            slots_per_stratum=int(slots_per_stratum),
        )
        try:
            drawn = generate_block_list(
                spec, seed=self._ctx.seed_source() if seed is None else seed, version=list_version
            )
        except InvalidInput as exc:
            raise ValidationFailed(exc.field, exc.message, exc.value) from exc
        with self._ctx.uow(actor, write=True) as uow:
            if uow.session.scalar(
                select(RandomizationList.id).where(RandomizationList.list_version == list_version)
            ):
                raise ConflictError("randomization list", list_version, "version already used")
            uow.reason = f"replaced by list {list_version}"
            for older in uow.session.scalars(
                select(RandomizationList).where(
                    RandomizationList.protocol_name == protocol.name,
                    RandomizationList.retired_at.is_(None),
                )
            ):
                older.retired_at = uow.now
            record = RandomizationList(
                protocol_name=protocol.name,
                list_version=list_version,
                seed=str(drawn.seed),
                arms=list(spec.arms),
                ratio=list(spec.ratio),
                block_sizes=list(spec.block_sizes),
                strata=list(spec.strata),
                slots_per_stratum=spec.slots_per_stratum,
                digest=drawn.digest,
                generated_at=uow.now,
                generated_by=actor.user_id,
                retired_at=None,
            )
            uow.session.add(record)
            uow.flush()
            uow.session.add_all(
                [
                    RandomizationSlot(
                        list_id=record.id,
                        stratum=s.stratum,
                        sequence=s.sequence,
                        block_number=s.block_number,
                        block_size=s.block_size,
                        arm=s.arm,
                    )
                    for s in drawn.slots
                ]
            )
            uow.events(
                [
                    AuditEvent(
                        "list_generated",
                        "randomization_lists",
                        str(record.id),
                        "digest",
                        None,
                        encode_value(drawn.digest),
                        None,
                        Sensitivity.ALLOCATION.value,
                    )
                ]
            )
            summary = _summary(record, len(drawn.slots))
            uow.commit()
            return summary

    def _load_list(
        self, uow: UnitOfWork, list_id: int
    ) -> tuple[RandomizationList, list[RandomizationSlot]]:
        record = uow.session.get(RandomizationList, list_id)
        if record is None:
            raise NotFound("randomization list", list_id)
        slots = list(
            uow.session.scalars(
                select(RandomizationSlot)
                .where(RandomizationSlot.list_id == list_id)
                .order_by(RandomizationSlot.stratum, RandomizationSlot.sequence)
            )
        )
        order = {s: i for i, s in enumerate(record.strata)}
        slots.sort(key=lambda s: (order.get(s.stratum, len(order)), s.sequence))
        return record, slots

    def read_list(self, actor: Actor, list_id: int) -> SealedList:
        """The sealed list with its arms (pharmacist only); reading it is audited."""
        require(actor, Action.RANDOMIZATION_LIST_READ)
        with self._ctx.uow(actor, write=True) as uow:
            record, slots = self._load_list(uow, list_id)
            uow.events([AuditEvent("list_read", "randomization_lists", str(list_id))])
            result = SealedList(_summary(record, len(slots)), _as_allocation_list(record, slots))
            uow.commit()
            return result

    def verify_list(self, actor: Actor, list_id: int) -> list[str]:
        """Problems with a stored list: digest, balance, and regeneration from its seed."""
        require(actor, Action.RANDOMIZATION_LIST_READ)
        with self._ctx.uow(actor, write=False) as uow:
            record, slots = self._load_list(uow, list_id)
            allocation_list = _as_allocation_list(record, slots)
            problems = verify_block_list(allocation_list)
            if allocation_list.digest != record.digest:
                problems.append("the list does not match its sealed digest")
            return problems

    # --- allocation --------------------------------------------------------------------------

    def allocate(self, actor: Actor, patient_id: int, *, infusion_date: dt.date) -> AllocationView:
        """Allocate on the morning of infusion 1 (PROTOCOL.md §3): the next free slot, once."""
        require(actor, Action.ALLOCATE)
        for attempt in range(MAX_ALLOCATION_ATTEMPTS):
            last = attempt == MAX_ALLOCATION_ATTEMPTS - 1
            try:
                return self._allocate_once(actor, patient_id, infusion_date)
            except IntegrityError as exc:  # a concurrent request took the slot: try the next
                if last:
                    raise ConflictError(
                        "patient", patient_id, "allocation kept colliding; retry"
                    ) from exc
            except ConflictError as exc:
                if not isinstance(exc.__cause__, IntegrityError) or last:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _allocate_once(
        self, actor: Actor, patient_id: int, infusion_date: dt.date
    ) -> AllocationView:
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.ALLOCATE, patient)
            if infusion_date != uow.now.date():
                raise ValidationFailed(
                    "infusion_date",
                    "allocation happens on the morning of infusion 1 (today)",
                    infusion_date,
                )
            if patient.voided_at is not None:
                raise ConflictError("patient", patient.study_id, "voided")
            if uow.session.scalar(select(Allocation.id).where(Allocation.patient_id == patient.id)):
                raise ConflictError("patient", patient.study_id, "already allocated")
            # The workflow's guards: eligible (by the rules or an override), a trial, consent.
            transition(uow, patient, Event.ALLOCATE)
            record = uow.session.scalar(
                select(RandomizationList)
                .where(
                    RandomizationList.protocol_name == patient.protocol_name,
                    RandomizationList.retired_at.is_(None),
                )
                .order_by(RandomizationList.id.desc())
            )
            if record is None:
                raise ConflictError(
                    "patient", patient.study_id, "no randomization list for the protocol"
                )
            if self._ctx.protocol(patient.protocol_name).stratify_by_site:
                stratum = patient.site  # stratified by site (the protocol's stratify_by_site)
                if stratum not in record.strata:
                    raise ValidationFailed(
                        "stratum",
                        f"the list has no stratum for site {patient.site}: the protocol "
                        "stratifies by site, so generate the list with one stratum per site",
                        patient.site,
                    )
            else:
                stratum = patient.stratum or DEFAULT_STRATUM
            if stratum not in record.strata:
                raise ValidationFailed(
                    "stratum", "not a stratum of the randomization list", patient.stratum
                )
            used = exists().where(Allocation.slot_id == RandomizationSlot.id)
            slot = uow.session.scalar(
                select(RandomizationSlot)
                .where(
                    RandomizationSlot.list_id == record.id,
                    RandomizationSlot.stratum == stratum,
                    ~used,
                )
                .order_by(RandomizationSlot.sequence)
                .limit(1)
                .with_for_update()
            )
            if slot is None:
                raise ConflictError(
                    "randomization list",
                    record.list_version,
                    f"no free slot left in stratum {stratum!r}",
                )
            allocation = Allocation(
                patient_id=patient.id,
                slot_id=slot.id,
                list_id=record.id,
                allocated_at=uow.now,
                allocated_by=actor.user_id,
                infusion_date=infusion_date,
            )
            uow.session.add(allocation)
            uow.reason = "allocated on the morning of infusion 1"
            uow.flush()
            uow.events(
                [
                    AuditEvent(
                        "randomize",
                        "patients",
                        str(patient.id),
                        "allocation",
                        None,
                        encode_value(
                            {
                                "list_version": record.list_version,
                                "stratum": stratum,
                                "sequence": slot.sequence,
                                "arm": slot.arm,
                            }
                        ),
                        None,
                        Sensitivity.ALLOCATION.value,
                    )
                ]
            )
            view = self._allocation_view(uow, actor, patient, allocation, slot, record)
            uow.commit()
            return view

    def _allocation_view(
        self,
        uow: UnitOfWork,
        actor: Actor,
        patient: Patient,
        allocation: Allocation,
        slot: RandomizationSlot,
        record: RandomizationList,
    ) -> AllocationView:
        visible = allocation_visibility(uow.session, actor, patient)
        drug = {arm.id: arm.drug for arm in self._ctx.protocol(patient.protocol_name).arms}
        return AllocationView(
            study_id=patient.study_id,
            allocated_at=allocation.allocated_at,
            infusion_date=allocation.infusion_date,
            list_version=record.list_version,
            treatment=drug.get(slot.arm, slot.arm) if visible else BLINDED_LABEL,
            arm_id=slot.arm if visible else None,
            stratum=slot.stratum,
            sequence=slot.sequence if visible else None,
        )

    def allocation(self, actor: Actor, patient_id: int) -> AllocationView:
        """The patient's allocation as the actor may see it (blinded: "study drug")."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            allocation = uow.session.scalar(
                select(Allocation).where(Allocation.patient_id == patient.id)
            )
            if allocation is None:
                raise NotFound("allocation of patient", patient.study_id)
            slot = uow.session.get(RandomizationSlot, allocation.slot_id)
            record = uow.session.get(RandomizationList, allocation.list_id)
            assert slot is not None and record is not None
            return self._allocation_view(uow, actor, patient, allocation, slot, record)

    # --- unblinding --------------------------------------------------------------------------

    def emergency_unblind(
        self, actor: Actor, patient_id: int, *, reason: str, password: str
    ) -> UnblindingView:
        """Break the blind for one patient in an emergency (investigator, with a reason and
        the password again, as for an electronic signature: AuthenticationFailed otherwise)."""
        require(actor, Action.UNBLIND_EMERGENCY)
        if len(reason.strip()) < 10:
            raise ValidationFailed(
                "reason", "state the clinical reason (at least 10 characters)", reason
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.UNBLIND_EMERGENCY, patient)
            allocation = uow.session.scalar(
                select(Allocation).where(Allocation.patient_id == patient.id)
            )
            if allocation is None:
                raise NotFound("allocation of patient", patient.study_id)
            slot = uow.session.get(RandomizationSlot, allocation.slot_id)
            assert slot is not None
            self._auth.reauthenticate(uow, password)  # nothing of ours is pending yet
            unblinding = Unblinding(
                patient_id=patient.id,
                kind="emergency",
                reason=reason.strip(),
                unblinded_by=actor.user_id,
                unblinded_at=uow.now,
            )
            uow.session.add(unblinding)
            uow.flush()
            uow.events(
                [
                    AuditEvent(
                        "unblind",
                        "patients",
                        str(patient.id),
                        None,
                        None,
                        encode_value({"arm": slot.arm}),
                        reason.strip(),
                        Sensitivity.ALLOCATION.value,
                    )
                ]
            )
            drug = {arm.id: arm.drug for arm in self._ctx.protocol(patient.protocol_name).arms}
            view = UnblindingView(
                patient.study_id, slot.arm, drug.get(slot.arm, slot.arm), unblinding.unblinded_at
            )
            uow.commit()
            return view
