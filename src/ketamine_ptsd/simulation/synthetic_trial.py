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
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ketamine_ptsd.core.instruments.caps5 import SYMPTOM_KEYS
from ketamine_ptsd.simulation.synthetic_infusion import (
    DEFAULT_VITALS_MINUTES,
    make_infusion_day,
)
from ketamine_ptsd.simulation.synthetic_items import allocate_total
from ketamine_ptsd.simulation.synthetic_records import (
    AdverseEvent,
    Demographics,
    FollowUpVisit,
    InfusionDay,
    Rating,
    ScreeningRecord,
    SyntheticPatient,
    Withdrawal,
)
from ketamine_ptsd.simulation.synthetic_targets import (
    PUBLISHED,
    ContinuousTarget,
    scaled_count,
    scaled_counts,
)

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

FloatArray = npt.NDArray[np.float64]

# CAPS-5 clusters (PROTOCOL.md §7) and how strongly each follows the overall change. §10's
# time × treatment F: avoidance 12.29 > negative cognitions 4.42 ≈ intrusion 3.77 > arousal 2.47.
_CLUSTER_OF_ITEM = tuple(
    "intrusion" if n <= 5 else "avoidance" if n <= 7 else "negcog" if n <= 14 else "arousal"
    for n in range(1, 21)
)
_DSM5_FLOORS = {"intrusion": 1, "avoidance": 1, "negcog": 2, "arousal": 2}

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
_RCT_FAILING_FACT = {
    "psychotic_or_bipolar": "lifetime_psychotic_or_bipolar_disorder",
    "substance_use_disorder": "substance_use_disorder_past_3_months",
    "suicidal_homicidal_ideation": "active_suicidal_or_homicidal_ideation",
    "unstable_medical_illness": "serious_unstable_medical_illness",
    "long_acting_benzodiazepine": "current_long_acting_benzodiazepine",
    "ketamine_pcp_recent": "recreational_ketamine_pcp_use_past_2_years",
}
# PROTOCOL.md §2 (clinical pathway): reasons a referral is turned down.
_CLINIC_INELIGIBLE_REASONS = {
    "ssri_snri_trials": 4,
    "trauma_focused_psychotherapy": 3,
    "uncontrolled_hypertension": 3,
    "active_psychosis": 2,
}


@dataclass(frozen=True)
class ArmProfile:
    """How one arm responds. Reductions are fractions of the baseline CAPS-5 total at week 2,
    as (mean, SD) of a normal truncated to the responder (≥ threshold) or non-responder side;
    ``week1_share`` is the week-1 reduction as a share of week 2's; ``h24_*`` are IES-R
    reductions 24 h after infusion 1 (§10: no arm difference overall, −63 % in ketamine
    responders); ``baseline_shift`` moves the past-week baseline CAPS-5 from the screening
    (past-month) total, so the baseline arm difference resembles §10's 0.87."""

    responder_rate: float
    responder_reduction: tuple[float, float]
    nonresponder_reduction: tuple[float, float]
    week1_share: float
    h24_responder_reduction: tuple[float, float]
    h24_nonresponder_reduction: tuple[float, float]
    baseline_shift: float = 0.0
    cluster_responsiveness: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)


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
class SyntheticTrialConfig:
    """What to generate. Defaults reproduce PROTOCOL.md §10.

    ``arms``: arm ids, active first (``None``: the protocol's arms, else ketamine/midazolam; the
    clinic: ketamine alone). ``profiles``: one per arm (default ketamine-like for the first,
    control-like for the second). ``n_ineligible``/``n_declined``/``n_withdrawn``: ``None`` scales
    the published 12/9/1 per 30 randomized; ``withdrawn_have_week1``: the withdrawn patient was
    still rated at week 1 (§9's 89 observations of 30 patients need it). ``n_never_lose``: responders
    censored at ``censor_days`` (``None``: 2 per 13 responders, §8).
    ``allocation_sequence``: the arms in enrolment order, taken from a list made elsewhere (the
    demo seals the randomization service's own permuted-block list, PROTOCOL.md §3, and makes the
    trial follow it, so the real allocation service hands out the generated arms); it must hold
    ``n_per_arm`` of each arm. ``None`` draws permuted blocks of 2 or 4 here.
    """

    n_per_arm: int = 15
    mode: str = "trial"  # "trial" | "clinic"
    arms: tuple[str, ...] | None = None
    profiles: tuple[ArmProfile, ...] | None = None
    n_ineligible: int | None = None
    n_declined: int | None = None
    n_withdrawn: int | None = None
    withdrawn_after_infusion: int = 2
    withdrawn_have_week1: bool = True
    n_never_lose: int | None = None
    censor_days: tuple[int, ...] = (50, 102)
    loss_quartiles_days: tuple[float, float, float] = (
        PUBLISHED.loss_q25_days,
        PUBLISHED.loss_median_days,
        PUBLISHED.loss_q75_days,
    )
    start_date: dt.date = dt.date(2016, 1, 4)
    id_prefix: str = "P"
    allocation_sequence: tuple[str, ...] | None = None
    allocation_block_sizes: tuple[int, ...] = ()


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


