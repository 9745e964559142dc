"""Monte Carlo power, type I error and sample-size search for a :class:`TrialDesign`.

Trials are simulated and analysed in fixed chunks of :data:`CHUNK_TRIALS`; chunk ``c`` draws from
the ``c``-th child of the injected generator (``Generator.spawn``), so a seed gives the same
answer whatever the progress reporting or the number of worker threads. Each chunk is analysed
by the batched MMRM (``core.stats.mmrm.batched``) and/or the responder chi-square.

Power is the proportion of trials whose two-sided test rejects at ``design.alpha``; its
Monte Carlo uncertainty is the exact Clopper–Pearson interval (Clopper & Pearson 1934). Under
:meth:`TrialDesign.null` the same proportion is the type I error.

The responder analysis follows PROTOCOL.md §8–§9: a responder is a patient whose outcome at the
primary time is ≥ 30 % below baseline; a patient who dropped out before it is a non-responder
(intent to treat); arms are compared by the Yates-corrected chi-square the paper reported
(4.89 for 10/15 vs 3/15), computed as R's ``chisq.test`` does (correction min(½, |O − E|)).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm.batched import BatchedMMRMResult, fit_batched_mmrm
from ketamine_ptsd.simulation.design import TrialDesign
from ketamine_ptsd.simulation.generate import SimulatedTrials, generate_trials

__all__ = [
    "CHUNK_TRIALS",
    "PowerResult",
    "SampleSizeResult",
    "TrialOutcomes",
    "analyse_trials",
    "clopper_pearson",
    "responder_test",
    "sample_size_search",
    "simulate_power",
]

CHUNK_TRIALS = 2000
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Progress = Callable[[int], None]


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval for a Monte Carlo proportion."""
    a = (1.0 - level) / 2.0
    low = 0.0 if successes == 0 else float(stats.beta.ppf(a, successes, trials - successes + 1))
    high = (
        1.0 if successes == trials else float(stats.beta.isf(a, successes + 1, trials - successes))
    )
    return low, high


