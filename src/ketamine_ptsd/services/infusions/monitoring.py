"""Vitals with their alerts, interventions, and the infusion-day ratings (§6, §7)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from ketamine_ptsd.core.conduct import vitals_findings
from ketamine_ptsd.core.instruments import score
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    check_rescue,
    check_vitals_window,
    vital_sign_alerts,
    vitals_due_minutes,
)

from .._workflow import (
    core_call,
    entered,
    require_open,
)
from ..access import Actor
from ..alerts import VITAL_SIGNS, raise_alert
from ..audit import AuditEvent, encode_value
from ..edit_checks import raise_findings, vitals_values
from ..errors import ConflictError, ValidationFailed
from ..records import (
    InfusionRating,
    Intervention,
    VitalSignsRecord,
    VitalsMissed,
)
from .base import InfusionBase
from .queries import (
    day_records,
    rating_duplicate_query,
    start_of_day,
)
from .views import (
    InterventionInput,
    InterventionView,
    MissedVitalsView,
    RatingView,
    VitalsInput,
    VitalsView,
    checked_vitals,
    intervention_view,
    rating_view,
    score_fields,
    vitals_view,
)

#: A missed reading's reason is a sentence, not a tick (PROTOCOL.md §6).
MIN_MISSED_REASON = 5


class MonitoringUseCases(InfusionBase):
    """Vitals with their alerts, interventions, and the infusion-day ratings (§6, §7)."""

    def record_vitals(
        self, actor: Actor, patient_id: int, infusion_number: int, data: VitalsInput
    ) -> VitalsView:
        """Store one set of vitals with its alerts (§6 thresholds); minute 0 is the baseline."""
        return self.record_vitals_series(actor, patient_id, infusion_number, [data])[0]

    def record_vitals_series(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        readings: Sequence[VitalsInput],
    ) -> list[VitalsView]:
        """Store a series of vital-sign sets entered together, in one transaction.

        What a bedside tablet sends when the nurse enters the 5-minute sheet at once, or a
        monitor's upload: each reading is checked, gets its own alerts
        (:func:`vital_sign_alerts`, PROTOCOL.md §6 thresholds), is stored as a record of its own
        and audited field by field, exactly as :meth:`record_vitals` does for one reading; all or
        none are stored (a bad reading is named by its position, ``readings.<i>.<field>``).
        """
        if not readings:
            raise ValidationFailed("readings", "record at least one set of vitals", None)
        checked = [
            (data, checked_vitals(data, None if len(readings) == 1 else i))
            for i, data in enumerate(readings, start=1)
        ]
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            self._check_number(protocol, infusion_number)
            require_open(patient)
            if any(data.minute > 0 for data, _ in checked):
                day = self._day(uow, patient, infusion_number)
                if day.discharged_at is not None:
                    raise ConflictError("infusion", day.id, "patient already discharged")
                # The minute is checked against the clock: a reading is entered within its
                # window after the start (the protocol's vitals_window, PROTOCOL.md §6).
                elapsed = (uow.now - day.started_at).total_seconds() / 60
                for i, (data, _) in enumerate(checked, start=1):
                    try:
                        core_call(check_vitals_window, protocol, data.minute, elapsed)
                    except ValidationFailed as exc:
                        field = "minute" if len(checked) == 1 else f"readings.{i}.minute"
                        raise ValidationFailed(field, exc.message, exc.value) from exc
            # One reading per minute (issue 12 item 13: a network retry stored the same minute
            # twice): a repeat is refused, naming the minute, whether sent again or twice at once.
            minutes = [data.minute for data, _ in checked]
            taken = set(
                uow.session.scalars(
                    select(VitalSignsRecord.minute).where(
                        VitalSignsRecord.patient_id == patient.id,
                        VitalSignsRecord.infusion_number == infusion_number,
                        VitalSignsRecord.voided_at.is_(None),
                        # a baseline taken on a held day is not today's (§6)
                        (VitalSignsRecord.minute > 0)
                        | (VitalSignsRecord.measured_at >= start_of_day(uow.now)),
                    )
                )
            )
            missed = set(
                uow.session.scalars(
                    select(VitalsMissed.minute).where(
                        VitalsMissed.patient_id == patient.id,
                        VitalsMissed.infusion_number == infusion_number,
                        VitalsMissed.voided_at.is_(None),
                    )
                )
            )
            for i, minute in enumerate(minutes, start=1):
                if minute in missed:
                    raise ConflictError(
                        "vital signs",
                        f"{patient.study_id} #{infusion_number} minute {minute}",
                        "recorded as missed (with its reason); void that record first",
                    )
                if minute in taken or minute in minutes[: i - 1]:
                    raise ConflictError(
                        "vital signs",
                        f"{patient.study_id} #{infusion_number} minute {minute}",
                        "already recorded for this minute (a repeated post is not stored twice)"
                        + ("" if len(minutes) == 1 else f"; reading {i} of the series"),
                    )
            now = uow.now
            records = []
            for i, (data, vitals) in enumerate(checked, start=1):
                measured_at = now if data.measured_at is None else data.measured_at
                if measured_at > now:
                    field = "measured_at" if len(checked) == 1 else f"readings.{i}.measured_at"
                    raise ValidationFailed(field, "is in the future", data.measured_at)
                alerts = vital_sign_alerts(vitals, protocol.monitoring.alerts)
                records.append(
                    VitalSignsRecord(
                        patient_id=patient.id,
                        infusion_number=infusion_number,
                        minute=data.minute,
                        measured_at=measured_at,
                        systolic_mmhg=vitals.systolic_mmhg,
                        diastolic_mmhg=vitals.diastolic_mmhg,
                        heart_rate_bpm=vitals.heart_rate_bpm,
                        spo2_percent=vitals.spo2_percent,
                        respiratory_rate_per_min=vitals.respiratory_rate_per_min,
                        moaas=vitals.moaas,
                        alerts=[a.message for a in alerts],
                        **entered(actor, now),
                    )
                )
            uow.session.add_all(records)
            uow.flush()
            # Each reading beyond a threshold raises an owned alert (PROTOCOL.md §6, §12): open
            # until acknowledged with who was called, when, and what was done.
            for r in records:
                if r.alerts:
                    raise_alert(
                        uow,
                        patient,
                        infusion_number=infusion_number,
                        kind=VITAL_SIGNS,
                        source_table="vital_signs",
                        source_id=r.id,
                        messages=[f"minute {r.minute}: {m}" for m in r.alerts],
                        raised_by=actor.user_id,
                    )
                # The protocol's edit checks: a reading stored with an item missing or a value
                # outside its plausible range raises a query for the site (issue 17).
                raise_findings(
                    uow.session,
                    now,
                    patient_id=patient.id,
                    record=r,
                    table_name="vital_signs",
                    findings=vitals_findings(
                        vitals_values(r), r.minute, protocol.monitoring.data_checks
                    ),
                )
            uow.flush()
            views = [vitals_view(r) for r in records]
            uow.commit()
            return views

    def record_missed_vitals(
        self, actor: Actor, patient_id: int, infusion_number: int, *, minute: int, reason: str
    ) -> MissedVitalsView:
        """Record that the scheduled reading at ``minute`` was not taken, and why (PROTOCOL.md
        §6: discharge needs every reading of the timetable present or explained). Only a
        scheduled minute that is already due, has no reading and is not yet explained."""
        if isinstance(minute, bool) or not isinstance(minute, int):
            raise ValidationFailed("minute", "a scheduled minute of the vitals timetable", minute)
        if reason is None or len(reason.strip()) < MIN_MISSED_REASON:
            raise ValidationFailed(
                "reason",
                f"say why the reading was not taken (at least {MIN_MISSED_REASON} characters)",
                reason,
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            require_open(patient)
            day = self._day(uow, patient, infusion_number)
            if day.discharged_at is not None:
                raise ConflictError("infusion", day.id, "patient already discharged")
            due = vitals_due_minutes(protocol, day.drug) if day.drug in protocol.dosing else ()
            if minute not in due:
                raise ValidationFailed(
                    "minute",
                    f"not a scheduled minute of the vitals timetable ({', '.join(map(str, due))})",
                    minute,
                )
            elapsed = (uow.now - day.started_at).total_seconds() / 60
            if minute - protocol.monitoring.vitals_window.early_minutes > elapsed:
                raise ValidationFailed(
                    "minute", f"the {minute}-minute reading is not due yet (PROTOCOL.md §6)", minute
                )
            which = {"patient_id": patient.id, "infusion_number": infusion_number}
            recorded = set(
                uow.session.scalars(
                    select(VitalSignsRecord.minute).filter_by(**which, voided_at=None)
                )
            )
            if minute in recorded:
                raise ConflictError("vital signs", minute, "a reading is recorded for this minute")
            if uow.session.scalar(
                select(VitalsMissed.id).filter_by(**which, minute=minute, voided_at=None)
            ):
                raise ConflictError("vital signs", minute, "already recorded as missed")
            record = VitalsMissed(
                patient_id=patient.id,
                infusion_number=infusion_number,
                minute=minute,
                reason=reason.strip(),
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            view = MissedVitalsView(
                record.id,
                infusion_number,
                minute,
                record.reason,
                record.recorded_at,
                record.version,
            )
            uow.commit()
            return view

    def missed_vitals(
        self, actor: Actor, patient_id: int, infusion_number: int
    ) -> list[MissedVitalsView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = day_records(uow, VitalsMissed, patient, infusion_number, by_minute=True)
            return [
                MissedVitalsView(
                    r.id, r.infusion_number, r.minute, r.reason, r.recorded_at, r.version
                )
                for r in rows
            ]

    def vitals(self, actor: Actor, patient_id: int, infusion_number: int) -> list[VitalsView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = day_records(uow, VitalSignsRecord, patient, infusion_number, by_minute=True)
            return [vitals_view(v) for v in rows]

    def record_intervention(
        self, actor: Actor, patient_id: int, infusion_number: int, data: InterventionInput
    ) -> InterventionView:
        """Record a rescue drug given on the day (PROTOCOL.md §6): chosen from the protocol's
        formulary, by one of its routes, within its single and daily maximum (e.g. labetalol
        5 mg IV for high blood pressure), with the reason. On a day already discharged (a late
        entry) a reason for the late entry is required and audited."""
        if isinstance(data.dose_mg, bool) or not isinstance(data.dose_mg, int | float):
            raise ValidationFailed("dose_mg", "a dose in mg above 0", data.dose_mg)
        if not data.reason.strip():
            raise ValidationFailed("reason", "say why it was given", data.reason)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            day = self._day(uow, patient, infusion_number)
            if day.discharged_at is not None:
                # Issue 12 item 13: the day is closed; only a late entry with its reason.
                reason = (data.late_entry_reason or "").strip()
                if len(reason) < MIN_MISSED_REASON:
                    raise ValidationFailed(
                        "late_entry_reason",
                        f"the day was discharged at {day.discharged_at:%Y-%m-%d %H:%M}; a late "
                        "entry needs its reason (audited)",
                        data.late_entry_reason,
                    )
                uow.reason = f"late entry after discharge: {reason}"
            given_today = sum(
                i.dose_mg
                for i in day_records(uow, Intervention, patient, infusion_number, by_minute=False)
                if i.drug == data.drug.strip()
            )
            core_call(
                check_rescue,
                protocol,
                data.drug.strip(),
                data.route,
                float(data.dose_mg),
                given_today,
            )
            minute = data.minute
            if minute is None:
                minute = int((uow.now - day.started_at).total_seconds() // 60)
            record = Intervention(
                patient_id=patient.id,
                infusion_number=infusion_number,
                given_at=uow.now,
                minute=minute,
                drug=data.drug.strip(),
                dose_mg=float(data.dose_mg),
                route=data.route,
                reason=data.reason.strip(),
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            if day.discharged_at is not None:
                uow.events(
                    [
                        AuditEvent(
                            "late_entry",
                            "interventions",
                            str(record.id),
                            None,
                            None,
                            encode_value({"infusion": infusion_number, "drug": record.drug}),
                            uow.reason,
                        )
                    ]
                )
            view = intervention_view(record)
            uow.commit()
            return view

    def interventions(
        self, actor: Actor, patient_id: int, infusion_number: int
    ) -> list[InterventionView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = day_records(uow, Intervention, patient, infusion_number, by_minute=False)
            return [intervention_view(i) for i in rows]

    def record_rating(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        minute: int,
        instrument: str,
        items: Mapping[str, Any],
    ) -> RatingView:
        """Score and store an infusion-day rating at one of the protocol's minutes (§6)."""
        return self.record_ratings(
            actor, patient_id, infusion_number, minute=minute, ratings={instrument: items}
        )[0]

    def record_ratings(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        minute: int,
        ratings: Mapping[str, Mapping[str, Any]],
    ) -> list[RatingView]:
        """The ratings form of one time point: score and store the instruments rated together at
        ``minute`` (e.g. CADSS, BPRS positive, YMRS item 1 and PRISE at minute 0; PROTOCOL.md §6)
        in one transaction, all or none.

        ``ratings`` maps an instrument to its items. Each instrument must be one the protocol
        rates at that minute and not yet recorded for the day; each is scored by its instrument
        module and stored (and audited) as a rating of its own, as :meth:`record_rating` does.
        """
        if not ratings:
            raise ValidationFailed("ratings", "record at least one instrument", None)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RATING_RECORD)
            self._check_number(protocol, infusion_number)
            require_open(patient)
            scheduled = {r.minute: r.instruments for r in protocol.monitoring.ratings}
            if minute not in scheduled:
                raise ValidationFailed(
                    "minute",
                    f"the protocol rates at minutes {', '.join(map(str, sorted(scheduled)))}",
                    minute,
                )
            for instrument in ratings:
                if instrument not in scheduled[minute]:
                    raise ValidationFailed(
                        "instrument",
                        f"at minute {minute} the protocol rates {', '.join(scheduled[minute])}",
                        instrument,
                    )
            if minute > 0:
                self._day(uow, patient, infusion_number)
            duplicate = uow.session.scalar(
                rating_duplicate_query(),
                {
                    "patient_id": patient.id,
                    "infusion_number": infusion_number,
                    "minute": minute,
                    "instruments": list(ratings),
                    "since": start_of_day(uow.now),
                },
            )
            if duplicate:
                raise ConflictError("infusion rating", duplicate, "already recorded; edit it")
            records = []
            for instrument, items in ratings.items():
                scored = core_call(score, instrument, items)
                records.append(
                    InfusionRating(
                        patient_id=patient.id,
                        infusion_number=infusion_number,
                        minute=minute,
                        instrument=instrument,
                        rated_at=uow.now,
                        **entered(actor, uow.now),
                        **score_fields(scored),
                    )
                )
            uow.session.add_all(records)
            uow.flush()
            views = [rating_view(r) for r in records]
            uow.commit()
            return views

    def ratings(self, actor: Actor, patient_id: int, infusion_number: int) -> list[RatingView]:
        """Infusion-day ratings (``infusion_rating.read``: never an outcome rater, §3)."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_RATING_READ)
            rows = day_records(uow, InfusionRating, patient, infusion_number, by_minute=True)
            return [rating_view(r) for r in rows]