def _truncnorm(rng: np.random.Generator, mean: float, sd: float, low: float, high: float) -> float:
    a, b = (low - mean) / sd, (high - mean) / sd
    return float(stats.truncnorm.ppf(rng.uniform(), a, b, loc=mean, scale=sd))


def _matched_moments(
    rng: np.random.Generator,
    n: int,
    mean: float,
    sd: float,
    low: float,
    high: float,
    *,
    log_normal: bool = False,
) -> FloatArray:
    """``n`` draws shifted and scaled to sample mean ``mean`` and SD ``sd``, kept in range."""
    if log_normal:
        s2 = math.log1p((sd / mean) ** 2)
        x = rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)
    else:
        x = rng.normal(mean, sd, n)
    x = np.clip(x, low, high)
    if n < 3:
        return x
    for _ in range(30):
        cur_sd = float(np.std(x, ddof=1))
        if cur_sd > 0:
            x = mean + (x - float(np.mean(x))) * (sd / cur_sd)
        x = np.clip(x, low, high)
    return x


def _exact_labels(rng: np.random.Generator, counts: dict[str, int], n: int, fill: str) -> list[str]:
    labels = [k for k, c in counts.items() for _ in range(c)]
    labels = labels[:n] + [fill] * max(0, n - len(labels))
    return [labels[i] for i in rng.permutation(n)]


def _exact_flags(rng: np.random.Generator, count: int, n: int) -> list[bool]:
    chosen = set(rng.choice(n, size=min(count, n), replace=False).tolist()) if n else set()
    return [i in chosen for i in range(n)]


