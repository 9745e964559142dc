"""The demo's small clinic cohort: the open-label pathway (protocol ``clinical``) after the trial.

Three synthetic clinic patients, deterministic, driven through the public services by the demo's
clinic staff (the clinician, the nurse; the pharmacist makes up the bags), in calendar order on the
demo's movable clock, as :mod:`ketamine_ptsd.adapters.demo_loader` replays the trial (issue 13):

- each: registration with two identifiers, consent covering the clinic's topics (§2), the
  documented treatment resistance and the maintenance plan (§2, §8), the screening visit that the
  rules find eligible, the assessments of the schedule (baseline, 24 h, week 1, week 2; §5), the
  six-infusion series (Mon/Wed/Fri, §5) as full infusion days (two identifiers, minute-0 vitals
  and ratings, checklist, start with the pump double-check, vitals at their minutes, ratings at
  40 and 120, the end, the nurse's findings, the clinician's signed discharge; §4, §6) and the
  week-2 CAPS-5 that makes each a responder (§8);
- ``maintenance``: periodic IV maintenance every 7 days with infusion 7 given (so infusion 8 is
  due on the Today page); two self-reports through single-use links, the second a PCL-5 rise of
  10 points or more that raises the physician's alert (§7);
- ``esketamine``: two intranasal esketamine sessions under the REMS (§11), both to the
  prescriber's discharge; the first form submitted, the second not (the Today page lists it);
  one self-report without risk; then a CAPS-5 at follow-up week 1 above the response's line:
  the loss-of-response rule ends the response and raises the relapse-watch task (§8);
- ``screened``: consented, treatment resistance and plan documented, eligible at screening
  the week before the demo runs: the next patient for a series (no infusion yet).

The cohort is small on purpose (the demo's batch part has a 20 s budget): two full series
(thirteen infusion days) carry every story; the third patient costs five service calls.

Dates: the cohort's story is anchored to a Monday (:func:`clinic_anchor`) about four weeks
before the day the demo runs, so the served app's Today page (wall clock) shows the cohort's
current work; the clock only moves forward (the trial's replay ends years earlier). Nothing here
touches the trial's patients: the clinic registers at its own site code (``CLN``), so the trial's
study ids, frames and analysis are those of a demo without it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.rules import administered_dose
from ketamine_ptsd.services import Actor, FixedClock, Services
from ketamine_ptsd.services.assessments import AssessmentInput
from ketamine_ptsd.services.clinic import MedicationTrial, PsychotherapyTrial
from ketamine_ptsd.services.esketamine import SessionStart
from ketamine_ptsd.services.infusions import (
    BagInput,
    ChecklistInput,
    Countersign,
    PumpCheck,
    VitalsInput,
)
from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput, IdentityInput
from ketamine_ptsd.services.screening import ScreeningVisitInput

__all__ = [
    "CLINIC_COHORT",
    "CLINIC_SITE",
    "ClinicCohortLoader",
    "ClinicPatient",
    "ClinicSummary",
    "clinic_anchor",
]

PROTOCOL = "clinical"
CLINIC_SITE = "CLN"
CAPACITY_ASSESSOR = "Dr R. Okafor (independent capacity assessor)"
#: days before the demo's run day from which the cohort's Monday is taken (see the docstring)
DAYS_BEFORE_RUN = 23
#: the series' days after the anchor Monday: Mon, Wed, Fri of two weeks (PROTOCOL.md §5)
SERIES_DAYS = (0, 2, 4, 7, 9, 11)
WEEK2_DAY = 14  # the Monday after infusion 6 (§5 week 2, the response)
FOLLOW_UP_DAY = 21  # follow-up week 1
SCREENED_DAY = 18  # the screened patient's visit (the Friday before follow-up week 1)
INFUSION_START = (8, 30)
NO_RISK = {"1": False, "2": False, "6": False}  # C-SSRS screener: no ideation


@dataclass(frozen=True)
class ClinicPatient:
    """One synthetic clinic patient and the story the demo gives them."""

    key: str
    given_name: str
    born: dt.date
    sex: str
    weight_kg: float
    story: str  # maintenance | esketamine | screened
    caps5: tuple[int, int, int]  # baseline, week 2, follow-up week 1
    pcl5: tuple[int, int, int, int, int]  # baseline, 24 h, week 1, week 2, follow-up week 1
    #: the PCL-5 totals of the patient's own self-reports, in order
    self_reports: tuple[int, ...] = ()


CLINIC_COHORT: tuple[ClinicPatient, ...] = (
    ClinicPatient(
        "C1",
        "Clinic-One",
        dt.date(1979, 4, 12),
        "male",
        82.0,
        "maintenance",
        caps5=(46, 19, 21),
        pcl5=(54, 44, 36, 22, 20),
        self_reports=(18, 31),
    ),
    ClinicPatient(
        "C2",
        "Clinic-Two",
        dt.date(1986, 9, 3),
        "female",
        68.0,
        "esketamine",
        caps5=(41, 22, 36),
        pcl5=(49, 45, 35, 26, 40),
        self_reports=(23,),
    ),
    ClinicPatient(
        "C3",
        "Clinic-Three",
        dt.date(1971, 1, 27),
        "male",
        90.0,
        "screened",
        caps5=(44, 0, 0),
        pcl5=(51, 0, 0, 0, 0),
    ),
)


def clinic_anchor(run_day: dt.date) -> dt.date:
    """The Monday the cohort's series starts: the one on or before ``DAYS_BEFORE_RUN`` days
    before ``run_day`` (so the whole story, to follow-up week 1, lies before ``run_day``)."""
    day = run_day - dt.timedelta(days=DAYS_BEFORE_RUN)
    return day - dt.timedelta(days=day.weekday())


def spread(n: int, total: int, maximum: int) -> dict[str, int]:
    """``n`` items keyed "1".."n" with ``total`` spread as evenly as the maximum allows."""
    if not 0 <= total <= n * maximum:
        raise ValueError(f"{total} cannot be spread over {n} items of at most {maximum}")
    base, extra = divmod(total, n)
    return {str(k + 1): base + (1 if k < extra else 0) for k in range(n)}


def _prise() -> dict[str, str]:
    from ketamine_ptsd.core.instruments import get_instrument

    return {item.key: "no" for item in get_instrument("prise").items}


BPRS_POSITIVE = {"4": 1, "11": 1, "12": 1, "15": 1}
YMRS_ITEM1 = {"1": 0}


@dataclass
class ClinicSummary:
    """What the clinic cohort holds at the end of the demo's replay."""

    study_ids: dict[str, str] = field(default_factory=dict)
    patient_ids: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    infusions: int = 0
    maintenance_infusions: int = 0
    esketamine_sessions: int = 0
    forms_submitted: int = 0
    self_reports: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def describe(self) -> str:
        """One line for the demo's summary."""
        states = ", ".join(f"{self.study_ids[k]} {s}" for k, s in self.statuses.items())
        return (
            f"clinic cohort (protocol clinical, site {CLINIC_SITE}): {len(self.statuses)} patients "
            f"({states}); {self.infusions} infusion days ({self.maintenance_infusions} in "
            f"maintenance), {self.esketamine_sessions} esketamine sessions (REMS forms: "
            f"{self.forms_submitted} submitted, "
            f"{self.esketamine_sessions - self.forms_submitted} not yet), "
            f"{self.self_reports} self-reports; {sum(self.calls.values())} service calls in "
            f"{self.seconds:.1f} s ({self.cpu_seconds:.1f} s CPU)"
        )


