"""The infusion day's frequent reads, built once with bind parameters."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import bindparam, select

from ..records import (
    InfusionDay,
    InfusionRating,
    Patient,
    PreInfusionCheck,
    VitalSignsRecord,
    Withdrawal,
)
from ..uow import UnitOfWork


@functools.cache
def day_query() -> Any:
    """The live record of one infusion day (built once: most of the day's use cases read it)."""
    return select(InfusionDay).where(
        InfusionDay.patient_id == bindparam("patient_id"),
        InfusionDay.infusion_number == bindparam("infusion_number"),
        InfusionDay.voided_at.is_(None),
    )


def day_records(
    uow: UnitOfWork, record: Any, patient: Patient, infusion_number: int, *, by_minute: bool
) -> list[Any]:
    """The live records of one kind (vitals, ratings, interventions) of one infusion day, in
    the order they were taken (by minute first where the kind has one)."""
    order = (record.minute, record.id) if by_minute else (record.id,)
    return list(
        uow.session.scalars(
            select(record)
            .where(
                record.patient_id == patient.id,
                record.infusion_number == infusion_number,
                record.voided_at.is_(None),
            )
            .order_by(*order)
        )
    )


@functools.cache
def day_id_query() -> Any:
    return select(InfusionDay.id).where(
        InfusionDay.patient_id == bindparam("patient_id"),
        InfusionDay.infusion_number == bindparam("infusion_number"),
        InfusionDay.voided_at.is_(None),
    )


@functools.cache
def instrument_ratings_query() -> Any:
    """One instrument's live ratings of one day, by minute (the discharge check's CADSS)."""
    return (
        select(InfusionRating)
        .where(
            InfusionRating.patient_id == bindparam("patient_id"),
            InfusionRating.infusion_number == bindparam("infusion_number"),
            InfusionRating.instrument == bindparam("instrument"),
            InfusionRating.voided_at.is_(None),
        )
        .order_by(InfusionRating.minute)
    )


@functools.cache
def latest_vitals_query() -> Any:
    return (
        select(VitalSignsRecord)
        .where(
            VitalSignsRecord.patient_id == bindparam("patient_id"),
            VitalSignsRecord.infusion_number == bindparam("infusion_number"),
            VitalSignsRecord.voided_at.is_(None),
        )
        .order_by(VitalSignsRecord.minute.desc(), VitalSignsRecord.id.desc())
    )


@functools.cache
def rating_duplicate_query() -> Any:
    """A live rating of the same instruments at the same minute; a minute-0 (pre-infusion)
    rating counts only from ``since`` (the start of the day: a held day's ratings are not the
    next attempt's)."""
    return select(InfusionRating.id).where(
        InfusionRating.patient_id == bindparam("patient_id"),
        InfusionRating.infusion_number == bindparam("infusion_number"),
        InfusionRating.minute == bindparam("minute"),
        InfusionRating.instrument.in_(bindparam("instruments", expanding=True)),
        InfusionRating.voided_at.is_(None),
        (InfusionRating.minute > 0) | (InfusionRating.rated_at >= bindparam("since")),
    )


def start_of_day(now: dt.datetime) -> dt.datetime:
    """Midnight (UTC) of ``now``'s day: pre-infusion readings and ratings taken before it
    belong to an earlier attempt at the same infusion (a held day), not to today's."""
    return dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time.min, tzinfo=dt.UTC)


@functools.cache
def todays_checklist_query() -> Any:
    """The latest checklist of one infusion on one day (a re-check after a hold is newer)."""
    return (
        select(PreInfusionCheck)
        .where(
            PreInfusionCheck.patient_id == bindparam("patient_id"),
            PreInfusionCheck.infusion_number == bindparam("infusion_number"),
            PreInfusionCheck.checked_on == bindparam("checked_on"),
        )
        .order_by(PreInfusionCheck.id.desc())
    )


@functools.cache
def withdrawal_query() -> Any:
    return select(Withdrawal.id).where(Withdrawal.patient_id == bindparam("patient_id"))


def baseline_vitals_record(
    uow: UnitOfWork, patient: Patient, infusion_number: int
) -> VitalSignsRecord | None:
    """The live minute-0 (baseline) vitals of one infusion taken today, if any (a held day's
    baseline is not the next attempt's, PROTOCOL.md §6)."""
    return uow.session.scalars(
        select(VitalSignsRecord)
        .where(
            VitalSignsRecord.patient_id == patient.id,
            VitalSignsRecord.infusion_number == infusion_number,
            VitalSignsRecord.minute == 0,
            VitalSignsRecord.voided_at.is_(None),
            VitalSignsRecord.measured_at >= start_of_day(uow.now),
        )
        .order_by(VitalSignsRecord.id.desc())
    ).first()
