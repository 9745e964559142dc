"""Drive a synthetic trial through the real services, as the trial's staff would (issue 6).

Why an adapter and not a service: the loader plays the people at the keyboards — it creates
their accounts, logs each one in, and replays every patient's history in calendar order by
moving an injected :class:`~ketamine_ptsd.services.FixedClock` to the moment each thing
happened (a bedside tablet would use the wall clock). It calls only the public service methods,
one use case = one transaction, exactly as the web routes do; nothing is written to a table
directly. Replaying a trial is not a use case of the record, so it does not belong in
``services``; it needs the protocol store and the clock, which adapters own.

The order of events follows PROTOCOL.md:

- §1 screening: registration, Table 1 demographics, the screening visit (facts + CAPS-5 past
  month items; the record derives consent and the CAPS-5 total itself), consent with the
  independent capacity assessment, re-evaluation → eligible; 12 decided *ineligible* by the
  rules (with the failing criterion's reason); 9 *declined* (refusal recorded for CONSORT);
- §3 randomization: the pharmacist generates and seals the permuted-block list through the
  randomization service (the synthetic trial is generated to follow that very list, see
  :func:`balanced_list_seed`), and each patient is allocated on the morning of infusion 1;
  the loader checks every allocation against the generated arm;
- §4–§6 infusion days, §5 assessments, §8 follow-up, withdrawal: through the workflow services
  as they exist in this build (``LoadSummary.not_loaded`` names what could not be replayed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from argon2 import PasswordHasher

from ketamine_ptsd.core.randomization import BlockListSpec, generate_block_list
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.rules import follow_up_visits
from ketamine_ptsd.services import Actor, FixedClock, Services
from ketamine_ptsd.services.assessments import AssessmentInput
from ketamine_ptsd.services.blinding_guesses import GuessInput
from ketamine_ptsd.services.patients import ConsentInput, IdentityInput
from ketamine_ptsd.services.screening import (
    DERIVED_FACTS,
    DemographicsInput,
    ScreeningVisitInput,
)
from ketamine_ptsd.simulation.synthetic_records import Rating, SyntheticPatient
from ketamine_ptsd.simulation.synthetic_trial import (
    SyntheticTrial,
    SyntheticTrialConfig,
    generate_synthetic_trial,
)

from .demo_infusion_day import InfusionDaySteps, at_time

__all__ = [
    "DEMO_ACCOUNTS",
    "DemoAccount",
    "DemoLoader",
    "LoadSummary",
    "balanced_list_seed",
    "make_demo_trial",
]

DEMO_SITE = "DEMO"
CONSENT_VERSION = "v1"  # one of the protocol's consent_forms
CAPACITY_ASSESSOR = "Dr R. Okafor (independent capacity assessor)"
LIST_BLOCK_SIZES = (2, 4)


@dataclass(frozen=True)
class DemoAccount:
    """A demo login. The passwords are printed by ``demo``: a local demo database only."""

    username: str
    role: Role
    full_name: str
    password: str


#: One account per role (core.roles.Role), with the role's everyday job in the demo.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin", Role.ADMINISTRATOR, "Alex Admin", "blue-harbour-demo"),
    DemoAccount("investigator", Role.INVESTIGATOR, "Dr Ines Investigator", "quiet-meadow-demo"),
    DemoAccount("nurse", Role.NURSE, "Nadia Nurse", "amber-lantern-demo"),
    DemoAccount("safety", Role.SAFETY_RATER, "Sam Safety-Rater", "silver-compass-demo"),
    DemoAccount("rater", Role.OUTCOME_RATER, "Riya Outcome-Rater", "copper-kettle-demo"),
    DemoAccount("pharmacist", Role.PHARMACIST, "Pat Pharmacist", "velvet-orchard-demo"),
    DemoAccount("statistician", Role.STATISTICIAN, "Stella Statistician", "granite-river-demo"),
    DemoAccount(
        "dsmb.statistician", Role.STATISTICIAN, "Dana DSMB-Statistician", "maple-beacon-demo"
    ),
    DemoAccount("monitor", Role.MONITOR, "Mo Monitor", "cedar-window-demo"),
    DemoAccount("clinician", Role.CLINICIAN, "Dr Cleo Clinician", "saffron-bridge-demo"),
)


#: Illustrative odds of each end-of-treatment guess (ketamine, midazolam, don't know) by true
#: arm and respondent, for the demo only: the RCT published no blinding assessment, so these are
#: not calibrated to anything. Ketamine's dissociation tends to unblind patients and the nurse
#: who watches the infusion more than the outcome rater, who never sees it (PROTOCOL.md §3, §6).
DEMO_GUESS_ODDS: dict[tuple[str, str], tuple[float, float, float]] = {
    ("ketamine", "patient"): (0.65, 0.15, 0.20),
    ("ketamine", "outcome_rater"): (0.45, 0.25, 0.30),
    ("ketamine", "infusion_nurse"): (0.70, 0.15, 0.15),
    ("midazolam", "patient"): (0.30, 0.45, 0.25),
    ("midazolam", "outcome_rater"): (0.30, 0.35, 0.35),
    ("midazolam", "infusion_nurse"): (0.20, 0.60, 0.20),
}


def demo_guess(patient_id: str, arm: str, respondent: str) -> str:
    """One respondent's guess for a demo patient: drawn from :data:`DEMO_GUESS_ODDS` with a
    generator seeded by the patient and respondent alone, so the trial's own random stream (and
    with it every calibrated number) is untouched and the demo stays reproducible."""
    odds = DEMO_GUESS_ODDS.get((arm, respondent), (1 / 3, 1 / 3, 1 / 3))
    seed = [ord(c) for c in f"{patient_id}/{respondent}"]
    u = float(np.random.default_rng(seed).random())
    if u < odds[0]:
        return "ketamine"
    return "midazolam" if u < odds[0] + odds[1] else "dont_know"


@dataclass
class LoadSummary:
    """What the loader did: the study id of each synthetic patient, how many times each use
    case ran, and the workflows this build could not replay (no service yet)."""

    study_ids: dict[str, str] = field(default_factory=dict)
    patient_ids: dict[str, int] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    not_loaded: list[str] = field(default_factory=list)
    discharge_held: list[str] = field(default_factory=list)
    list_version: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, order=True)
class _Step:
    when: dt.datetime
    patient_index: int
    seq: int
    label: str = field(compare=False)
    run: Callable[[], None] = field(compare=False)


def balanced_list_seed(
    arms: Sequence[str], n_per_arm: int, start_seed: int, *, version: str
) -> int:
    """The first seed from ``start_seed`` whose permuted-block list (PROTOCOL.md §3, blocks of
    2 and 4, made by the same pure function the randomization service uses) starts with exactly
    ``n_per_arm`` of each arm in its first ``n_per_arm × arms`` slots.

    A list ends in whole blocks, so its first 30 slots can be 16:14 when a block of 4 straddles
    slot 30; the published trial randomized 15:15 (§10), so the demo takes a seed that gives it.
    """
    n = n_per_arm * len(arms)
    spec = BlockListSpec(
        arms=tuple(arms),
        ratio=(1,) * len(arms),
        block_sizes=LIST_BLOCK_SIZES,
        slots_per_stratum=n,
    )
    for seed in range(start_seed, start_seed + 10_000):
        slots = generate_block_list(spec, seed=seed, version=version).slots[:n]
        if all(sum(s.arm == arm for s in slots) == n_per_arm for arm in arms):
            return seed
    raise RuntimeError("no balanced list in 10,000 seeds")  # pragma: no cover


def make_demo_trial(seed: int, protocol: Any, *, n_per_arm: int = 15) -> tuple[SyntheticTrial, int]:
    """The synthetic trial for ``seed``, following the list the pharmacy will seal with the
    returned list seed (so allocation by the real service reproduces the generated arms)."""
    arms = tuple(a.id for a in protocol.arms)
    list_seed = balanced_list_seed(arms, n_per_arm, seed, version=list_version_for(seed))
    spec = BlockListSpec(
        arms=arms,
        ratio=tuple(int(a.allocation_ratio) for a in protocol.arms),
        block_sizes=LIST_BLOCK_SIZES,
        slots_per_stratum=n_per_arm * len(arms),
    )
    slots = generate_block_list(spec, seed=list_seed, version=list_version_for(seed)).slots
    taken = slots[: n_per_arm * len(arms)]
    config = SyntheticTrialConfig(
        n_per_arm=n_per_arm,
        allocation_sequence=tuple(s.arm for s in taken),
        allocation_block_sizes=_block_sizes(taken),
        id_prefix="P",
    )
    trial = generate_synthetic_trial(np.random.default_rng(seed), config, protocol)
    return trial, list_seed


def list_version_for(seed: int) -> str:
    return f"demo-{seed}"


def _block_sizes(slots: Sequence[Any]) -> tuple[int, ...]:
    sizes: list[int] = []
    last = None
    for s in slots:
        if s.block_number != last:
            sizes.append(s.block_size)
            last = s.block_number
    return tuple(sizes)


class DemoLoader(InfusionDaySteps):
    """Replays a :class:`SyntheticTrial` through ``services`` (see the module docstring)."""

    def __init__(
        self,
        services: Services,
        clock: FixedClock,
        *,
        protocol_name: str = "rct",
        site: str = DEMO_SITE,
    ) -> None:
        self.services = services
        self.clock = clock
        self.protocol_name = protocol_name
        self.site = site
        self.actors: dict[Role, Actor] = {}
        self.summary = LoadSummary()
        self._passwords: dict[Role, str] = {}
        self._accounts: list[DemoAccount] = []
        self._versions: dict[tuple[str, int], int] = {}
        self._protocol: Any = services.context.protocol(protocol_name)

    # --- accounts ------------------------------------------------------------------------------

    def create_accounts(self, accounts: Sequence[DemoAccount] = DEMO_ACCOUNTS) -> dict[Role, Actor]:
        """Create one account per role (as the operator at the terminal) and log each in."""
        operator = Actor.system("demo")
        self._accounts = list(accounts)
        for account in accounts:
            self.services.users.add(
                operator,
                username=account.username,
                role=account.role.value,
                password=account.password,
                full_name=account.full_name,
            )
            login = self.services.auth.login(account.username, account.password)
            self.actors[account.role] = login.actor
            self._passwords[account.role] = account.password
        return self.actors

    def rehash_passwords(self, hasher: PasswordHasher) -> None:
        """Store every demo account's password hashed with ``hasher`` (the production Argon2
        parameters): the replay runs on cheap parameters for speed (each discharge sign-off
        verifies a password), but the database it leaves behind must not hold weak hashes."""
        operator = Actor.system("demo")
        production = Services(dataclasses.replace(self.services.context, password_hasher=hasher))
        versions = {v.username: (v.id, v.version) for v in production.users.list(operator)}
        for account in self._accounts:
            user_id, version = versions[account.username]
            production.users.set_password(
                operator,
                user_id,
                account.password,
                expected_version=version,
                reason="demo account: password stored with the production Argon2 parameters",
            )

    # --- the replay ----------------------------------------------------------------------------

    def load(
        self,
        trial: SyntheticTrial,
        *,
        list_seed: int,
        list_version: str,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> LoadSummary:
        """Replay every patient of ``trial`` in calendar order; ``progress(done, total, label)``
        is called after each use case."""
        started = time.perf_counter()
        steps: list[_Step] = []
        first_day = min(p.screening.screening_date for p in trial.patients)
        steps.append(
            _Step(
                at_time(first_day - dt.timedelta(days=7), 9),
                -1,
                0,
                "pharmacy seals the randomization list",
                lambda: self._seal_list(trial, list_seed, list_version),
            )
        )
        for index, patient in enumerate(trial.patients):
            steps.extend(self._patient_steps(index, patient))
        steps.sort()
        total = len(steps)
        for done, step in enumerate(steps, start=1):
            self.clock.set(step.when)
            step.run()
            if progress is not None:
                progress(done, total, step.label)
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def load_clinic(self, anchor: dt.date) -> Any:
        """After the trial: the small clinic cohort of the open-label pathway (issue 13;
        :mod:`.demo_clinic`), its series starting on ``anchor`` (a Monday), by the demo's clinic
        staff; its :class:`~.demo_clinic.ClinicSummary`."""
        from .demo_clinic import ClinicCohortLoader

        return ClinicCohortLoader(self.services, self.clock, self.actors, self._passwords).load(
            anchor
        )

    def resolve_queries(self) -> int:
        """Before the lock, as a site would: the investigator answers each query the
        protocol's checks raised (a date or value confirmed against source) and the monitor
        closes it (issue 17: the database is locked only when every query is closed). The
        number of queries resolved."""
        md, monitor = self.actors[Role.INVESTIGATOR], self.actors[Role.MONITOR]
        pending = self.services.queries.list(monitor, state="open")
        for query in pending:
            answered = self.services.queries.answer(
                md,
                query.id,
                answer=(
                    "Confirmed against the source document: recorded as it happened "
                    "(synthetic demo data)"
                ),
                corrected=False,
                expected_version=query.version,
            )
            self.services.queries.close(monitor, query.id, expected_version=answered.version)
        return len(pending)

    def lock_record(self, reason: str) -> object:
        """Lock the record as the demo's investigator (issue 17: the final analysis runs on a
        locked record); the lock's view."""
        return self.services.locks.lock(
            self.actors[Role.INVESTIGATOR],
            reason=reason,
            password=self._passwords[Role.INVESTIGATOR],
        )

    def reopen_for_the_clinic(self, reason: str) -> int:
        """Lock each of the trial's patients on their own, then lift the database lock, so the
        served demo's clinic can work while the trial's record stays frozen (issue 17: a
        patient lock refuses every write to that patient; the final report still runs, on the
        protocol's patient locks, services/lock_guard.protocol_lock). Returns how many patients
        were locked. Both steps are the investigator's audited decisions with the reason."""
        md = self.actors[Role.INVESTIGATOR]
        password = self._passwords[Role.INVESTIGATOR]
        trial = [
            p for p in self.services.patients.list(md) if p.protocol_name == self.protocol_name
        ]
        for patient in trial:
            self.services.locks.lock(md, reason=reason, password=password, patient_id=patient.id)
        self.services.locks.unlock(md, reason=reason, password=password)
        return len(trial)

    def _actor(self, role: Role) -> Actor:
        return self.actors[role]

    def _count(self, name: str) -> None:
        self.summary.calls[name] += 1

    def _seal_list(self, trial: SyntheticTrial, seed: int, version: str) -> None:
        n = len(trial.allocation_sequence)
        summary = self.services.randomization.generate_list(
            self._actor(Role.PHARMACIST),
            protocol_name=self.protocol_name,
            list_version=version,
            slots_per_stratum=n,
            block_sizes=LIST_BLOCK_SIZES,
            seed=seed,
        )
        self.summary.list_version = summary.list_version
        self._count("randomization.generate_list")

    def _patient_steps(self, index: int, p: SyntheticPatient) -> list[_Step]:
        seq = iter(range(10_000))
        out: list[_Step] = []

        def add(when: dt.datetime, label: str, fn: Callable[[], None]) -> None:
            out.append(_Step(when, index, next(seq), f"{p.patient_id}: {label}", fn))

        s = p.screening
        day = s.screening_date
        add(at_time(day, 9), "registered", lambda: self._register(p))
        add(at_time(day, 9, 5), "demographics", lambda: self._demographics(p))
        add(at_time(day, 10), "screening visit", lambda: self._screening_visit(p))
        if s.disposition == "declined":
            add(at_time(day, 11), "declined", lambda: self._refusal(p))
        elif s.disposition == "ineligible":
            pass  # the rules decided it at the visit (consent was recorded first)
        else:
            consent_day = s.consent_date or day
            add(at_time(consent_day, 14), "consent", lambda: self._consent(p, consent_day))
            add(
                at_time(consent_day, 14, 10),
                "eligibility re-evaluated",
                lambda: self._reevaluate(p),
            )
        if p.arm is None or not p.infusions:
            return out
        first = p.infusions[0].date
        for rating in p.assessments:
            if rating.time_point == "baseline":  # the morning of infusion 1, before allocation
                add(at_time(first, 7), f"baseline {rating.instrument}", self._assess_fn(p, rating))
        add(at_time(first, 7, 30), "allocated", lambda: self._allocate(p, first))
        for infusion in p.infusions:
            for when, label, fn in self._infusion_steps(p, infusion):
                add(when, label, fn)
        withdrawal = p.withdrawal
        for rating in p.assessments:
            if rating.time_point == "baseline":
                continue
            if withdrawal is not None and rating.date >= withdrawal.date:
                # Rated at the withdrawal visit, before the withdrawal is recorded.
                when, day = at_time(withdrawal.date, 9), withdrawal.date
            else:
                hour = 7 if any(i.date == rating.date for i in p.infusions) else 10
                when, day = at_time(rating.date, hour), rating.date
            add(when, f"{rating.time_point} {rating.instrument}", self._assess_fn(p, rating, day))
        names = self._follow_up_names(p)
        for visit, name in zip(p.follow_up, names, strict=False):
            add(
                at_time(visit.date, 11),
                f"{name} CAPS-5",
                self._assess_fn(p, visit.caps5, visit.date, time_point=name),
            )
        if withdrawal is not None:
            add(at_time(withdrawal.date, 9, 30), "withdrawn", lambda: self._withdraw(p))
        if getattr(self._protocol, "blinded", False):
            # the end of treatment: the last infusion discharged, or the withdrawal (issue 15)
            end = (
                at_time(withdrawal.date, 9, 45)
                if withdrawal is not None
                else at_time(p.infusions[-1].date + dt.timedelta(days=1), 12)
            )
            add(end, "blinding guesses", lambda: self._guesses(p))
        return out

    # --- screening -------------------------------------------------------------------------------

    def _pid(self, p: SyntheticPatient) -> int:
        return self.summary.patient_ids[p.patient_id]

    def _register(self, p: SyntheticPatient) -> None:
        # Two identifiers for the bedside check (PROTOCOL.md §12): an obviously synthetic name
        # and a birth date that matches the synthetic age at screening.
        born = dt.date(p.screening.screening_date.year - p.demographics.age_years, 7, 1)
        view = self.services.patients.register(
            self._actor(Role.INVESTIGATOR),
            protocol_name=self.protocol_name,
            site=self.site,
            identity=IdentityInput("Synthetic", f"Demo-{p.patient_id}", born),
        )
        self.summary.study_ids[p.patient_id] = view.study_id
        self.summary.patient_ids[p.patient_id] = view.id
        self._count("patients.register")
        if p.screening.disposition == "ineligible":
            # Consent to the screening procedures comes first in the RCT (PROTOCOL.md §1).
            self._consent(p, p.screening.screening_date)

    def _demographics(self, p: SyntheticPatient) -> None:
        d = p.demographics
        self.services.screening.record_demographics(
            self._actor(Role.INVESTIGATOR),
            self._pid(p),
            DemographicsInput(
                age_years=d.age_years,
                sex=d.sex,
                race=d.race,
                hispanic=d.hispanic,
                bmi_kg_m2=d.bmi_kg_m2,
                ptsd_duration_years=d.ptsd_duration_years,
                comorbid_mdd=d.comorbid_mdd,
                concomitant_psychotherapy=d.concomitant_psychotherapy,
                stable_psychotropics=d.stable_psychotropics,
                primary_trauma=d.primary_trauma,
            ),
        )
        self._count("screening.record_demographics")

    def _screening_visit(self, p: SyntheticPatient) -> None:
        s = p.screening
        facts = {k: v for k, v in s.facts.items() if k not in DERIVED_FACTS}
        view = self.services.screening.record_visit(
            self._actor(Role.INVESTIGATOR),
            self._pid(p),
            ScreeningVisitInput(
                visit_date=s.screening_date,
                facts=facts,
                caps5_past_month=s.caps5_past_month.items,
                weight_kg=p.demographics.weight_kg,
                height_cm=p.demographics.height_cm,
            ),
        )
        self._count("screening.record_visit")
        decided = view.decision.status
        if s.disposition == "ineligible" and decided != "ineligible":
            raise RuntimeError(f"{p.patient_id}: the rules said {decided}, expected ineligible")

    def _refusal(self, p: SyntheticPatient) -> None:
        self.services.patients.record_screening_outcome(
            self._actor(Role.INVESTIGATOR),
            self._pid(p),
            outcome="declined",
            decided_on=p.screening.screening_date,
            reasons=["declined to take part after the screening visit"],
        )
        self._count("patients.record_screening_outcome")

    def _consent(self, p: SyntheticPatient, day: dt.date) -> None:
        self.services.patients.record_consent(
            self._actor(Role.INVESTIGATOR),
            self._pid(p),
            ConsentInput(
                consent_version=CONSENT_VERSION,
                consent_date=day,
                capacity_assessed=True,
                capacity_assessor=CAPACITY_ASSESSOR,
            ),
        )
        self._count("patients.record_consent")

    def _reevaluate(self, p: SyntheticPatient) -> None:
        decision = self.services.screening.reevaluate(self._actor(Role.INVESTIGATOR), self._pid(p))
        self._count("screening.reevaluate")
        if decision.status != "eligible":
            raise RuntimeError(
                f"{p.patient_id}: the rules said {decision.status}: {'; '.join(decision.reasons)}"
            )

    # --- randomization ---------------------------------------------------------------------------

    def _allocate(self, p: SyntheticPatient, day: dt.date) -> None:
        view = self.services.randomization.allocate(
            self._actor(Role.INVESTIGATOR), self._pid(p), infusion_date=day
        )
        self._count("randomization.allocate")
        # The investigator is blind; the pharmacist (who knows the list) confirms the arm.
        seen = self.services.randomization.allocation(self._actor(Role.PHARMACIST), self._pid(p))
        if seen.arm_id != p.arm:
            raise RuntimeError(
                f"{p.patient_id} ({view.study_id}): allocated {seen.arm_id}, generated {p.arm}"
            )

    # --- infusion days (PROTOCOL.md §4, §6) --------------------------------------------------

    # --- assessments, follow-up, withdrawal (PROTOCOL.md §5, §8, §10) --------------------------

    def _assess_fn(
        self,
        p: SyntheticPatient,
        rating: Rating,
        day: dt.date | None = None,
        *,
        time_point: str | None = None,
    ) -> Callable[[], None]:
        def run() -> None:
            self.services.assessments.record(
                self._actor(Role.OUTCOME_RATER),
                self._pid(p),
                AssessmentInput(
                    time_point=time_point or rating.time_point,
                    instrument=rating.instrument,
                    assessed_on=day or rating.date,
                    items=rating.items,
                ),
            )
            self._count("assessments.record")

        return run

    def _follow_up_names(self, p: SyntheticPatient) -> list[str]:
        """The protocol's follow-up visit names in order; the k-th visit of the synthetic patient
        is the k-th planned one (a visit brought forward by worsening keeps the planned name and
        is flagged out of window by the assessment service)."""
        if not p.follow_up:
            return []
        primary = p.assessment("caps5_past_week", "week2")
        assert primary is not None
        return [v.name for v in follow_up_visits(self._protocol, primary.date)]

    def _guesses(self, p: SyntheticPatient) -> None:
        """The three end-of-treatment guesses (issue 15): the outcome rater records the
        patient's and their own, the nurse hers, each drawn from :data:`DEMO_GUESS_ODDS`."""
        for respondent, role in (
            ("patient", Role.OUTCOME_RATER),
            ("outcome_rater", Role.OUTCOME_RATER),
            ("infusion_nurse", Role.NURSE),
        ):
            self.services.blinding_guesses.record(
                self._actor(role),
                self._pid(p),
                GuessInput(respondent, demo_guess(p.patient_id, str(p.arm), respondent)),
            )
            self._count("blinding_guesses.record")

    def _withdraw(self, p: SyntheticPatient) -> None:
        w = p.withdrawal
        assert w is not None
        self.services.followup.withdraw(
            self._actor(Role.INVESTIGATOR),
            self._pid(p),
            withdrawn_on=w.date,
            decided_by=w.by,
            reason=w.reason,
        )
        self._count("followup.withdraw")