@dataclass(frozen=True, order=True)
class _Step:
    when: dt.datetime
    patient_index: int
    seq: int
    run: Callable[[], None] = field(compare=False)


class ClinicCohortLoader:
    """Replays :data:`CLINIC_COHORT` through ``services`` as the clinic's staff would."""

    def __init__(
        self,
        services: Services,
        clock: FixedClock,
        actors: Mapping[Role, Actor],
        passwords: Mapping[Role, str],
        cohort: tuple[ClinicPatient, ...] = CLINIC_COHORT,
    ) -> None:
        self.services = services
        self.clock = clock
        self.actors = actors
        self.passwords = passwords
        self.cohort = cohort
        self.summary = ClinicSummary()
        self._protocol: Any = services.context.protocol(PROTOCOL)
        self._versions: dict[tuple[str, int], int] = {}
        self._sessions: dict[tuple[str, int], int] = {}
        self._tokens: dict[str, list[str]] = {}

    # --- the replay ----------------------------------------------------------------------------

    def load(self, anchor: dt.date) -> ClinicSummary:
        """Replay the cohort with its series starting on ``anchor`` (a Monday)."""
        if anchor.weekday() != 0:
            raise ValueError(f"the clinic's series starts on a Monday, not {anchor:%A}")
        started, cpu = time.perf_counter(), time.process_time()
        steps: list[_Step] = []
        for index, p in enumerate(self.cohort):
            steps.extend(self._patient_steps(index, p, anchor))
        steps.sort()
        if steps and steps[0].when < self.clock.now():
            raise ValueError(
                f"the clinic's story starts {steps[0].when:%Y-%m-%d}, before the demo's clock "
                f"({self.clock.now():%Y-%m-%d}): the clock only moves forward"
            )
        for step in steps:
            self.clock.set(step.when)
            step.run()
        for p in self.cohort:
            view = self.services.patients.get(self._clinician, self._pid(p))
            self.summary.statuses[p.key] = view.status
        self.summary.seconds = time.perf_counter() - started
        self.summary.cpu_seconds = time.process_time() - cpu
        return self.summary

    @property
    def _clinician(self) -> Actor:
        return self.actors[Role.CLINICIAN]

    @property
    def _nurse(self) -> Actor:
        return self.actors[Role.NURSE]

    def _pid(self, p: ClinicPatient) -> int:
        return self.summary.patient_ids[p.key]

    def _count(self, name: str) -> None:
        self.summary.calls[name] += 1

    def _patient_steps(self, index: int, p: ClinicPatient, anchor: dt.date) -> list[_Step]:
        seq = iter(range(10_000))
        out: list[_Step] = []

        def day(offset: int) -> dt.date:
            return anchor + dt.timedelta(days=offset)

        def at(offset: int, hour: int, minute: int = 0) -> dt.datetime:
            return dt.datetime.combine(day(offset), dt.time(hour, minute), tzinfo=dt.UTC)

        def add(when: dt.datetime, fn: Callable[[], None]) -> None:
            out.append(_Step(when, index, next(seq), fn))

        # §2, §8: registration, consent, treatment resistance and the plan, the screening visit
        first = SCREENED_DAY if p.story == "screened" else -7
        add(at(first, 9 + index), lambda: self._register(p))
        add(at(first, 9 + index, 5), lambda: self._consent(p, day(first)))
        add(at(first, 9 + index, 10), lambda: self._resistance_and_plan(p, day(first)))
        add(at(first, 9 + index, 20), lambda: self._screen(p, day(first)))
        if p.story == "screened":
            return out
        caps5_base, caps5_week2, caps5_fu = p.caps5
        pcl5_base, pcl5_h24, pcl5_week1, pcl5_week2, pcl5_fu = p.pcl5
        madrs = (28, 20, 14)
        # §5 assessments of the schedule, by the clinician
        for instrument, items in (
            ("caps5_past_week", spread(20, caps5_base, 4)),
            ("pcl5", spread(20, pcl5_base, 4)),
            ("ies_r", spread(22, pcl5_base + 8, 4)),
            ("madrs", spread(10, madrs[0], 6)),
            ("cssrs", NO_RISK),
        ):
            add(at(0, 7), self._assess_fn(p, "baseline", instrument, day(0), items))
        for instrument, items in (
            ("pcl5", spread(20, pcl5_h24, 4)),
            ("ies_r", spread(22, pcl5_h24 + 6, 4)),
        ):
            add(at(1, 10), self._assess_fn(p, "h24", instrument, day(1), items))
        for instrument, items in (
            ("pcl5", spread(20, pcl5_week1, 4)),
            ("madrs", spread(10, madrs[1], 6)),
            ("cssrs", NO_RISK),
        ):
            add(at(7, 7), self._assess_fn(p, "week1", instrument, day(7), items))
        for n, offset in enumerate(SERIES_DAYS, start=1):
            for when, fn in self._infusion_steps(p, n, at(offset, *INFUSION_START)):
                add(when, fn)
        for instrument, items in (
            ("pcl5", spread(20, pcl5_week2, 4)),
            ("madrs", spread(10, madrs[2], 6)),
            ("cssrs", NO_RISK),
            ("caps5_past_week", spread(20, caps5_week2, 4)),  # the response (§8)
        ):
            add(at(WEEK2_DAY, 9), self._assess_fn(p, "week2", instrument, day(WEEK2_DAY), items))
        for instrument, items in (
            ("pcl5", spread(20, pcl5_fu, 4)),
            ("caps5_past_week", spread(20, caps5_fu, 4)),
        ):
            add(
                at(FOLLOW_UP_DAY, 14),  # after the morning's esketamine session
                self._assess_fn(p, "follow-up week 1", instrument, day(FOLLOW_UP_DAY), items),
            )
        # the patient's own reports between visits: a link after week 2, then weekly (§5, §7)
        for k, total in enumerate(p.self_reports):
            offset = WEEK2_DAY + 7 * k
            add(at(offset, 10), lambda: self._issue_link(p))
            add(at(offset + (1 if k == 0 else 0), 20), lambda t=total: self._self_report(p, t))
        if p.story == "maintenance":
            add(at(WEEK2_DAY, 10), lambda: self._start_maintenance(p, day(WEEK2_DAY)))
            # infusion 7 on the Wednesday: 5 days after infusion 6, the weekly schedule's
            # earliest day (7 days, window 2; §8); infusion 8 is due a week later
            for when, fn in self._infusion_steps(p, 7, at(WEEK2_DAY + 2, *INFUSION_START)):
                add(when, fn)
        elif p.story == "esketamine":
            # Wednesday after week 2, then the next Monday (the form's 7 days run past the
            # demo's run day on most days it is run)
            for number, offset, submit in ((1, WEEK2_DAY + 2, True), (2, FOLLOW_UP_DAY, False)):
                for when, fn in self._session_steps(p, number, at(offset, 9), submit=submit):
                    add(when, fn)
        return out

    # --- screening -------------------------------------------------------------------------------

    def _register(self, p: ClinicPatient) -> None:
        view = self.services.patients.register(
            self._clinician,
            protocol_name=PROTOCOL,
            site=CLINIC_SITE,
            identity=IdentityInput("Synthetic", p.given_name, p.born),
        )
        self.summary.study_ids[p.key] = view.study_id
        self.summary.patient_ids[p.key] = view.id
        self._count("patients.register")

    def _consent(self, p: ClinicPatient, on: dt.date) -> None:
        self.services.patients.record_consent(
            self._clinician,
            self._pid(p),
            ConsentInput("v1", on, True, CAPACITY_ASSESSOR, None, CLINIC_CONSENT_TOPICS),
        )
        self._count("patients.record_consent")

    def _resistance_and_plan(self, p: ClinicPatient, on: dt.date) -> None:
        self.services.clinic.record_treatment_resistance(
            self._clinician,
            self._pid(p),
            psychotherapy_trials=[
                PsychotherapyTrial("cognitive_processing_therapy", 12, True),
                PsychotherapyTrial("prolonged_exposure", 10, True),
            ],
            medication_trials=[
                MedicationTrial("sertraline", 200, 12, True),
                MedicationTrial("venlafaxine", 225, 10, True),
            ],
            documented_on=on,
        )
        self._count("clinic.record_treatment_resistance")
        if p.story == "esketamine":
            options = ["esketamine_intranasal", "trauma_focused_psychotherapy"]
            facts = {"site_rems_certified": True, "two_hour_monitoring_available": True}
        else:
            options = ["iv_ketamine_periodic", "trauma_focused_psychotherapy"]
            facts = {"setting_continuous_monitoring": True}
        self.services.clinic.record_maintenance_plan(
            self._clinician,
            self._pid(p),
            option_ids=options,
            site_facts=facts,
            planned_on=on,
            interval_days=7,
        )
        self._count("clinic.record_maintenance_plan")

    def _screen(self, p: ClinicPatient, on: dt.date) -> None:
        age = on.year - p.born.year - ((on.month, on.day) < (p.born.month, p.born.day))
        facts: dict[str, bool | int | float] = {
            "age_years": age,
            "chronic_ptsd_diagnosis": True,
            "setting_continuous_monitoring": True,
            "uncontrolled_hypertension": False,
            "severe_cardiovascular_disease": False,
            "raised_intracranial_pressure": False,
            "active_psychosis": False,
            "acute_mania": False,
            "history_substance_use_disorder": False,
            "severe_hepatic_impairment": False,
            "pregnant": False,
            "current_benzodiazepine": False,
            "active_suicidal_intent": False,
        }
        view = self.services.screening.record_visit(
            self._clinician,
            self._pid(p),
            ScreeningVisitInput(on, facts=facts, weight_kg=p.weight_kg, height_cm=176.0),
        )
        self._count("screening.record_visit")
        if view.decision.status != "eligible":
            raise RuntimeError(f"clinic {p.key}: the rules said {view.decision.status}")

    def _assess_fn(
        self, p: ClinicPatient, time_point: str, instrument: str, on: dt.date, items: Any
    ) -> Callable[[], None]:
        def run() -> None:
            self.services.assessments.record(
                self._clinician, self._pid(p), AssessmentInput(time_point, instrument, on, items)
            )
            self._count("assessments.record")

        return run

    # --- infusion days (PROTOCOL.md §4, §6): the series and maintenance ----------------------

    def _infusion_steps(
        self, p: ClinicPatient, n: int, start: dt.datetime
    ) -> list[tuple[dt.datetime, Callable[[], None]]]:
        """One infusion day: the clinic observes from the end (40 min) for 120 min, vitals every
        5 min during and every 15 min after, entered as series within their window (§6)."""

        def at(minute: float) -> dt.datetime:
            return start + dt.timedelta(minutes=minute)

        minutes = self._protocol.dosing["ketamine"].infusion_minutes
        steps: list[tuple[dt.datetime, Callable[[], None]]] = [
            (at(-25), lambda: self._before(p, n)),
            (at(-10), lambda: self._checklist(p, n)),
            (start, lambda: self._start(p, n)),
        ]
        during = list(range(5, minutes + 1, 5))
        for k in range(0, len(during), 3):  # three readings a series: within the 10 min window
            series = during[k : k + 3]
            steps.append((at(series[-1]), self._vitals_fn(p, n, series, start)))
        steps.append((at(minutes), lambda: self._end(p, n)))
        steps.append((at(minutes + 1), self._ratings_fn(p, n, minutes, with_prise=False)))
        observation = self._protocol.monitoring.discharge.observation_minutes
        after = list(range(minutes + 15, minutes + observation + 1, 15))
        for m in after:
            steps.append((at(m), self._vitals_fn(p, n, [m], start)))
        steps.append((at(120.5), self._ratings_fn(p, n, 120, with_prise=True)))
        done = minutes + observation
        steps.append((at(done + 1), lambda: self._findings(p, n)))
        steps.append((at(done + 2), lambda: self._sign_off(p, n)))
        return steps

    def _before(self, p: ClinicPatient, n: int) -> None:
        """The two identifiers, minute-0 vitals (nurse) and the ratings before (clinician)."""
        pid = self._pid(p)
        self.services.infusions.confirm_identity(
            self._nurse, pid, n, name_confirmed=True, date_of_birth_confirmed=True
        )
        self.services.infusions.record_vitals_series(self._nurse, pid, n, [self._vitals(0, n)])
        self.services.infusions.record_ratings(
            self._clinician,
            pid,
            n,
            minute=0,
            ratings={
                "cadss": spread(23, 1, 4),
                "bprs_positive": BPRS_POSITIVE,
                "ymrs_item1": YMRS_ITEM1,
                "prise": _prise(),
            },
        )
        self._count("infusions.confirm_identity")
        self._count("infusions.record_vitals_series")
        self._count("infusions.record_ratings")

    def _vitals(self, minute: int, n: int, at: dt.datetime | None = None) -> VitalsInput:
        wobble = (minute // 5 + n) % 4
        return VitalsInput(
            minute,
            124 + 2 * wobble,
            78 + wobble,
            70 + wobble,
            98,
            measured_at=at,
            respiratory_rate_per_min=14,
            moaas=5,
        )

    def _vitals_fn(
        self, p: ClinicPatient, n: int, minutes: list[int], start: dt.datetime
    ) -> Callable[[], None]:
        def run() -> None:
            self.services.infusions.record_vitals_series(
                self._nurse,
                self._pid(p),
                n,
                [self._vitals(m, n, start + dt.timedelta(minutes=m)) for m in minutes],
            )
            self._count("infusions.record_vitals_series")

        return run

    def _ratings_fn(
        self, p: ClinicPatient, n: int, minute: int, *, with_prise: bool
    ) -> Callable[[], None]:
        def run() -> None:
            ratings: dict[str, Any] = {
                "cadss": spread(23, 3 if minute <= 40 else 1, 4),
                "bprs_positive": BPRS_POSITIVE,
                "ymrs_item1": YMRS_ITEM1,
            }
            if with_prise:
                ratings["prise"] = _prise()
            self.services.infusions.record_ratings(
                self._clinician, self._pid(p), n, minute=minute, ratings=ratings
            )
            self._count("infusions.record_ratings")

        return run

    def _checklist(self, p: ClinicPatient, n: int) -> None:
        view = self.services.infusions.record_checklist(
            self._nurse,
            self._pid(p),
            ChecklistInput(
                infusion_number=n,
                nil_by_mouth=True,
                pregnancy_test="negative" if p.sex == "female" else "not_applicable",
                urine_toxicology_positive_for=(),
                bp_readings=("128/82", "131/84"),
                short_acting_benzodiazepine_taken_this_morning=False,
            ),
        )
        self._count("infusions.record_checklist")
        if not view.passed:
            raise RuntimeError(f"clinic {p.key} infusion {n} held: {view.hold_reasons}")

    def _start(self, p: ClinicPatient, n: int) -> None:
        """The nurse starts; the clinician double-checks the pump (password) and supervises."""
        dose = administered_dose(self._protocol, "ketamine", p.weight_kg)
        today = self.clock.now().date()
        view = self.services.infusions.start(
            self._nurse,
            self._pid(p),
            n,
            weight_kg=p.weight_kg,
            bag=BagInput(
                lot=f"CLN-{today:%Y%m%d}",
                expiry=today + dt.timedelta(days=1),
                volume_ml=dose.volume_ml,
                prepared_by=self.actors[Role.PHARMACIST].username,
                concentration_mg_per_ml=dose.concentration_mg_per_ml,
            ),
            pump_check=PumpCheck(
                Countersign(self._clinician.username, self.passwords[Role.CLINICIAN]),
                dose.rate_ml_per_h,
            ),
            supervising_physician_id=self._clinician.user_id,
        )
        self._versions[(p.key, n)] = view.version
        self._count("infusions.start")

    def _end(self, p: ClinicPatient, n: int) -> None:
        view = self.services.infusions.end(
            self._nurse, self._pid(p), n, expected_version=self._versions[(p.key, n)]
        )
        self._versions[(p.key, n)] = view.version
        self._count("infusions.end")

    def _findings(self, p: ClinicPatient, n: int) -> None:
        view = self.services.infusions.record_discharge_findings(
            self._nurse,
            self._pid(p),
            n,
            expected_version=self._versions[(p.key, n)],
            ambulatory_unaided=True,
            delayed_effects_checked=True,
        )
        self._versions[(p.key, n)] = view.version
        self._count("infusions.record_discharge_findings")

    def _sign_off(self, p: ClinicPatient, n: int) -> None:
        self.services.infusions.sign_off_discharge(
            self._clinician,
            self._pid(p),
            n,
            password=self.passwords[Role.CLINICIAN],
            expected_version=self._versions[(p.key, n)],
        )
        self._count("infusions.sign_off_discharge")
        self.summary.infusions += 1
        if n > self._protocol.schedule.infusion_count:
            self.summary.maintenance_infusions += 1

    # --- after the series (PROTOCOL.md §7, §8, §11) ------------------------------------------

    def _start_maintenance(self, p: ClinicPatient, on: dt.date) -> None:
        self.services.maintenance.start(
            self._clinician, self._pid(p), option_id="iv_ketamine_periodic", interval_days=7,
            starts_on=on,
        )  # fmt: skip
        self._count("maintenance.start")

    def _issue_link(self, p: ClinicPatient) -> None:
        issued = self.services.self_reports.issue_link(self._clinician, self._pid(p))
        self._tokens.setdefault(p.key, []).append(issued.token)
        self._count("self_reports.issue_link")

    def _self_report(self, p: ClinicPatient, pcl5_total: int) -> None:
        token = self._tokens[p.key].pop(0)
        self.services.self_reports.submit(
            token, pcl5_items=spread(20, pcl5_total, 4), cssrs_items=NO_RISK
        )
        self._count("self_reports.submit")
        self.summary.self_reports += 1

    def _session_steps(
        self, p: ClinicPatient, number: int, start: dt.datetime, *, submit: bool
    ) -> list[tuple[dt.datetime, Callable[[], None]]]:
        """An esketamine session (§11): the REMS fields before the first device, readings at
        40 min and before the end, the end of monitoring at 2 h, the prescriber's discharge,
        and (``submit``) the monitoring form."""

        def at(minute: int) -> dt.datetime:
            return start + dt.timedelta(minutes=minute)

        nurse, pid = self._nurse, lambda: self._pid(p)

        def begin() -> None:
            view = self.services.esketamine.start(
                nurse,
                pid(),
                SessionStart(
                    rems_patient_enrolled=True,
                    rems_patient_id="REMS-DEMO-0002" if number == 1 else None,
                    setting_name="Clinic suite B",
                    setting_certified=True,
                    monitoring_provider=nurse.username,
                    prescriber=self._clinician.username,
                    dose_mg=56,
                    device_lot=f"ESK-{start:%Y%m}",
                    bp_before_systolic=128,
                    bp_before_diastolic=80,
                    pulse_before=72,
                    spo2_before=98,
                ),
            )
            self._sessions[(p.key, number)] = view.version
            self._count("esketamine.start")

        def reading(systolic: int, diastolic: int) -> Callable[[], None]:
            def run() -> None:
                view = self.services.esketamine.record_reading(
                    nurse, pid(), number, systolic=systolic, diastolic=diastolic, pulse=76,
                    spo2_percent=97, moaas=5,
                )  # fmt: skip
                self._sessions[(p.key, number)] = view.version
                self._count("esketamine.record_reading")

            return run

        def end() -> None:
            view = self.services.esketamine.end_monitoring(
                nurse, pid(), number, ready_to_leave_at=at(90),
                expected_version=self._sessions[(p.key, number)],
            )  # fmt: skip
            self._sessions[(p.key, number)] = view.version
            self._count("esketamine.end_monitoring")

        def discharge() -> None:
            view = self.services.esketamine.discharge(
                self._clinician, pid(), number, password=self.passwords[Role.CLINICIAN],
                expected_version=self._sessions[(p.key, number)],
            )  # fmt: skip
            self._sessions[(p.key, number)] = view.version
            self._count("esketamine.discharge")
            self.summary.esketamine_sessions += 1

        def form() -> None:
            self.services.esketamine.submit_form(
                nurse, pid(), number, expected_version=self._sessions[(p.key, number)]
            )
            self._count("esketamine.submit_form")
            self.summary.forms_submitted += 1

        steps = [
            (start, begin),
            (at(40), reading(138, 86)),
            (at(115), reading(126, 80)),
            (at(120), end),
            (at(125), discharge),
        ]
        if submit:
            steps.append((at(130), form))
        return steps