def responder_test(
    trials: SimulatedTrials, design: TrialDesign
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Responder rates per arm ``[B, 2]`` and the Yates chi-square with its p-value ``[B]``."""
    p_idx = design.primary_index
    base = trials.outcome[:, :, 0]
    final = trials.outcome[:, :, p_idx]
    seen = trials.observed[:, :, p_idx]
    with np.errstate(invalid="ignore"):
        responder = seen & (final <= (1.0 - design.responder_reduction) * base)
    onehot = np.eye(design.n_arms)[trials.arm][:, :2]
    resp = responder.astype(np.float64) @ onehot  # [B, 2]
    n_arm = onehot.sum(axis=0)[None, :]
    non = n_arm - resp
    total = float(n_arm.sum())
    col_resp = resp.sum(axis=1)
    col_non = non.sum(axis=1)
    col = np.stack([col_resp, col_non], axis=-1)  # [B, responder/non-responder]
    expected = n_arm[0][None, :, None] * col[:, None, :] / total  # [B, arm, responder/non]
    observed = np.stack([resp, non], axis=-1)
    dev = np.abs(observed - expected)[:, 0, 0]
    corr = np.minimum(0.5, dev)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = ((dev - corr)[:, None, None] ** 2 / expected).sum(axis=(1, 2))
    degenerate = (col_resp == 0) | (col_non == 0)
    chi2 = np.where(degenerate, 0.0, chi2)
    p = np.where(degenerate, 1.0, special.chdtrc(1, chi2))
    return resp / n_arm, chi2, np.asarray(p)


@dataclass(frozen=True)
class TrialOutcomes:
    """Per-trial analysis results kept for summarising (one entry per simulated trial)."""

    estimate: FloatArray
    se: FloatArray
    df: FloatArray
    p_mmrm: FloatArray
    p_interaction: FloatArray
    p_responders: FloatArray
    responder_rates: FloatArray
    converged: BoolArray

    @staticmethod
    def concatenate(parts: list[TrialOutcomes]) -> TrialOutcomes:
        names = TrialOutcomes.__dataclass_fields__
        return TrialOutcomes(*(np.concatenate([getattr(p, n) for p in parts]) for n in names))


def analyse_trials(trials: SimulatedTrials, design: TrialDesign) -> TrialOutcomes:
    """Run the design's analyses on a batch of simulated trials."""
    n_b = trials.n_trials
    nan = np.full(n_b, np.nan)
    est = se = df = p_mmrm = p_int = nan
    converged = np.ones(n_b, dtype=bool)
    if design.analysis in ("mmrm", "both"):
        fit: BatchedMMRMResult = fit_batched_mmrm(
            trials.outcome, trials.observed, trials.arm, design.n_arms, design.fit_covariance
        )
        t = design.primary_index
        est, se = fit.diff[:, t], fit.diff_se[:, t]
        df, p_mmrm = fit.diff_df, fit.diff_p[:, t]
        p_int = fit.type3_p.get("group:time", nan)
        converged = fit.converged
    rates = np.full((n_b, 2), np.nan)
    p_resp = nan
    if design.analysis in ("responders", "both"):
        rates, _, p_resp = responder_test(trials, design)
    return TrialOutcomes(est, se, df, p_mmrm, p_int, p_resp, rates, converged)


@dataclass(frozen=True)
class PowerResult:
    """Power (or type I error) of a design with its Monte Carlo CI and estimate distribution."""

    design: TrialDesign
    trials: int
    rejections: int
    power: float
    power_ci_low: float
    power_ci_high: float
    null: bool
    true_difference: float
    power_mmrm: float | None
    power_responders: float | None
    power_interaction: float | None
    mean_estimate: float | None
    sd_estimate: float | None
    mean_se: float | None
    estimate_quantiles: dict[str, float] = field(default_factory=dict)
    coverage_95: float | None = None
    responder_rates: tuple[float, float] | None = None
    non_converged: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (the ``simulate power --json`` keys)."""
        d = self.design
        out: dict[str, object] = {
            "design": d.name,
            "trials": self.trials,
            "rejections": self.rejections,
            "power": self.power,
            "power_ci_low": self.power_ci_low,
            "power_ci_high": self.power_ci_high,
            "power_ci_method": "clopper-pearson 95%",
            "null": self.null,
            "n_per_arm": d.n_per_arm,
            "arms": list(d.arms),
            "times": list(d.times),
            "primary_time": d.times[d.primary_index],
            "analysis": d.analysis,
            "covariance": d.fit_covariance,
            "alpha": d.alpha,
            "dropout_hazard": list(d.dropout_hazard),
            "true_difference": self.true_difference,
            "power_mmrm": self.power_mmrm,
            "power_interaction": self.power_interaction,
            "power_responders": self.power_responders,
            "mean_estimate": self.mean_estimate,
            "sd_estimate": self.sd_estimate,
            "mean_se": self.mean_se,
            "estimate_quantiles": self.estimate_quantiles,
            "coverage_95": self.coverage_95,
            "responder_rates": list(self.responder_rates) if self.responder_rates else None,
            "non_converged": self.non_converged,
        }
        if self.null:
            out["type1"] = self.power
        return out


def _rejects(o: TrialOutcomes, design: TrialDesign) -> BoolArray:
    if design.analysis == "mmrm":
        return o.p_mmrm < design.alpha
    if design.analysis == "responders":
        return o.p_responders < design.alpha
    return (o.p_mmrm < design.alpha) & (o.p_responders < design.alpha)


def _run_chunks(
    design: TrialDesign,
    n_trials: int,
    rng: np.random.Generator,
    work: Callable[[SimulatedTrials], TrialOutcomes],
    n_per_arm_generated: int | None,
    progress: Progress | None,
    workers: int,
) -> TrialOutcomes:
    sizes = [CHUNK_TRIALS] * (n_trials // CHUNK_TRIALS)
    if n_trials % CHUNK_TRIALS:
        sizes.append(n_trials % CHUNK_TRIALS)
    children = rng.spawn(len(sizes))
    gen_design = (
        design if n_per_arm_generated is None else design.replace(n_per_arm=n_per_arm_generated)
    )

    def one(i: int) -> TrialOutcomes:
        out = work(generate_trials(gen_design, sizes[i], children[i]))
        if progress is not None:
            progress(sizes[i])
        return out

    if workers <= 1 or len(sizes) == 1:
        parts = [one(i) for i in range(len(sizes))]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(one, range(len(sizes))))
    return TrialOutcomes.concatenate(parts)


def _summarise(design: TrialDesign, o: TrialOutcomes, null: bool) -> PowerResult:
    n = o.estimate.shape[0]
    rej = _rejects(o, design)
    k = int(rej.sum())
    low, high = clopper_pearson(k, n)
    has_mmrm = design.analysis in ("mmrm", "both")
    has_resp = design.analysis in ("responders", "both")
    truth = design.true_difference()
    quant: dict[str, float] = {}
    cover = None
    if has_mmrm:
        q = np.quantile(o.estimate, [0.025, 0.25, 0.5, 0.75, 0.975])
        quant = {
            k_: float(v) for k_, v in zip(("q025", "q25", "q50", "q75", "q975"), q, strict=True)
        }
        half = special.stdtrit(o.df, 0.975) * o.se
        cover = float(np.mean(np.abs(o.estimate - truth) <= half))
    return PowerResult(
        design=design,
        trials=n,
        rejections=k,
        power=k / n,
        power_ci_low=low,
        power_ci_high=high,
        null=null,
        true_difference=truth,
        power_mmrm=float(np.mean(o.p_mmrm < design.alpha)) if has_mmrm else None,
        power_responders=float(np.mean(o.p_responders < design.alpha)) if has_resp else None,
        power_interaction=(
            float(np.mean(o.p_interaction < design.alpha))
            if has_mmrm and design.n_times > 1
            else None
        ),
        mean_estimate=float(o.estimate.mean()) if has_mmrm else None,
        sd_estimate=float(o.estimate.std(ddof=1)) if has_mmrm and n > 1 else None,
        mean_se=float(o.se.mean()) if has_mmrm else None,
        estimate_quantiles=quant,
        coverage_95=cover,
        responder_rates=(
            (float(np.mean(o.responder_rates[:, 0])), float(np.mean(o.responder_rates[:, 1])))
            if has_resp
            else None
        ),
        non_converged=int((~o.converged).sum()),
    )


def simulate_power(
    design: TrialDesign,
    n_trials: int,
    rng: np.random.Generator,
    *,
    null: bool = False,
    progress: Progress | None = None,
    workers: int = 1,
) -> PowerResult:
    """Simulate ``n_trials`` trials of ``design`` (or of its null version) and estimate power.

    ``progress`` is called with the number of trials finished after each chunk (for a progress
    bar); ``workers`` analyses chunks on that many threads (numpy releases the GIL in its
    array kernels, so two threads use two cores).
    """
    if n_trials < 1:
        raise InvalidInput("trials", "must be at least 1", n_trials)
    run_design = design.null() if null else design
    o = _run_chunks(
        run_design, n_trials, rng, lambda t: analyse_trials(t, run_design), None, progress, workers
    )
    return _summarise(run_design, o, null)


@dataclass(frozen=True)
class SampleSizeResult:
    """Smallest n per arm whose simulated power reaches the target (common random numbers)."""

    target_power: float
    n_per_arm: int
    power: float
    power_ci_low: float
    power_ci_high: float
    trials: int
    n_arms: int
    evaluated: dict[int, float]

    def to_dict(self) -> dict[str, object]:
        return {
            "target_power": self.target_power,
            "n_per_arm": self.n_per_arm,
            "n_total": self.n_per_arm * self.n_arms,
            "power": self.power,
            "power_ci_low": self.power_ci_low,
            "power_ci_high": self.power_ci_high,
            "trials": self.trials,
            "evaluated": [{"n_per_arm": n, "power": p} for n, p in sorted(self.evaluated.items())],
        }


def sample_size_search(
    design: TrialDesign,
    target_power: float,
    n_trials: int,
    rng: np.random.Generator,
    *,
    n_min: int = 4,
    n_max: int = 200,
    progress: Progress | None = None,
) -> SampleSizeResult:
    """Bisection over n per arm to the smallest n with simulated power ≥ ``target_power``.

    All candidate sizes analyse the same simulated patients: each trial is generated once with
    ``n_max`` patients per arm and a candidate n keeps the first n enrolled per arm (common
    random numbers), so the power curve is smooth in n and the bisection does not chase noise.
    Power at one n is evaluated once and cached; the search needs about log2(n_max − n_min)
    evaluations.
    """
    if not 0.0 < target_power < 1.0:
        raise InvalidInput("target_power", "must lie strictly between 0 and 1", target_power)
    if not 2 <= n_min < n_max:
        raise InvalidInput("n_max", "needs 2 ≤ n_min < n_max", (n_min, n_max))
    sizes = [CHUNK_TRIALS] * (n_trials // CHUNK_TRIALS)
    if n_trials % CHUNK_TRIALS:
        sizes.append(n_trials % CHUNK_TRIALS)
    children = rng.spawn(len(sizes))
    full = design.replace(n_per_arm=n_max)
    batches = [generate_trials(full, s, c) for s, c in zip(sizes, children, strict=True)]
    rejections: dict[int, int] = {}

    def power_at(n: int) -> float:
        if n not in rejections:
            d = design.replace(n_per_arm=n)
            total = 0
            for batch in batches:
                total += int(_rejects(analyse_trials(batch.first_per_arm(n), d), d).sum())
            rejections[n] = total
            if progress is not None:
                progress(1)
        return rejections[n] / n_trials

    if power_at(n_max) < target_power:
        raise InvalidInput(
            "n_max", f"power at n_max={n_max} is {power_at(n_max):.3f}, below the target", n_max
        )
    lo, hi = n_min, n_max
    if power_at(lo) >= target_power:
        hi = lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power_at(mid) >= target_power:
            hi = mid
        else:
            lo = mid
    low, high = clopper_pearson(rejections[hi], n_trials)
    return SampleSizeResult(
        target_power=target_power,
        n_per_arm=hi,
        power=rejections[hi] / n_trials,
        power_ci_low=low,
        power_ci_high=high,
        trials=n_trials,
        n_arms=design.n_arms,
        evaluated={n: r / n_trials for n, r in rejections.items()},
    )
