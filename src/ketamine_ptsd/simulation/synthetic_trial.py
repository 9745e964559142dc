"""A calibrated synthetic trial: patient-level records that reproduce PROTOCOL.md §10.

``generate_synthetic_trial(rng)`` makes the RCT as published: 51 screened (12 ineligible, each for
a stated §1 reason; 9 declining), 30 randomized 15/15, Table 1 by arm (exact counts, means and
SDs close to the paper's), CAPS-5 and MADRS at item level at baseline, week 1 and week 2, exactly
10/15 vs 3/15 responders (§8), one patient withdrawn after two infusions, infusion days with
vitals, dissociation and side effects at the published frequencies, the one labetalol
intervention, and responders followed until loss of response (median ≈ 27.5 days, two censored
at 50 and 102 days). The same generator makes any size (``n_per_arm``), other effects
(``ArmProfile``), other dropout, and the clinic's single open-label arm (``mode="clinic"``).

How the published facts are met:

- **Exact counts by construction.** Categorical Table 1 variables, responders, the C-SSRS
  positives, the PRISE symptoms and the withdrawal are assigned to chosen patients first
  (counts scaled to other sizes by largest remainder, ``synthetic_targets``), then each patient's
  data are drawn *consistent with* that assignment: a responder's week-2 CAPS-5 total is drawn
  at or below 70 % of baseline (the §8 rule in whole points), a non-responder's above it.
- **Model-based differences resemble the paper's.** Week-2 reductions are drawn per arm from
  ``ArmProfile`` (responders and non-responders separately), week 1 a share of week 2; the CAPS-5
  total is spread over the 20 items with cluster factors (avoidance improves fastest, arousal
  slowest) so the cluster F tests keep §10's ranking.
- **Continuous Table 1 variables** are drawn, then shifted and scaled within arm to the
  published mean and SD (and clipped to the protocol's range), so small trials still look like
  the paper's Table 1.
- **Durability.** Loss days are drawn (stratified) from a normal fitted to the published
  quartiles, corrected for the censored share; a loss that falls between scheduled visits is
  seen at an unscheduled visit (the patient calls in worse), so the Kaplan–Meier quartiles
  track the published ones rather than the visit grid.

Dates: with a ``Protocol`` (from ``adapters.protocol_store.load_protocol``), infusion dates,
assessment dates, follow-up visits, doses and vitals times come from the clinical rules
(``core.rules``); without one, a Monday start with Mon/Wed/Fri infusions, week 2 the next Monday,
and the §4 mg/kg doses. Arms and the response threshold also come from the protocol.

Pure: no I/O, no clock; randomness only from the injected ``numpy.random.Generator``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from ketamine_ptsd.simulation.synthetic_infusion import (
    DEFAULT_VITALS_MINUTES,
)
from ketamine_ptsd.simulation.synthetic_records import (
    Demographics,
    SyntheticPatient,
)
from ketamine_ptsd.simulation.synthetic_targets import (
    PUBLISHED,
    ContinuousTarget,
    scaled_count,
    scaled_counts,
)

from .synthetic_helpers import (
    ArmPlan,
    ArmProfile,
    FloatArray,
    SyntheticTrialConfig,
    block_sequence,
    exact_flags,
    exact_labels,
    given_sequence,
    matched_moments,
    next_weekday,
)
from .synthetic_patient import TreatedPatientSteps
from .synthetic_screening import ScreeningSteps

if TYPE_CHECKING:  # pragma: no cover
    from ketamine_ptsd.core.protocol import Protocol

__all__ = [
    "CONTROL_PROFILE",
    "KETAMINE_PROFILE",
    "ArmProfile",
    "SyntheticTrial",
    "SyntheticTrialConfig",
    "generate_synthetic_trial",
]


_DEFAULT_MG_PER_KG = {"ketamine": 0.5, "midazolam": 0.045}  # PROTOCOL.md §4

# §1 reasons for the 12 ineligible (the paper gives the count, not the reasons): criterion id →
# how many of 12. Ids match the rct protocol file's eligibility criteria.
_RCT_INELIGIBLE_REASONS = {
    "caps5_severity": 4,
    "psychotic_or_bipolar": 2,
    "substance_use_disorder": 2,
    "suicidal_homicidal_ideation": 1,
    "unstable_medical_illness": 1,
    "long_acting_benzodiazepine": 1,
    "ketamine_pcp_recent": 1,
}
# PROTOCOL.md §2 (clinical pathway): reasons a referral is turned down.
_CLINIC_INELIGIBLE_REASONS = {
    "ssri_snri_trials": 4,
    "trauma_focused_psychotherapy": 3,
    "uncontrolled_hypertension": 3,
    "active_psychosis": 2,
}


KETAMINE_PROFILE = ArmProfile(
    responder_rate=10 / 15,
    responder_reduction=(0.50, 0.18),
    nonresponder_reduction=(0.14, 0.14),
    week1_share=0.66,
    h24_responder_reduction=(0.62, 0.15),
    h24_nonresponder_reduction=(0.22, 0.25),
    baseline_shift=-2.5,
    cluster_responsiveness=(1.0, 2.4, 1.0, 0.6),
)
CONTROL_PROFILE = ArmProfile(
    responder_rate=3 / 15,
    responder_reduction=(0.40, 0.10),
    nonresponder_reduction=(0.08, 0.16),
    week1_share=0.75,
    h24_responder_reduction=(0.45, 0.2),
    h24_nonresponder_reduction=(0.40, 0.25),
    baseline_shift=0.5,
    cluster_responsiveness=(1.0, 0.8, 1.0, 0.9),
)


@dataclass(frozen=True)
class SyntheticTrial:
    """All screened patients in screening order, plus the allocation sequence (arm of each
    randomized patient in enrolment order — a permuted-block list that a loader can seal as the
    pharmacy's list, so the real randomization service reproduces the generated arms)."""

    config: SyntheticTrialConfig
    patients: tuple[SyntheticPatient, ...]
    arms: tuple[str, ...]
    allocation_sequence: tuple[str, ...]
    allocation_block_sizes: tuple[int, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def randomized(self) -> tuple[SyntheticPatient, ...]:
        """Treated patients in enrolment order (the order of ``allocation_sequence``)."""
        treated = [p for p in self.patients if p.arm is not None]
        return tuple(
            sorted(treated, key=lambda p: (p.allocation_date or dt.date.min, p.patient_id))
        )

    @property
    def screen_failures(self) -> tuple[SyntheticPatient, ...]:
        return tuple(p for p in self.patients if p.arm is None)

    def arm_patients(self, arm: str) -> tuple[SyntheticPatient, ...]:
        return tuple(p for p in self.patients if p.arm == arm)


# ----------------------------------------------------------------------------- helpers


# ----------------------------------------------------------------------------- instruments


# ----------------------------------------------------------------------------- the generator


class _Generator(TreatedPatientSteps, ScreeningSteps):
    def __init__(
        self, rng: np.random.Generator, config: SyntheticTrialConfig, protocol: Protocol | None
    ) -> None:
        self.rng = rng
        self.config = config
        self.protocol = protocol
        clinic = config.mode == "clinic"
        if config.arms is not None:
            self.arms = config.arms
        elif protocol is not None:
            self.arms = tuple(a.id for a in protocol.arms)
        else:
            self.arms = ("ketamine",) if clinic else ("ketamine", "midazolam")
        self.drugs = {a.id: a.drug for a in (protocol.arms if protocol is not None else ())} or {
            a: a if a in _DEFAULT_MG_PER_KG else "ketamine" for a in self.arms
        }
        for arm in self.arms:
            self.drugs.setdefault(arm, arm if arm in _DEFAULT_MG_PER_KG else "ketamine")
        defaults = (KETAMINE_PROFILE, CONTROL_PROFILE)
        self.profiles = config.profiles or tuple(defaults[min(i, 1)] for i in range(len(self.arms)))
        if len(self.profiles) != len(self.arms):
            raise ValueError("one ArmProfile per arm")
        threshold = protocol.response.min_reduction_fraction if protocol is not None else 0.30
        self.threshold = Fraction(str(threshold))
        self.clinic = clinic
        self.notes: list[str] = []

    # -- plan -------------------------------------------------------------------------------

    def _table1(self, arm_index: int, n: int) -> tuple[list[Demographics], list[int], list[int]]:
        rng, pub = self.rng, PUBLISHED
        k = min(arm_index, 1)

        def cont(target: ContinuousTarget, log_normal: bool = False) -> FloatArray:
            return matched_moments(
                rng,
                n,
                target.mean[k],
                target.sd[k],
                target.low,
                target.high,
                log_normal=log_normal,
            )

        def flags(pair: tuple[int, int]) -> list[bool]:
            return exact_flags(rng, scaled_count(pair[k], pub.n_per_arm, n), n)

        age = np.round(cont(pub.age_years)).astype(int)
        bmi = np.round(cont(pub.bmi_kg_m2), 1)
        duration = np.round(cont(pub.ptsd_duration_years, log_normal=True), 1)
        caps = np.round(cont(pub.caps5_past_month)).astype(int)
        madrs = np.round(cont(pub.madrs_baseline)).astype(int)
        female = flags(pub.female)
        hispanic = flags(pub.hispanic)
        mdd = flags(pub.comorbid_mdd)
        therapy = flags(pub.concomitant_psychotherapy)
        psychotropics = flags(pub.stable_psychotropics)
        race = exact_labels(
            rng,
            scaled_counts({r: c[k] for r, c in pub.race.items()}, pub.n_per_arm, n),
            n,
            "Other",
        )
        trauma = exact_labels(
            rng,
            scaled_counts({t: c[k] for t, c in pub.primary_trauma.items()}, pub.n_per_arm, n),
            n,
            "sexual assault",
        )
        people = []
        for i in range(n):
            sex = "female" if female[i] else "male"
            height = float(np.clip(rng.normal(163.0 if female[i] else 177.0, 7.0), 145, 200))
            weight = round(float(bmi[i]) * (height / 100.0) ** 2, 1)
            people.append(
                Demographics(
                    age_years=int(age[i]),
                    sex=sex,
                    race=race[i],
                    hispanic=hispanic[i],
                    height_cm=round(height, 1),
                    weight_kg=weight,
                    bmi_kg_m2=float(bmi[i]),
                    ptsd_duration_years=float(max(duration[i], 0.3)),
                    comorbid_mdd=mdd[i],
                    concomitant_psychotherapy=therapy[i],
                    stable_psychotropics=psychotropics[i],
                    primary_trauma=trauma[i],
                )
            )
        return people, [int(max(c, 30)) for c in caps], [int(m) for m in madrs]

    def plan_arm(self, arm_index: int, n: int, n_withdrawn: int) -> ArmPlan:
        rng, pub = self.rng, PUBLISHED
        k = min(arm_index, 1)
        profile = self.profiles[arm_index]
        n_resp = max(0, min(n, int(profile.responder_rate * n + 0.5)))
        resp_idx = set(rng.choice(n, size=n_resp, replace=False).tolist()) if n_resp else set()
        responder = [i in resp_idx for i in range(n)]
        non = [i for i in range(n) if not responder[i]]
        if n_withdrawn > len(non):
            raise ValueError("more withdrawals than non-responders in an arm")
        wd = (
            set(rng.choice(non, size=n_withdrawn, replace=False).tolist()) if n_withdrawn else set()
        )
        withdrawn = [i in wd for i in range(n)]
        # C-SSRS positives: among patients with week-2 data where possible, so that "improved by
        # week 2" is defined for each.
        n_pos = scaled_count(pub.cssrs_positive_baseline[k], pub.n_per_arm, n)
        completers = [i for i in range(n) if not withdrawn[i]]
        pool = completers if len(completers) >= n_pos else list(range(n))
        pos = set(rng.choice(pool, size=n_pos, replace=False).tolist()) if n_pos else set()
        n_improved = round(
            n_pos * pub.cssrs_improved_week2[k] / max(pub.cssrs_positive_baseline[k], 1)
        )
        improvable = [i for i in sorted(pos) if not withdrawn[i]]
        imp = (
            set(
                rng.choice(
                    improvable, size=min(n_improved, len(improvable)), replace=False
                ).tolist()
            )
            if improvable and n_improved
            else set()
        )
        drug = self.drugs[self.arms[arm_index]]
        ket = drug == "ketamine"
        col = 0 if ket else 1
        prise_after = {
            s: exact_flags(rng, scaled_count(c[col], pub.n_per_arm, n), n)
            for s, c in pub.prise_after_start.items()
        }
        prise_other = {
            s: exact_flags(rng, scaled_count(c[col], pub.n_per_arm, n), n)
            for s, c in pub.prise_other_times.items()
        }
        hypertensive = [False] * n
        demographics, caps, madrs = self._table1(arm_index, n)
        return ArmPlan(
            responder=responder,
            withdrawn=withdrawn,
            cssrs_positive=[i in pos for i in range(n)],
            cssrs_improved=[i in imp for i in range(n)],
            prise_after=prise_after,
            prise_other=prise_other,
            hypertensive=hypertensive,
            never_lose=[False] * n,
            demographics=demographics,
            caps5_screen=caps,
            madrs_baseline=madrs,
        )

    # -- dates --------------------------------------------------------------------------------

    def schedule(
        self, first: dt.date
    ) -> tuple[tuple[dt.date, ...], dict[str, dt.date], list[tuple[int, int, int]]]:
        """Infusion dates, assessment dates by time point, and follow-up visits as
        (target day, first day, last day) counted from the primary outcome day."""
        if self.protocol is not None:
            from ketamine_ptsd.core.rules import plan_schedule

            plan = plan_schedule(self.protocol, first)
            dates = {a.name: a.target for a in plan.assessments}
            primary = dates.get(self.protocol.response.assessment, plan.infusions[-1])
            visits = [
                (
                    (v.target - primary).days,
                    (v.window_start - primary).days,
                    (v.window_end - primary).days,
                )
                for v in plan.follow_up
            ]
            return plan.infusions, dates, visits
        week = [first + dt.timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
        dates = {
            "baseline": week[0],
            "h24": week[0] + dt.timedelta(days=1),
            "week1": week[3],
            "week2": next_weekday(week[5] + dt.timedelta(days=1), 0),
        }
        visits = [(7 * w, 7 * w - 3, 7 * w + 3) for w in range(1, 5)]
        visits += [(30 * m, 30 * m - 3, 30 * m + 3) for m in range(2, 7)]
        return tuple(week), dates, visits

    def dose_mg(self, drug: str, weight_kg: float) -> tuple[float, int]:
        if self.protocol is not None:
            from ketamine_ptsd.core.rules import calculate_dose

            result = calculate_dose(self.protocol, drug, weight_kg)
            return result.dose_mg, result.minutes
        return round(_DEFAULT_MG_PER_KG.get(drug, 0.5) * weight_kg, 2), 40

    def vitals_minutes(self, drug: str) -> tuple[int, ...]:
        if self.protocol is not None:
            from ketamine_ptsd.core.rules import vitals_due_minutes

            return vitals_due_minutes(self.protocol, drug)
        return DEFAULT_VITALS_MINUTES

    # -- one randomized patient -------------------------------------------------------------

    # -- screen failures --------------------------------------------------------------------

    # -- durability -------------------------------------------------------------------------

    # -- the whole trial --------------------------------------------------------------------

    def run(self) -> SyntheticTrial:
        rng, cfg = self.rng, self.config
        n = cfg.n_per_arm
        if n < 1:
            raise ValueError("n_per_arm must be at least 1")
        n_arms = len(self.arms)
        n_treated = n * n_arms
        n_pub = 2 * PUBLISHED.n_per_arm
        n_inel = (
            cfg.n_ineligible
            if cfg.n_ineligible is not None
            else scaled_count(PUBLISHED.n_ineligible, n_pub, n_treated)
        )
        n_decl = (
            cfg.n_declined
            if cfg.n_declined is not None
            else scaled_count(PUBLISHED.n_declined, n_pub, n_treated)
        )
        n_wd_total = (
            cfg.n_withdrawn
            if cfg.n_withdrawn is not None
            else scaled_count(PUBLISHED.n_withdrawn, n_pub, n_treated)
        )
        # Withdrawals go to the last (control) arm first, then spread (PROTOCOL.md §10 does not
        # say which arm the one withdrawn patient was in).
        wd_per_arm = [0] * n_arms
        for j in range(n_wd_total):
            wd_per_arm[(n_arms - 1 - j) % n_arms] += 1
        plans = [self.plan_arm(a, n, wd_per_arm[a]) for a in range(n_arms)]
        # One hypertensive reaction needing labetalol, infusion 5, in a ketamine patient (§6).
        for a, arm in enumerate(self.arms):
            if self.drugs[arm] == "ketamine":
                candidates = [i for i in range(n) if not plans[a].withdrawn[i]]
                if candidates:
                    plans[a].hypertensive[int(rng.choice(candidates))] = True
                break
        # Durability: which responders never lose response, and when the others do.
        responders = [(a, i) for a in range(n_arms) for i in range(n) if plans[a].responder[i]]
        n_never = (
            cfg.n_never_lose
            if cfg.n_never_lose is not None
            else min(len(responders), round(len(cfg.censor_days) * len(responders) / 13))
        )
        active = [r for r in responders if r[0] == 0]
        pool = active if len(active) >= n_never else responders
        never = [pool[int(j)] for j in rng.choice(len(pool), size=n_never, replace=False)]
        for a, i in never:
            plans[a].never_lose[i] = True
        losers = [r for r in responders if not plans[r[0]].never_lose[r[1]]]
        draws = self.loss_days(len(losers), n_never / max(len(responders), 1))
        loss_of = dict(zip(losers, draws, strict=True))
        censor_of = {}
        for j, r in enumerate(never):
            if j < len(cfg.censor_days):
                censor_of[r] = int(cfg.censor_days[j])
            else:
                censor_of[r] = int(rng.integers(45, 181))

        if cfg.allocation_sequence is not None and not self.clinic:
            sequence, block_sizes = given_sequence(cfg, n, self.arms)
        else:
            sequence, block_sizes = block_sequence(rng, n, self.arms)
        # Screening order: treated patients in enrolment order, failures interleaved at random.
        n_screened = n_treated + n_inel + n_decl
        kinds = ["treated"] * n_treated + ["ineligible"] * n_inel + ["declined"] * n_decl
        order = [kinds[j] for j in rng.permutation(n_screened)]
        reasons_table = _CLINIC_INELIGIBLE_REASONS if self.clinic else _RCT_INELIGIBLE_REASONS
        reasons = exact_labels(
            rng,
            scaled_counts(reasons_table, sum(reasons_table.values()), n_inel),
            n_inel,
            next(iter(reasons_table)),
        )
        next_in_arm = [0] * n_arms
        seq_iter = iter(sequence)
        date = cfg.start_date
        patients: list[SyntheticPatient] = []
        width = max(3, len(str(n_screened)))
        for number, kind in enumerate(order, start=1):
            pid = f"{cfg.id_prefix}{number:0{width}d}"
            date = date + dt.timedelta(days=int(rng.integers(2, 9)))
            if kind == "treated":
                arm = next(seq_iter)
                a = self.arms.index(arm)
                i = next_in_arm[a]
                next_in_arm[a] += 1
                plan = plans[a]
                demo = plan.demographics[i]
                first = next_weekday(date + dt.timedelta(days=14), 0)
                consent = date + dt.timedelta(days=int(rng.integers(1, 6)))
                screening = self.screening_record(
                    demo, plan.caps5_screen[i], date, "eligible", consent_date=consent
                )
                patients.append(
                    self.treated_patient(
                        pid,
                        a,
                        i,
                        plan,
                        screening,
                        first,
                        loss_of.get((a, i)),
                        censor_of.get((a, i)),
                    )
                )
            elif kind == "ineligible":
                reason = reasons.pop()
                demo = self.failure_demographics()
                caps = (
                    int(rng.integers(18, 30))
                    if reason == "caps5_severity"
                    else int(np.clip(round(rng.normal(40.0, 6.0)), 30, 80))
                )
                screening = self.screening_record(demo, caps, date, "ineligible", reason)
                patients.append(SyntheticPatient(pid, screening, demo))
            else:
                demo = self.failure_demographics()
                caps = int(np.clip(round(rng.normal(40.0, 6.0)), 30, 80))
                screening = self.screening_record(demo, caps, date, "declined")
                patients.append(SyntheticPatient(pid, screening, demo))
        notes = [
            "Withdrawn patients are placed in the control arm first; PROTOCOL.md §10 does not "
            "name the arm.",
        ]
        if cfg.withdrawn_have_week1:
            notes.append(
                "The withdrawn patient keeps a week-1 rating (taken at the withdrawal visit): "
                "§9's F(2,55) for 30 patients with 89 observations needs one missing value, not two."
            )
        if self.protocol is None:
            notes.append("No protocol given: Mon/Wed/Fri infusions and §4 mg/kg doses.")
        return SyntheticTrial(
            config=cfg,
            patients=tuple(patients),
            arms=self.arms,
            allocation_sequence=() if self.clinic else sequence,
            allocation_block_sizes=() if self.clinic else block_sizes,
            notes=tuple(notes),
        )


def generate_synthetic_trial(
    rng: np.random.Generator,
    config: SyntheticTrialConfig | None = None,
    protocol: Protocol | None = None,
) -> SyntheticTrial:
    """Generate a synthetic trial (see the module docstring). Same ``rng`` state, same trial."""
    return _Generator(rng, config or SyntheticTrialConfig(), protocol).run()
