"""Discharge: the nurse's findings, readiness by the rule, the physician's signed sign-off (§6)."""

from __future__ import annotations

from sqlalchemy import select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    DischargeFindings,
    VitalSigns,
    discharge_readiness,
    missing_vitals_minutes,
)
from ketamine_ptsd.core.workflow import Event, PatientState, WorkflowFacts

from .._workflow import (
    check_editable,
    core_call,
    need_reason,
)
from ..access import Actor, require
from ..alerts import open_alert_messages
from ..audit import AuditEvent, encode_value
from ..errors import ConflictError, ValidationFailed
from ..followup import retreatment_open
from ..records import (
    InfusionDay,
    Patient,
    Signature,
    VitalSignsRecord,
    VitalsMissed,
)
from ..uow import UnitOfWork
from ..workflow import series_facts, state_of, transition
from .base import InfusionBase
from .queries import (
    instrument_ratings_query,
    latest_vitals_query,
)
from .views import (
    DischargeView,
)

#: A physician's decision is a sentence, not a tick (SYSTEM.md capability 12).
MIN_DECISION_REASON = 10


class DischargeUseCases(InfusionBase):
    """Discharge: the nurse's findings, readiness by the rule, the physician's signed sign-off (§6)."""

    def record_discharge_findings(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        expected_version: int,
        ambulatory_unaided: bool,
        delayed_effects_checked: bool,
        reason: str | None = None,
    ) -> DischargeView:
        """The nurse's findings before discharge (walks unaided, delayed effects checked, §6)."""
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            day = self._day(uow, patient, infusion_number)
            check_editable("infusion", day, expected_version)
            if day.discharged_at is not None:
                raise ConflictError("infusion", day.id, "already discharged")
            if day.ambulatory_unaided is not None or day.delayed_effects_checked is not None:
                uow.reason = need_reason(reason)
            day.ambulatory_unaided = bool(ambulatory_unaided)
            day.delayed_effects_checked = bool(delayed_effects_checked)
            uow.flush()
            view = self._readiness(uow, protocol, patient, day, signoff=False)
            uow.commit()
            return view

    def _findings(
        self,
        uow: UnitOfWork,
        protocol: Protocol,
        patient: Patient,
        day: InfusionDay,
        *,
        signoff: bool,
    ) -> DischargeFindings:
        """What the discharge rule reads (PROTOCOL.md §6, §12), from the record of the day."""
        which = {"patient_id": patient.id, "infusion_number": day.infusion_number}

        def totals(instrument: str) -> dict[int, float | None]:
            return {
                r.minute: r.total
                for r in uow.session.scalars(
                    instrument_ratings_query(), {**which, "instrument": instrument}
                )
            }

        def before_and_latest(scores: dict[int, float | None]) -> tuple[float | None, float | None]:
            latest = max((m for m in scores if m > 0), default=None)
            return scores.get(0), None if latest is None else scores[latest]

        rules = protocol.monitoring.discharge
        baseline, latest = before_and_latest(totals(rules.dissociation_instrument))
        changes = {
            limit.instrument: before_and_latest(totals(limit.instrument))
            for limit in rules.worsening_limits
        }
        latest_vitals = uow.session.scalars(latest_vitals_query(), which).first()
        recorded = set(
            uow.session.scalars(select(VitalSignsRecord.minute).filter_by(**which, voided_at=None))
        )
        explained = set(
            uow.session.scalars(select(VitalsMissed.minute).filter_by(**which, voided_at=None))
        )
        elapsed = (uow.now - day.started_at).total_seconds() / 60
        missing = (
            missing_vitals_minutes(protocol, day.drug, elapsed, recorded, explained)
            if day.drug in protocol.dosing
            else None
        )
        return DischargeFindings(
            infusion_start=day.started_at,
            infusion_end=day.ended_at,
            now=uow.now,
            dissociation_baseline=baseline,
            dissociation_latest=latest,
            ambulatory_unaided=day.ambulatory_unaided,
            delayed_effects_checked=day.delayed_effects_checked,
            physician_signoff=signoff or day.physician_signoff_by is not None,
            latest_vitals=None
            if latest_vitals is None
            else VitalSigns(
                latest_vitals.systolic_mmhg,
                latest_vitals.diastolic_mmhg,
                latest_vitals.heart_rate_bpm,
                latest_vitals.spo2_percent,
                latest_vitals.respiratory_rate_per_min,
                latest_vitals.moaas,
            ),
            vitals_missing=missing,
            rating_changes=changes,
            worsening_decision=day.worsening_decision_by is not None,
            unacknowledged_alerts=open_alert_messages(uow, patient, day.infusion_number),
        )

    def _readiness(
        self,
        uow: UnitOfWork,
        protocol: Protocol,
        patient: Patient,
        day: InfusionDay,
        *,
        signoff: bool,
    ) -> DischargeView:
        findings = self._findings(uow, protocol, patient, day, signoff=signoff)
        result = core_call(discharge_readiness, protocol, findings)
        return DischargeView(
            result.ready,
            result.earliest_discharge,
            result.reasons,
            day.discharged_at,
            day.version,
            tuple(code.value for code in result.codes),
            findings.vitals_missing or (),
        )

    def record_worsening_decision(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        reason: str,
        expected_version: int,
    ) -> DischargeView:
        """The physician's decision, with the reason, to let the patient go although BPRS
        positive or YMRS item 1 is worse than the pre-infusion score by more than the protocol
        allows (PROTOCOL.md §6); audited with the reason. Refused when nothing is worse."""
        require(actor, Action.DISCHARGE_SIGNOFF)
        if reason is None or len(reason.strip()) < MIN_DECISION_REASON:
            raise ValidationFailed(
                "reason",
                f"the physician's reason (at least {MIN_DECISION_REASON} characters)",
                reason,
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.DISCHARGE_SIGNOFF)
            day = self._day(uow, patient, infusion_number)
            check_editable("infusion", day, expected_version)
            if day.discharged_at is not None:
                raise ConflictError("infusion", day.id, "already discharged")
            findings = self._findings(uow, protocol, patient, day, signoff=False)
            worse = [
                limit.instrument
                for limit in protocol.monitoring.discharge.worsening_limits
                if None not in (pair := findings.rating_changes[limit.instrument])
                and pair[1] - pair[0] > limit.max_points_above_baseline  # type: ignore[operator]
            ]
            if not worse:
                raise ConflictError(
                    "infusion",
                    day.id,
                    "no infusion-day rating is worse than the protocol allows; nothing to decide "
                    "(PROTOCOL.md §6)",
                )
            uow.reason = f"discharge despite {', '.join(worse)}: {reason.strip()}"
            day.worsening_decision_by = actor.user_id
            day.worsening_decision_reason = reason.strip()
            uow.flush()
            view = self._readiness(uow, protocol, patient, day, signoff=False)
            uow.commit()
            return view

    def readiness(self, actor: Actor, patient_id: int, infusion_number: int) -> DischargeView:
        """May the patient go now? Every outstanding criterion with its reason (§6)."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            day = self._day(uow, patient, infusion_number)
            return self._readiness(uow, protocol, patient, day, signoff=False)

    def sign_off_discharge(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        password: str,
        expected_version: int,
    ) -> DischargeView:
        """The physician's assessment and signed sign-off; refused while anything is missing."""
        require(actor, Action.DISCHARGE_SIGNOFF)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.DISCHARGE_SIGNOFF)
            day = self._day(uow, patient, infusion_number)
            check_editable("infusion", day, expected_version)
            if day.discharged_at is not None:
                raise ConflictError("infusion", day.id, "already discharged")
            user = self._auth.reauthenticate(uow, password)
            # The workflow's discharge guards, one per criterion (PROTOCOL.md §6, §12): the end
            # recorded, observation over, every scheduled reading present or explained,
            # dissociation resolved, no emergent psychosis or mania, walking unaided, delayed
            # effects checked, no vital sign beyond its alert, the named physician's sign-off.
            findings = self._findings(uow, protocol, patient, day, signoff=True)
            transition(
                uow,
                patient,
                Event.DISCHARGE,
                facts=WorkflowFacts(
                    discharge=findings,
                    discharge_protocol=protocol,
                    signed_off_by=user.full_name,
                ),
            )
            pending = core_call(discharge_readiness, protocol, findings)
            day.physician_signoff_by = user.id
            day.discharged_at = uow.now
            day.discharge_reasons = []
            uow.flush()
            if state_of(patient) is PatientState.IN_TREATMENT and not retreatment_open(
                uow, patient
            ):
                # the series' last infusion discharged: the series is complete (§5, §6); a
                # retreatment series after a lost response is not the acute series (issue 13)
                series = series_facts(uow, protocol, patient)
                if series["acute_infusions_discharged"] >= series["acute_infusion_count"]:
                    transition(uow, patient, Event.COMPLETE_SERIES, facts=WorkflowFacts(**series))
            meaning = "discharge sign-off (PROTOCOL.md §6)"
            uow.session.add(
                Signature(
                    table_name="infusion_days",
                    record_id=str(day.id),
                    record_version=day.version,
                    signer_user_id=user.id,
                    signer_name=user.full_name,
                    meaning=meaning,
                    signed_at=uow.now,
                    invalidated_at=None,
                    invalidated_reason=None,
                )
            )
            uow.flush()
            uow.events(
                [
                    AuditEvent(
                        "sign",
                        "infusion_days",
                        str(day.id),
                        None,
                        None,
                        encode_value({"meaning": meaning, "version": day.version}),
                    )
                ]
            )
            view = DischargeView(
                True, pending.earliest_discharge, (), day.discharged_at, day.version
            )
            uow.commit()
            return view