def _next_weekday(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def _block_sequence(
    rng: np.random.Generator, n_per_arm: int, arms: Sequence[str]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Permuted blocks with random sizes (1 or 2 of each arm per block), ending exactly."""
    left = n_per_arm
    seq: list[str] = []
    sizes: list[int] = []
    while left > 0:
        per_arm = 1 if left == 1 else int(rng.choice((1, 2)))
        block = [a for a in arms for _ in range(per_arm)]
        seq.extend(block[i] for i in rng.permutation(len(block)))
        sizes.append(len(block))
        left -= per_arm
    return tuple(seq), tuple(sizes)


def _given_sequence(
    cfg: SyntheticTrialConfig, n_per_arm: int, arms: Sequence[str]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The configured allocation sequence, checked: only known arms, ``n_per_arm`` of each."""
    sequence = tuple(cfg.allocation_sequence or ())
    counts = {arm: sequence.count(arm) for arm in arms}
    if set(sequence) - set(arms) or any(c != n_per_arm for c in counts.values()):
        raise ValueError(
            f"allocation_sequence must hold {n_per_arm} of each arm {tuple(arms)}; got {counts}"
        )
    return sequence, tuple(cfg.allocation_block_sizes)


# ----------------------------------------------------------------------------- instruments


def _caps5_items(
    rng: np.random.Generator,
    total: int,
    profile: FloatArray,
    reduction: float,
    *,
    dsm5_floors: bool = False,
    responsiveness: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> dict[str, int]:
    """20 CAPS-5 severities summing to ``total``; clusters follow ``reduction`` unevenly
    (``responsiveness`` per cluster B, C, D, E; > 1 improves faster than the total)."""
    by_cluster = dict(
        zip(("intrusion", "avoidance", "negcog", "arousal"), responsiveness, strict=True)
    )
    factors = np.array([max(0.05, 1.0 - by_cluster[c] * reduction) for c in _CLUSTER_OF_ITEM])
    floors = np.zeros(20, dtype=np.int64)
    if dsm5_floors:
        for cluster, k in _DSM5_FLOORS.items():
            members = [i for i, c in enumerate(_CLUSTER_OF_ITEM) if c == cluster]
            floors[rng.choice(members, size=k, replace=False)] = 2
    values = allocate_total(total, profile * factors, rng, maximum=4, floors=floors, noise_sd=0.45)
    return {key: int(v) for key, v in zip(SYMPTOM_KEYS, values, strict=True)}


def _caps5_past_month(
    rng: np.random.Generator, total: int, profile: FloatArray, duration_months: float
) -> dict[str, Any]:
    items: dict[str, Any] = _caps5_items(rng, total, profile, 0.0, dsm5_floors=total >= 12)
    severe = total >= 30
    items.update(
        {
            "21": int(rng.choice((0, 0, 0, 7, 12))),
            "22": round(max(duration_months, 1.5), 1),
            "23": int(rng.integers(2, 5)) if severe else int(rng.integers(1, 3)),
            "24": int(rng.integers(2, 5)) if severe else int(rng.integers(0, 3)),
            "25": int(rng.integers(1, 4)),
            "26": 0,
            "27": int(np.clip(round(total / 14), 1, 4)),
            "29": int(rng.choice(3, p=(0.7, 0.2, 0.1))),
            "30": int(rng.choice(3, p=(0.75, 0.15, 0.1))),
        }
    )
    return items


def _spread(
    rng: np.random.Generator,
    total: int,
    n_items: int,
    maximum: int,
    weights: FloatArray | None = None,
) -> dict[str, int]:
    w = rng.gamma(3.0, 1 / 3, n_items) if weights is None else weights
    values = allocate_total(int(np.clip(total, 0, n_items * maximum)), w, rng, maximum=maximum)
    return {str(k + 1): int(v) for k, v in enumerate(values)}


def _cssrs(rng: np.random.Generator, positive: bool) -> dict[str, bool]:
    """A C-SSRS screener following its skip logic; positive patients endorse ideation without
    intent or plan (an active plan was a §1 exclusion)."""
    if not positive:
        return {"1": False, "2": False, "6": False}
    active = bool(rng.uniform() < 0.5)
    items = {"1": True, "2": active, "6": False}
    if active:
        items.update({"3": False, "4": False, "5": False})
    return items


def _cgi_s(rng: np.random.Generator, caps_total: int) -> int:
    return int(np.clip(round(1.6 + caps_total / 11.0 + rng.normal(0.0, 0.45)), 1, 7))


def _cgi_i(rng: np.random.Generator, reduction: float) -> int:
    return int(np.clip(round(4.0 - 5.5 * reduction + rng.normal(0.0, 0.55)), 1, 7))


# ----------------------------------------------------------------------------- the generator


@dataclass
class _Plan:
    """Per-arm assignments decided before any patient is drawn (the exact counts)."""

    responder: list[bool]
    withdrawn: list[bool]
    cssrs_positive: list[bool]
    cssrs_improved: list[bool]
    prise_after: dict[str, list[bool]]
    prise_other: dict[str, list[bool]]
    hypertensive: list[bool]
    never_lose: list[bool]
    demographics: list[Demographics]
    caps5_screen: list[int]
    madrs_baseline: list[int]


class _Generator:
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
            return _matched_moments(
                rng,
                n,
                target.mean[k],
                target.sd[k],
                target.low,
                target.high,
                log_normal=log_normal,
            )

        def flags(pair: tuple[int, int]) -> list[bool]:
            return _exact_flags(rng, scaled_count(pair[k], pub.n_per_arm, n), n)

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
        race = _exact_labels(
            rng,
            scaled_counts({r: c[k] for r, c in pub.race.items()}, pub.n_per_arm, n),
            n,
            "Other",
        )
        trauma = _exact_labels(
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

    def plan_arm(self, arm_index: int, n: int, n_withdrawn: int) -> _Plan:
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
            s: _exact_flags(rng, scaled_count(c[col], pub.n_per_arm, n), n)
            for s, c in pub.prise_after_start.items()
        }
        prise_other = {
            s: _exact_flags(rng, scaled_count(c[col], pub.n_per_arm, n), n)
            for s, c in pub.prise_other_times.items()
        }
        hypertensive = [False] * n
        demographics, caps, madrs = self._table1(arm_index, n)
        return _Plan(
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
            "week2": _next_weekday(week[5] + dt.timedelta(days=1), 0),
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

    def max_responder_total(self, baseline: int) -> int:
        """The highest week-2 total that is still a ≥ threshold reduction (exact arithmetic)."""
        return math.floor(baseline * (1 - self.threshold))

    def week2_total(self, baseline: int, responder: bool, profile: ArmProfile) -> int:
        cut = self.max_responder_total(baseline)
        t = float(self.threshold)
        if responder:
            m, s = profile.responder_reduction
            r = _truncnorm(self.rng, m, s, t, 0.95)
            return int(min(cut, max(0, round(baseline * (1 - r)))))
        m, s = profile.nonresponder_reduction
        r = _truncnorm(self.rng, m, s, -0.35, t - 0.01)
        return int(max(cut + 1, min(80, round(baseline * (1 - r)))))

    def treated_patient(
        self,
        pid: str,
        arm_index: int,
        i: int,
        plan: _Plan,
        screening: ScreeningRecord,
        first: dt.date,
        loss_day: float | None,
        censor_day: int | None,
    ) -> SyntheticPatient:
        rng = self.rng
        arm = self.arms[arm_index]
        drug = self.drugs[arm]
        profile = self.profiles[arm_index]
        demo = plan.demographics[i]
        responder = plan.responder[i]
        withdrawn = plan.withdrawn[i]
        infusion_dates, dates, visits = self.schedule(first)
        caps_profile = rng.gamma(4.0, 0.25, 20)
        madrs_profile = rng.gamma(3.0, 1 / 3, 10) * np.r_[np.ones(9), 0.5]
        screen_total = plan.caps5_screen[i]
        shift = profile.baseline_shift
        baseline = int(np.clip(round(screen_total + shift + rng.normal(0.0, 6.0)), 22, 80))
        # CAPS-5 week 2 first (it fixes responder status), then week 1 as a share of it.
        if withdrawn:
            r2 = None
            r1 = float(rng.normal(-0.05, 0.08))
        else:
            w2 = self.week2_total(baseline, responder, profile)
            r2 = (baseline - w2) / baseline
            r1 = profile.week1_share * r2 + float(rng.normal(0.0, 0.12))
        w1 = int(np.clip(round(baseline * (1 - r1)), 0, 80))
        r1 = (baseline - w1) / baseline
        caps_by_time: dict[str, tuple[int, float]] = {"baseline": (baseline, 0.0)}
        if not withdrawn or self.config.withdrawn_have_week1:
            caps_by_time["week1"] = (w1, r1)
        if r2 is not None:
            caps_by_time["week2"] = (w2, r2)
        ratings: list[Rating] = []
        madrs0 = plan.madrs_baseline[i]
        for tp, (total, red) in caps_by_time.items():
            day = dates[tp]
            ratings.append(
                Rating(
                    "caps5_past_week",
                    tp,
                    day,
                    _caps5_items(
                        rng, total, caps_profile, red, responsiveness=profile.cluster_responsiveness
                    ),
                )
            )
            m_red = 0.0 if tp == "baseline" else 1.05 * red + float(rng.normal(0.0, 0.12))
            m_total = int(np.clip(round(madrs0 * (1 - m_red)), 0, 60))
            ratings.append(Rating("madrs", tp, day, _spread(rng, m_total, 10, 6, madrs_profile)))
            ratings.append(Rating("cgi_s", tp, day, {"1": _cgi_s(rng, total)}))
            if tp != "baseline":
                ratings.append(Rating("cgi_i", tp, day, {"1": _cgi_i(rng, red)}))
        positive = plan.cssrs_positive[i]
        ratings.append(Rating("cssrs", "baseline", dates["baseline"], _cssrs(rng, positive)))
        if "week2" in caps_by_time:
            still = positive and not plan.cssrs_improved[i]
            ratings.append(Rating("cssrs", "week2", dates["week2"], _cssrs(rng, still)))
        # IES-R and MADRS (past 24 h) at baseline and 24 h after infusion 1.
        ies0 = int(np.clip(round(rng.normal(46.0, 13.0)), 12, 88))
        m24_0 = int(np.clip(round(madrs0 + rng.normal(0.0, 3.0)), 0, 60))
        hm, hs = (
            profile.h24_responder_reduction if responder else profile.h24_nonresponder_reduction
        )
        h_red = float(np.clip(rng.normal(hm, hs), -0.4, 0.95))
        m_red = float(np.clip(0.85 * h_red + rng.normal(0.0, 0.1), -0.4, 0.95))
        for tp, ies, m24 in (
            ("baseline", ies0, m24_0),
            ("h24", round(ies0 * (1 - h_red)), round(m24_0 * (1 - m_red))),
        ):
            ratings.append(Rating("ies_r", tp, dates[tp], _spread(rng, int(ies), 22, 4)))
            ratings.append(Rating("madrs_24h", tp, dates[tp], _spread(rng, int(m24), 10, 6)))

        # Infusion days.
        n_infusions = self.config.withdrawn_after_infusion if withdrawn else len(infusion_dates)
        base_vitals = (
            float(np.clip(rng.normal(121.0, 10.0), 98, 136)),
            float(np.clip(rng.normal(77.0, 6.0), 60, 87)),
            float(np.clip(rng.normal(72.0, 9.0), 52, 100)),
        )
        infusions: list[InfusionDay] = []
        prise_after_when = {
            s: set(
                rng.choice(
                    n_infusions, size=int(rng.integers(1, min(3, n_infusions) + 1)), replace=False
                ).tolist()
            )
            for s, chosen in plan.prise_after.items()
            if chosen[i]
        }
        later = list(range(1, n_infusions))
        prise_other_when = {
            s: set(
                rng.choice(
                    later, size=int(rng.integers(1, min(2, len(later)) + 1)), replace=False
                ).tolist()
            )
            for s, chosen in plan.prise_other.items()
            if chosen[i] and later
        }
        adverse: list[AdverseEvent] = []
        for j in range(n_infusions):
            dose, minutes = self.dose_mg(drug, demo.weight_kg)
            after = {
                s: ("distressing" if rng.uniform() < 0.15 else "tolerable")
                for s, when in prise_after_when.items()
                if j in when
            }
            before = {
                s: ("distressing" if rng.uniform() < 0.1 else "tolerable")
                for s, when in prise_other_when.items()
                if j in when
            }
            for background in ("dry_mouth", "anxiety", "difficulty_sleeping", "poor_concentration"):
                if rng.uniform() < 0.03:
                    after[background] = "tolerable"
            hypertensive = plan.hypertensive[i] and j == 4
            day = make_infusion_day(
                rng,
                number=j + 1,
                date=infusion_dates[j],
                drug=drug,
                weight_kg=demo.weight_kg,
                dose_mg=dose,
                infusion_minutes=minutes,
                vitals_minutes=self.vitals_minutes(drug),
                baseline_vitals=base_vitals,
                prise_before=before,
                prise_after=after,
                hypertensive_reaction=hypertensive,
            )
            infusions.append(day)
            for given in day.interventions:
                adverse.append(
                    AdverseEvent(
                        term="hypertension during infusion",
                        onset_date=day.date,
                        infusion_number=day.number,
                        severity="moderate",
                        serious=False,
                        related_to_study_drug="probably",
                        action=f"{given.drug} {given.dose_mg:g} mg {given.route} at minute "
                        f"{given.minute}",
                        outcome="resolved the same day",
                    )
                )
            for symptom, level in {**before, **after}.items():
                if level == "distressing":
                    adverse.append(
                        AdverseEvent(
                            term=symptom.replace("_", " "),
                            onset_date=day.date,
                            infusion_number=day.number,
                            severity="mild",
                            serious=False,
                            related_to_study_drug="possibly",
                            action="none",
                            outcome="resolved",
                        )
                    )
        withdrawal = None
        if withdrawn:
            withdrawal = Withdrawal(
                date=infusion_dates[n_infusions],
                after_infusion=n_infusions,
                by="investigator",
                reason="no improvement and concern about worsening (PROTOCOL.md §10)",
            )
        follow_up: tuple[FollowUpVisit, ...] = ()
        lost: int | None = None
        censored: int | None = None
        if responder and "week2" in caps_by_time:
            follow_up, lost, censored = self.follow_up(
                baseline,
                w2,
                caps_profile,
                dates["week2"],
                visits,
                loss_day,
                censor_day,
                profile.cluster_responsiveness,
            )
        return SyntheticPatient(
            patient_id=pid,
            screening=screening,
            demographics=demo,
            arm=arm,
            allocation_date=None if self.clinic else infusion_dates[0],
            infusions=tuple(infusions),
            assessments=tuple(ratings),
            follow_up=follow_up,
            withdrawal=withdrawal,
            adverse_events=tuple(adverse),
            responder=responder and not withdrawn,
            loss_of_response_day=lost,
            censored_day=censored,
        )

    def follow_up(
        self,
        baseline: int,
        week2: int,
        profile: FloatArray,
        primary: dt.date,
        visits: list[tuple[int, int, int]],
        loss_day: float | None,
        censor_day: int | None,
        responsiveness: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
    ) -> tuple[tuple[FollowUpVisit, ...], int | None, int | None]:
        """Visits until loss of response (§8) or the end of follow-up (censoring)."""
        rng = self.rng
        cut = self.max_responder_total(baseline)
        last_hi = visits[-1][2] if visits else 180
        end = round(loss_day) if loss_day is not None else int(censor_day or last_hi)
        end = max(1, end)
        is_loss = loss_day is not None and end <= last_hi
        if not is_loss:
            end = min(end, last_hi)
        plan: list[tuple[int, bool]] = []  # (day, scheduled)
        for target, lo, hi in visits:
            if lo <= end <= hi:
                plan.append((end, True))
                break
            if hi < end:
                jitter = int(rng.integers(-1, 2))
                plan.append((int(np.clip(target + jitter, lo, min(hi, end - 1))), True))
                continue
            plan.append((end, False))
            break
        else:
            if not plan or plan[-1][0] != end:
                plan.append((end, False))
        out: list[FollowUpVisit] = []
        for number, (day, scheduled) in enumerate(plan, start=1):
            final = number == len(plan)
            if final and is_loss:
                total = int(min(80, max(cut + 1, cut + 1 + abs(rng.normal(0.0, 4.0)))))
            else:
                drift = day / max(end, 1) if is_loss else 0.5 * float(rng.uniform())
                total = int(
                    np.clip(round(week2 + (cut - week2) * drift + rng.normal(0, 1.5)), 0, cut)
                )
            reduction = (baseline - total) / baseline
            date = primary + dt.timedelta(days=day)
            out.append(
                FollowUpVisit(
                    number=number,
                    day=day,
                    date=date,
                    caps5=Rating(
                        "caps5_past_week",
                        f"follow_up_{number}",
                        date,
                        _caps5_items(rng, total, profile, reduction, responsiveness=responsiveness),
                    ),
                    still_responding=not (final and is_loss),
                    unscheduled=not scheduled,
                    end_of_follow_up=final and not is_loss,
                )
            )
        if is_loss:
            return tuple(out), end, None
        return tuple(out), None, end

    # -- screen failures --------------------------------------------------------------------

    def eligible_facts(self, demo: Demographics, caps_total: int) -> dict[str, Any]:
        if self.clinic:
            return {
                "age_years": demo.age_years,
                "chronic_ptsd_diagnosis": True,
                "adequate_trauma_focused_psychotherapy_trials": int(self.rng.integers(1, 4)),
                "adequate_ssri_snri_trials": int(self.rng.integers(2, 5)),
                "setting_continuous_monitoring": True,
                "consent_off_label_use": True,
                "consent_expected_dissociation": True,
                "consent_post_infusion_monitoring": True,
                "consent_limited_durability_maintenance": True,
                "maintenance_plan_documented": True,
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
                "safety_plan_documented": False,
            }
        return {
            "age_years": demo.age_years,
            "primary_chronic_ptsd_scid5": True,
            "ptsd_duration_months": round(demo.ptsd_duration_years * 12, 1),
            "caps5_past_month_total": caps_total,
            "independent_capacity_confirmed": True,
            "written_informed_consent": True,
            "serious_unstable_medical_illness": False,
            "active_suicidal_or_homicidal_ideation": False,
            "lifetime_psychotic_or_bipolar_disorder": False,
            "current_anorexia_or_bulimia": False,
            "substance_use_disorder_past_3_months": False,
            "recreational_ketamine_pcp_uses_lifetime": int(self.rng.choice((0, 0, 0, 1))),
            "recreational_ketamine_pcp_use_past_2_years": False,
            "current_long_acting_benzodiazepine": False,
            "current_opioid": False,
            "psychotropic_dose_changed_past_3_months": False,
        }

    def screening_record(
        self,
        demo: Demographics,
        caps_total: int,
        date: dt.date,
        disposition: str,
        reason: str | None = None,
        consent_date: dt.date | None = None,
    ) -> ScreeningRecord:
        facts = self.eligible_facts(demo, caps_total)
        if disposition == "declined":
            key = "consent_off_label_use" if self.clinic else "written_informed_consent"
            facts[key] = False
        elif reason is not None:
            if self.clinic:
                if reason == "ssri_snri_trials":
                    facts["adequate_ssri_snri_trials"] = 1
                elif reason == "trauma_focused_psychotherapy":
                    facts["adequate_trauma_focused_psychotherapy_trials"] = 0
                else:
                    facts[reason] = True
            elif reason != "caps5_severity":
                facts[_RCT_FAILING_FACT[reason]] = True
        profile = self.rng.gamma(4.0, 0.25, 20)
        items = _caps5_past_month(self.rng, caps_total, profile, demo.ptsd_duration_years * 12)
        return ScreeningRecord(
            screening_date=date,
            facts=facts,
            caps5_past_month=Rating("caps5_past_month", "screening", date, items),
            disposition=disposition,
            ineligible_reasons=(reason,) if reason else (),
            consent_date=consent_date,
        )

    def failure_demographics(self) -> Demographics:
        rng = self.rng
        female = bool(rng.uniform() < 0.75)
        height = float(np.clip(rng.normal(163.0 if female else 177.0, 7.0), 145, 200))
        bmi = round(float(np.clip(rng.normal(26.0, 5.3), 17, 45)), 1)
        return Demographics(
            age_years=int(np.clip(round(rng.normal(39.0, 13.0)), 18, 70)),
            sex="female" if female else "male",
            race=str(rng.choice(["Black", "Asian", "White", "Other"], p=(0.17, 0.17, 0.53, 0.13))),
            hispanic=bool(rng.uniform() < 0.1),
            height_cm=round(height, 1),
            weight_kg=round(bmi * (height / 100) ** 2, 1),
            bmi_kg_m2=bmi,
            ptsd_duration_years=round(float(rng.gamma(2.0, 7.0)) + 0.3, 1),
            comorbid_mdd=bool(rng.uniform() < 0.7),
            concomitant_psychotherapy=bool(rng.uniform() < 0.55),
            stable_psychotropics=bool(rng.uniform() < 0.45),
            primary_trauma=str(rng.choice(["sexual assault", "physical assault", "combat"])),
        )

    # -- durability -------------------------------------------------------------------------

    def loss_days(self, n_losers: int, censored_share: float) -> list[float]:
        """Stratified draws from a normal whose quantiles put the Kaplan–Meier quartiles (with
        the censored responders above every event) at the configured values."""
        q25, _, q75 = self.config.loss_quartiles_days
        scale = 1.0 / max(1.0 - censored_share, 1e-6)
        p25, p75 = min(0.25 * scale, 0.98), min(0.75 * scale, 0.99)
        z25, z75 = stats.norm.ppf(p25), stats.norm.ppf(p75)
        sd = (q75 - q25) / (z75 - z25)
        mean = q25 - z25 * sd
        u = (self.rng.permutation(n_losers) + self.rng.uniform(size=n_losers)) / max(n_losers, 1)
        return [float(max(3.0, mean + sd * stats.norm.ppf(x))) for x in u]

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
            sequence, block_sizes = _given_sequence(cfg, n, self.arms)
        else:
            sequence, block_sizes = _block_sequence(rng, n, self.arms)
        # Screening order: treated patients in enrolment order, failures interleaved at random.
        n_screened = n_treated + n_inel + n_decl
        kinds = ["treated"] * n_treated + ["ineligible"] * n_inel + ["declined"] * n_decl
        order = [kinds[j] for j in rng.permutation(n_screened)]
        reasons_table = _CLINIC_INELIGIBLE_REASONS if self.clinic else _RCT_INELIGIBLE_REASONS
        reasons = _exact_labels(
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
                first = _next_weekday(date + dt.timedelta(days=14), 0)
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
