"""The demo replay of one infusion day, as the bedside team records it (PROTOCOL.md §4, §6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.rules import administered_dose
from ketamine_ptsd.services.infusions import (
    AdverseEventInput,
    BagInput,
    ChecklistInput,
    Countersign,
    EarlyStop,
    InterventionInput,
    PumpCheck,
    VitalsInput,
)
from ketamine_ptsd.simulation.synthetic_records import InfusionDay, Rating, SyntheticPatient


def at_time(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def vitals_series(
    vitals: Sequence[Any],
    at: Callable[[float], dt.datetime],
    others: Sequence[dt.datetime],
    late_minutes: int = 10,
) -> list[list[Any]]:
    """Split a day's vital-sign sets into the series the nurse enters together: a new series
    starts whenever another step of the day (checklist, start, a rating form, an intervention,
    the end) falls between two readings, so everything recorded around them keeps its order,
    and whenever the series' first reading would be entered more than ``late_minutes`` after
    its minute (the protocol's vitals window, PROTOCOL.md §6); the baseline (minute 0, before
    the checklist) is a series of its own."""
    ordered = sorted(vitals, key=lambda vs: vs.minute)

    def when(vs: Any) -> dt.datetime:
        return at(vs.minute) if vs.minute > 0 else at(-20)

    series: list[list[Any]] = []
    for vs in ordered:
        if series:
            last = when(series[-1][-1])
            span = when(vs) - when(series[-1][0])
            if (
                series[-1][-1].minute > 0
                and not any(last <= o < when(vs) for o in others)
                and span <= dt.timedelta(minutes=late_minutes)
            ):
                series[-1].append(vs)
                continue
        series.append([vs])
    return series


def respiration_and_sedation(vs: Any) -> dict[str, int]:
    """Respiratory rate and MOAA/S for a synthetic reading (PROTOCOL.md §12). The synthetic
    trial (§10) draws neither (the RCT report gives none), so the replay records what the
    bedside saw in the trial — no respiratory depression, no deep sedation: a rate that follows
    the heart rate within 12-20 breaths/min and an awake patient (MOAA/S 5). Deterministic, so
    the synthetic numbers do not move."""
    return {
        "respiratory_rate_per_min": max(12, min(20, 14 + (vs.heart_rate_bpm - 75) // 10)),
        "moaas": 5,
    }


RELATEDNESS = {"unrelated": "not_related", "possibly": "possible", "probably": "probable"}


def only_signoff_missing(reasons: Sequence[str]) -> bool:
    return all("sign" in r.lower() for r in reasons)


#: The demo's one infusion stopped early (its second infusion, of the first patient who has
#: one): minutes before the planned end, and the reason. Its waste is witnessed (issue 12).
EARLY_STOP_MINUTES_BEFORE_END = 5
EARLY_STOP_REASON = "stopped at the patient's request: dissociation distressing (CADSS rising)"


class InfusionDaySteps:
    """The demo replay of one infusion day, as the bedside team records it (PROTOCOL.md §4, §6)."""

    _early_stop: tuple[str, int] | None = None

    def _infusion_steps(
        self, p: SyntheticPatient, day: InfusionDay
    ) -> list[tuple[dt.datetime, str, Callable[[], None]]]:
        """One infusion day as the bedside team records it: baseline vitals and minute-0
        ratings, the checklist with the pre-infusion blood pressures, the start (dose and pump
        rate from the day's weight), vitals and ratings at their minutes, any intervention, the
        end, adverse events, the nurse's discharge findings and the physician's sign-off."""
        n = day.number
        start = at_time(day.date, 8, 30)
        steps: list[tuple[dt.datetime, str, Callable[[], None]]] = []

        def at(minute: float) -> dt.datetime:
            return start + dt.timedelta(minutes=minute)

        others: list[dt.datetime] = [at(-10), start, at(day.infusion_minutes)]
        others += [at(g.minute + 0.5) for g in day.interventions]
        by_minute: dict[int, list[Rating]] = {}
        for rating in day.ratings:
            by_minute.setdefault(rating.minute or 0, []).append(rating)
        for minute, form in by_minute.items():
            when = at(minute + 1) if minute > 0 else at(-15)
            others.append(when)
            label = f"infusion {n} ratings {minute}' ({', '.join(r.instrument for r in form)})"
            steps.append((when, label, self._ratings_fn(p, n, minute, form)))
        late = self._protocol.monitoring.vitals_window.late_minutes
        for series in vitals_series(day.vitals, at, others, late):
            when = at(series[-1].minute) if series[-1].minute > 0 else at(-20)
            minutes = ", ".join(f"{vs.minute}'" for vs in series)
            steps.append((when, f"infusion {n} vitals {minutes}", self._vitals_fn(p, n, series)))
        steps.append((at(-10), f"infusion {n} checklist", lambda: self._checklist(p, day)))
        steps.append((start, f"infusion {n} started", lambda: self._start(p, day)))
        for given in day.interventions:
            steps.append(
                (
                    at(given.minute + 0.5),
                    f"infusion {n} {given.drug}",
                    lambda g=given: self._intervention(p, n, g),
                )
            )
        if n == 2 and self._early_stop is None:
            self._early_stop = (p.patient_id, n)
        if self._early_stop == (p.patient_id, n):
            stop = day.infusion_minutes - EARLY_STOP_MINUTES_BEFORE_END
            fraction = stop / day.infusion_minutes
            steps.append(
                (at(stop), f"infusion {n} stopped early", lambda: self._end(p, n, fraction))
            )
            steps.append((at(stop + 1), f"infusion {n} waste witnessed", lambda: self._waste(p, n)))
        else:
            steps.append((at(day.infusion_minutes), f"infusion {n} ended", lambda: self._end(p, n)))
        for k, ae in enumerate(a for a in p.adverse_events if a.infusion_number == n):
            steps.append(
                (at(125 + k), f"infusion {n} adverse event", lambda e=ae: self._adverse_event(p, e))
            )
        steps.append((at(130), f"infusion {n} discharge findings", lambda: self._findings(p, n)))
        steps.append((at(135), f"infusion {n} discharge sign-off", lambda: self._sign_off(p, n)))
        return steps

    def _vitals_fn(self, p: SyntheticPatient, n: int, series: Sequence[Any]) -> Callable[[], None]:
        """The nurse enters the readings taken since the last other step as one series (the
        bedside sheet), each with the time it was taken."""

        def run() -> None:
            start = at_time(self._day_date(p, n), 8, 30)
            self.services.infusions.record_vitals_series(
                self._actor(Role.NURSE),
                self._pid(p),
                n,
                [
                    VitalsInput(
                        minute=vs.minute,
                        systolic_mmhg=vs.systolic_mmhg,
                        diastolic_mmhg=vs.diastolic_mmhg,
                        heart_rate_bpm=vs.heart_rate_bpm,
                        spo2_percent=vs.spo2_percent,
                        measured_at=start + dt.timedelta(minutes=vs.minute)
                        if vs.minute > 0
                        else None,
                        **respiration_and_sedation(vs),
                    )
                    for vs in series
                ],
            )
            self._count("infusions.record_vitals_series")

        return run

    def _ratings_fn(
        self, p: SyntheticPatient, n: int, minute: int, form: Sequence[Rating]
    ) -> Callable[[], None]:
        """The safety rater's form for one time point: every instrument rated at ``minute``."""

        def run() -> None:
            self.services.infusions.record_ratings(
                self._actor(Role.SAFETY_RATER),
                self._pid(p),
                n,
                minute=minute,
                ratings={r.instrument: r.items for r in form},
            )
            self._count("infusions.record_ratings")

        return run

    @staticmethod
    def _day_date(p: SyntheticPatient, n: int) -> dt.date:
        return next(d.date for d in p.infusions if d.number == n)

    def _checklist(self, p: SyntheticPatient, day: InfusionDay) -> None:
        self.services.infusions.confirm_identity(  # two identifiers (PROTOCOL.md §12)
            self._actor(Role.NURSE),
            self._pid(p),
            day.number,
            name_confirmed=True,
            date_of_birth_confirmed=True,
        )
        self._count("infusions.confirm_identity")
        view = self.services.infusions.record_checklist(
            self._actor(Role.NURSE),
            self._pid(p),
            ChecklistInput(
                infusion_number=day.number,
                nil_by_mouth=True,
                pregnancy_test="negative" if p.demographics.sex == "female" else "not_applicable",
                urine_toxicology_positive_for=(),
                bp_readings=list(day.pre_infusion_bp_mmhg),
                short_acting_benzodiazepine_taken_this_morning=False,
            ),
        )
        self._count("infusions.record_checklist")
        if not view.passed:
            raise RuntimeError(f"{p.patient_id} infusion {day.number} held: {view.hold_reasons}")

    def _start(self, p: SyntheticPatient, day: InfusionDay) -> None:
        """The nurse starts; the bag is the pharmacy's, made up that morning to the dose's volume
        (a blinded nurse confirms the volume, not the concentration); the investigator checks
        the pump with their own password and supervises (PROTOCOL.md §4, §6)."""
        protocol = self._protocol
        dose = administered_dose(protocol, protocol.arms[0].drug, day.weight_kg)
        investigator = self._actor(Role.INVESTIGATOR)
        view = self.services.infusions.start(
            self._actor(Role.NURSE),
            self._pid(p),
            day.number,
            weight_kg=day.weight_kg,
            bag=BagInput(
                lot=f"DEMO-{day.date:%Y%m%d}",
                expiry=day.date + dt.timedelta(days=1),
                volume_ml=dose.volume_ml,
                prepared_by=self._actor(Role.PHARMACIST).username,
                concentration_mg_per_ml=None if protocol.blinded else dose.concentration_mg_per_ml,
            ),
            pump_check=PumpCheck(
                Countersign(investigator.username, self._passwords[Role.INVESTIGATOR]),
                dose.rate_ml_per_h,
            ),
            supervising_physician_id=investigator.user_id,
        )
        self._versions[(p.patient_id, day.number)] = view.version
        self._count("infusions.start")

    def _intervention(self, p: SyntheticPatient, n: int, given: Any) -> None:
        self.services.infusions.record_intervention(
            self._actor(Role.NURSE),
            self._pid(p),
            n,
            InterventionInput(
                drug=given.drug,
                dose_mg=given.dose_mg,
                route=given.route,
                reason=given.reason,
                minute=given.minute,
            ),
        )
        self._count("infusions.record_intervention")

    def _end(self, p: SyntheticPatient, n: int, fraction: float | None = None) -> None:
        """The end; with ``fraction``, an early stop with that part of the bag given (§6)."""
        key = (p.patient_id, n)
        early = None
        if fraction is not None:
            volume = self.services.infusions.day(self._actor(Role.NURSE), self._pid(p), n).volume_ml
            early = EarlyStop(round(volume * fraction, 1), EARLY_STOP_REASON)
        view = self.services.infusions.end(
            self._actor(Role.NURSE),
            self._pid(p),
            n,
            expected_version=self._versions[key],
            early_stop=early,
        )
        self._versions[key] = view.version
        self._count("infusions.end")

    def _waste(self, p: SyntheticPatient, n: int) -> None:
        """What was left in the bag, discarded before a second staff member (the investigator
        re-enters their password): controlled-drug accountability (issue 12)."""
        nurse = self._actor(Role.NURSE)
        administration = self.services.infusions.day(nurse, self._pid(p), n).administration
        assert administration is not None and administration.volume_given_ml is not None
        left = round(administration.bag_volume_ml - administration.volume_given_ml, 1)
        investigator = self._actor(Role.INVESTIGATOR)
        view = self.services.infusions.record_waste(
            nurse,
            self._pid(p),
            n,
            volume_wasted_ml=left,
            witness=Countersign(investigator.username, self._passwords[Role.INVESTIGATOR]),
        )
        self._versions[(p.patient_id, n)] = view.version
        self._count("infusions.record_waste")

    def _adverse_event(self, p: SyntheticPatient, ae: Any) -> None:
        self.services.infusions.record_adverse_event(
            self._actor(Role.NURSE),
            self._pid(p),
            AdverseEventInput(
                term=ae.term,
                onset_date=ae.onset_date,
                serious=ae.serious,
                severity=ae.severity,
                relatedness=RELATEDNESS.get(ae.related_to_study_drug, ae.related_to_study_drug),
                action=ae.action,
                outcome="recovered",
                infusion_number=ae.infusion_number,
                resolved_on=ae.onset_date,
            ),
        )
        self._count("infusions.record_adverse_event")

    def _findings(self, p: SyntheticPatient, n: int) -> None:
        key = (p.patient_id, n)
        view = self.services.infusions.record_discharge_findings(
            self._actor(Role.NURSE),
            self._pid(p),
            n,
            expected_version=self._versions[key],
            ambulatory_unaided=True,
            delayed_effects_checked=True,
        )
        self._versions[key] = view.version
        self._count("infusions.record_discharge_findings")

    def _sign_off(self, p: SyntheticPatient, n: int) -> None:
        key = (p.patient_id, n)
        readiness = self.services.infusions.readiness(
            self._actor(Role.INVESTIGATOR), self._pid(p), n
        )
        if readiness.reasons != () and not only_signoff_missing(readiness.reasons):
            # The bedside rules keep the patient (e.g. dissociation not yet back near baseline):
            # the demo records that as it would happen and leaves the day undischarged.
            self.summary.discharge_held.append(
                f"{p.patient_id} #{n}: {'; '.join(readiness.reasons)}"
            )
            return
        self.services.infusions.sign_off_discharge(
            self._actor(Role.INVESTIGATOR),
            self._pid(p),
            n,
            password=self._passwords[Role.INVESTIGATOR],
            expected_version=self._versions[key],
        )
        self._count("infusions.sign_off_discharge")
