"""Discharge: the nurse's findings, readiness by the rule, the physician's signed sign-off (§6)."""

from __future__ import annotations

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    DischargeFindings,
    VitalSigns,
    discharge_readiness,
)

from .._workflow import (
    check_editable,
    core_call,
    need_reason,
)
from ..access import Actor, require
from ..audit import AuditEvent, encode_value
from ..errors import ConflictError
from ..records import (
    InfusionDay,
    Patient,
    Signature,
)
from ..uow import UnitOfWork
from .base import InfusionBase
from .queries import (
    instrument_ratings_query,
    latest_vitals_query,
)
from .views import (
    DischargeView,
)


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

    def _readiness(
        self,
        uow: UnitOfWork,
        protocol: Protocol,
        patient: Patient,
        day: InfusionDay,
        *,
        signoff: bool,
    ) -> DischargeView:
        instrument = protocol.monitoring.discharge.dissociation_instrument
        which = {"patient_id": patient.id, "infusion_number": day.infusion_number}
        scores = {
            r.minute: r.total
            for r in uow.session.scalars(
                instrument_ratings_query(), {**which, "instrument": instrument}
            )
        }
        latest_minute = max((m for m in scores if m > 0), default=None)
        latest_vitals = uow.session.scalars(latest_vitals_query(), which).first()
        findings = DischargeFindings(
            infusion_start=day.started_at,
            infusion_end=day.ended_at,
            now=uow.now,
            dissociation_baseline=scores.get(0),
            dissociation_latest=None if latest_minute is None else scores[latest_minute],
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
            ),
        )
        result = core_call(discharge_readiness, protocol, findings)
        return DischargeView(
            result.ready,
            result.earliest_discharge,
            result.reasons,
            day.discharged_at,
            day.version,
            tuple(code.value for code in result.codes),
        )

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
            pending = self._readiness(uow, protocol, patient, day, signoff=True)
            if not pending.ready:
                raise ConflictError(
                    "infusion", day.id, "not ready for discharge: " + "; ".join(pending.reasons)
                )
            user = self._auth.reauthenticate(uow, password)
            day.physician_signoff_by = user.id
            day.discharged_at = uow.now
            day.discharge_reasons = []
            uow.flush()
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
