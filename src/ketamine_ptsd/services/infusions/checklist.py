"""The pre-infusion checklist and its holds (PROTOCOL.md §6)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    BpReading,
    PreInfusionFindings,
    parse_bp_reading,
    pre_infusion_checklist,
)

from .._workflow import (
    core_call,
)
from ..access import Actor
from ..audit import AuditEvent, encode_value
from ..errors import ConflictError, ValidationFailed
from ..records import (
    InfusionRating,
    Patient,
    PreInfusionCheck,
    RiskBenefitDecisionRecord,
)
from ..uow import UnitOfWork
from .base import InfusionBase, previous_number
from .medications import flags_today
from .queries import (
    baseline_vitals_record,
    day_id_query,
    start_of_day,
    todays_checklist_query,
)
from .safety import released_holds
from .views import (
    ChecklistInput,
    ChecklistView,
    InfusionHeld,
)


class ChecklistUseCases(InfusionBase):
    """The pre-infusion checklist and its holds (PROTOCOL.md §6)."""

    def record_checklist(
        self, actor: Actor, patient_id: int, data: ChecklistInput
    ) -> ChecklistView:
        """Run and store the pre-infusion checklist; a failure is a recorded hold (§6)."""
        readings = []
        for i, raw in enumerate(data.bp_readings, start=1):
            text = raw if isinstance(raw, str) else f"{raw[0]}/{raw[1]}"
            try:
                readings.append(parse_bp_reading(text))
            except Exception as exc:  # InvalidInput names "readings"; say which one
                raise ValidationFailed(f"bp_readings.{i}", str(exc), raw) from exc
        if data.pregnancy_test not in (None, "negative", "positive", "not_applicable"):
            raise ValidationFailed(
                "pregnancy_test", "negative, positive or not_applicable", data.pregnancy_test
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(
                uow, actor, patient_id, Action.INFUSION_RECORD, lock=True
            )
            self._check_number(protocol, data.infusion_number)
            self._require_active(uow, patient)
            self._require_not_started(uow, patient, data.infusion_number)
            self._require_previous(uow, patient, protocol, data.infusion_number)
            n = data.infusion_number
            baseline_vitals = baseline_vitals_record(uow, patient, n)
            # The morning accumulates (issue 12 item 2): every reading of today's earlier
            # checklists for this infusion counts, then today's new ones, then the minute-0
            # reading of the baseline vitals (one series, §6); a positive screen stays positive.
            earlier = list(
                uow.session.scalars(
                    todays_checklist_query(),
                    {"patient_id": patient.id, "infusion_number": n, "checked_on": uow.now.date()},
                )
            )[::-1]
            series = [
                parse_bp_reading(text)
                for c in earlier
                for text in c.findings.get("bp_readings", [])
            ] + readings
            if baseline_vitals is not None:
                series.append(
                    BpReading(baseline_vitals.systolic_mmhg, baseline_vitals.diastolic_mmhg)
                )
            pregnancy = data.pregnancy_test
            if any(c.findings.get("pregnancy_test") == "positive" for c in earlier):
                pregnancy = "positive"
            toxicology = (
                None
                if data.urine_toxicology_positive_for is None
                else set(data.urine_toxicology_positive_for)
            )
            for c in earlier:
                found = c.findings.get("urine_toxicology_positive_for")
                if found:
                    toxicology = (toxicology or set()) | set(found)
            before = [r for r in protocol.monitoring.ratings if r.minute == 0]
            rated = set(
                uow.session.scalars(
                    select(InfusionRating.instrument).where(
                        InfusionRating.patient_id == patient.id,
                        InfusionRating.infusion_number == n,
                        InfusionRating.minute == 0,
                        InfusionRating.voided_at.is_(None),
                        InfusionRating.rated_at >= start_of_day(uow.now),  # today's (§6)
                    )
                )
            )
            ratings_done = all(i in rated for i in before[0].instruments) if before else True
            pregnancy_decision = uow.session.scalar(
                select(RiskBenefitDecisionRecord.id).where(
                    RiskBenefitDecisionRecord.patient_id == patient.id,
                    RiskBenefitDecisionRecord.criterion_id == "pregnancy",
                    RiskBenefitDecisionRecord.proceed.is_(True),
                    RiskBenefitDecisionRecord.voided_at.is_(None),
                )
            )
            findings = PreInfusionFindings(
                nil_by_mouth=data.nil_by_mouth,
                pregnancy_test=pregnancy,
                urine_toxicology_positive_for=None
                if toxicology is None
                else tuple(sorted(toxicology)),
                bp_readings=tuple(series),
                baseline_vitals_recorded=baseline_vitals is not None,
                baseline_vitals_alerts=()
                if baseline_vitals is None
                else tuple(baseline_vitals.alerts),
                short_acting_benzodiazepine_taken_this_morning=(
                    data.short_acting_benzodiazepine_taken_this_morning
                ),
                pregnancy_risk_benefit_decision_recorded=pregnancy_decision is not None,
                pre_infusion_ratings_recorded=ratings_done,
            )
            result = core_call(pre_infusion_checklist, protocol, findings)
            record = PreInfusionCheck(
                patient_id=patient.id,
                infusion_number=n,
                checked_on=uow.now.date(),
                findings={
                    "nil_by_mouth": data.nil_by_mouth,
                    "pregnancy_test": data.pregnancy_test,
                    "urine_toxicology_positive_for": findings.urine_toxicology_positive_for,
                    "bp_readings": [str(r) for r in readings],
                    # the whole morning's series the rule judged: earlier checklists' readings,
                    # these, and the minute-0 reading last (issue 12 items 2, 6)
                    "bp_series": [str(r) for r in series],
                    "earlier_checklists": [c.id for c in earlier],
                    "baseline_vitals_id": None if baseline_vitals is None else baseline_vitals.id,
                    "baseline_vitals_recorded": findings.baseline_vitals_recorded,
                    "short_acting_benzodiazepine_taken_this_morning": (
                        data.short_acting_benzodiazepine_taken_this_morning
                    ),
                    "pre_infusion_ratings_recorded": ratings_done,
                    # §1, §11: medications taken today that change sedation or blood pressure
                    "medication_flags": list(flags_today(uow, protocol, patient)),
                },
                passed=result.passes,
                items=[
                    {
                        "id": i.id,
                        "passed": i.passed,
                        "reason": i.reason,
                        "section": i.section,
                        "missing": i.missing,
                    }
                    for i in result.items
                ],
                hold_reasons=list(result.reasons),
                recorded_by=actor.user_id,
                recorded_at=uow.now,
            )
            latest = earlier[-1] if earlier else None
            if latest is not None and not readings and _same_run(latest, record):
                # The form sent again with nothing new (a refused start re-submitted, a network
                # retry): the morning's run stands; a second identical row would only add noise.
                return _checklist_view(latest)
            uow.session.add(record)
            uow.flush()
            if not result.passes:
                uow.events(
                    [
                        AuditEvent(
                            "infusion_hold",
                            "pre_infusion_checks",
                            str(record.id),
                            None,
                            None,
                            encode_value({"infusion": n, "reasons": list(result.reasons)}),
                        )
                    ]
                )
            view = _checklist_view(record)
            uow.commit()
            return view

    def checklists(self, actor: Actor, patient_id: int) -> list[ChecklistView]:
        """Every checklist run (passed ones and holds), oldest first."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = uow.session.scalars(
                select(PreInfusionCheck)
                .where(PreInfusionCheck.patient_id == patient.id)
                .order_by(PreInfusionCheck.id)
            )
            return [_checklist_view(c) for c in rows]

    @staticmethod
    def _require_previous(uow: UnitOfWork, patient: Patient, protocol: Protocol, n: int) -> None:
        """A checklist for infusion n needs the infusion before it given (n − 1; for the first
        maintenance infusion, the series' last; the start's guards check the rest: discharged,
        the interval, the weekly maximum; core.workflow)."""
        before = previous_number(uow, patient, protocol, n)
        if before is None:
            return
        if not uow.session.scalar(
            day_id_query(), {"patient_id": patient.id, "infusion_number": before}
        ):
            raise ConflictError(
                "infusion", f"{patient.study_id} #{n}", f"infusion {before} has not been given"
            )

    @staticmethod
    def _require_passed_checklist(uow: UnitOfWork, patient: Patient, n: int) -> PreInfusionCheck:
        check = uow.session.scalars(
            todays_checklist_query(),
            {"patient_id": patient.id, "infusion_number": n, "checked_on": uow.now.date()},
        ).first()
        if check is None:
            raise InfusionHeld(patient.study_id, n, ["no pre-infusion checklist today (§6)"])
        baseline = baseline_vitals_record(uow, patient, n)
        judged = check.findings.get("baseline_vitals_id", baseline and baseline.id)
        if (baseline and baseline.id) != judged:
            raise InfusionHeld(
                patient.study_id,
                n,
                [
                    "the baseline vitals changed after today's checklist: run the checklist again "
                    "so that they are judged (PROTOCOL.md §6)"
                ],
            )
        if not check.passed:
            released = set(released_holds(uow, patient, n, uow.now.date()))
            held = [r for r in check.hold_reasons if r not in released]
            if held:
                raise InfusionHeld(
                    patient.study_id,
                    n,
                    [
                        *held,
                        "every reading of the morning counts; only a physician's recorded "
                        "release (reason, password) lets a held day start",
                    ],
                )
        return check


def _same_run(latest: PreInfusionCheck, new: PreInfusionCheck) -> bool:
    """The new run (no new readings) records nothing the latest of the morning did not: the same
    findings, the same whole series, the same result."""

    def comparable(findings: dict[str, Any]) -> Any:
        # as stored (JSON: a tuple reads back as a list)
        kept = {k: v for k, v in findings.items() if k not in ("earlier_checklists", "bp_readings")}
        return json.loads(json.dumps(kept, default=str))

    return (
        comparable(dict(latest.findings)) == comparable(dict(new.findings))
        and latest.passed == new.passed
        and list(latest.hold_reasons) == list(new.hold_reasons)
    )


def _checklist_view(record: PreInfusionCheck) -> ChecklistView:
    return ChecklistView(
        record.id,
        record.patient_id,
        record.infusion_number,
        record.checked_on,
        record.passed,
        tuple(record.items),
        tuple(record.hold_reasons),
        dict(record.findings),
    )
