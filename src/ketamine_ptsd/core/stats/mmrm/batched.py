"""The MMRM of PROTOCOL.md §9 fitted by REML to thousands of trials at once: the batched path of
the one engine.

Model: ``outcome ~ group * time`` (one mean per arm and time, SAS's cell means) plus, for the
registry fit, numeric covariates; repeated measures within patient with compound-symmetry (CS)
or unstructured (UN) covariance, REML, denominator df by SAS's between-within method, Type 3 F
tests, LS means and the arm difference ``arms[0] − arms[1]`` at each time with SE, df, t and p —
the numbers the one-analysis path (``model.analyse_arrays``) and SAS PROC MIXED give for each
trial. Every array carries a leading trial axis.

One engine:

* CS: the trials' sums per subject size (``cs_profile.ProfileSums``, cell-means X) go through
  the same profiled criterion and Newton iteration as a single analysis
  (``cs_profile.fit_profile``), all trials in the same array operations.
* UN: ``batched_un`` (sums per missingness pattern).
* Inference: the Type 3 hypotheses, the LS-mean and difference rows and the between-within df
  rule are the one-analysis layout's (``layout.get_layout`` on a template of the design,
  ``ddf.between_within``), carried to the cell-means coordinates of this path: with R the
  layout's rows of the cells (its LS-mean rows), X_layout = X_cells·R, so a hypothesis L on the
  layout's coefficients is L·R⁻¹ on the cell means.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from ketamine_ptsd.core.errors import InvalidInput

from .batched_un import UNStatistics, fit_un, un_start, un_statistics
from .cs_profile import ProfileSums, fit_profile
from .layout import get_layout

__all__ = [
    "BatchedMMRMResult",
    "CellContrasts",
    "batched_inference",
    "cell_contrasts",
    "cell_profile_sums",
    "fit_batched_mmrm",
    "fit_cs_from_sums",
    "fit_un_from_statistics",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BatchedMMRMResult:
    """Per-trial MMRM results; every array's first axis is the trial.

    ``lsmeans[b, a, t]`` (at the covariates' means) with ``lsmeans_se``; ``diff*[b, t]`` is
    ``arm 0 − arm 1`` at time t; ``type3_*`` hold F, p, numerator and denominator df for
    ``group``, ``time``, ``group:time`` (and each covariate); ``beta_covariance[b]`` is the
    covariance of the cell means (then the covariate coefficients); for CS
    ``between``/``within`` are σ²_subject and σ²_residual (SAS's "CS" and "Residual"), and
    ``covariance[b]`` is Σ. ``covariate_coef[b, c]`` the covariates' coefficients.
    """

    structure: str
    n_subjects: IntArray
    n_observations: IntArray
    reml_loglik: FloatArray
    converged: BoolArray
    iterations: int
    lsmeans: FloatArray
    lsmeans_se: FloatArray
    beta_covariance: FloatArray
    diff: FloatArray
    diff_se: FloatArray
    diff_df: FloatArray
    diff_t: FloatArray
    diff_p: FloatArray
    type3_f: dict[str, FloatArray]
    type3_p: dict[str, FloatArray]
    type3_num_df: dict[str, int]
    type3_den_df: dict[str, FloatArray]
    covariance: FloatArray
    between: FloatArray | None = None
    within: FloatArray | None = None
    covariate_coef: FloatArray | None = None

    @property
    def n_trials(self) -> int:
        return int(self.reml_loglik.shape[0])

    def trial_summary(self, b: int) -> dict[str, object]:
        """One trial's results as plain values (for a single-trial comparison or a report)."""
        n_arms, n_times = self.lsmeans.shape[1:]
        return {
            "reml_loglik": float(self.reml_loglik[b]),
            "lsmeans": self.lsmeans[b].tolist(),
            "lsmeans_se": self.lsmeans_se[b].tolist(),
            "diff": self.diff[b].tolist(),
            "diff_se": self.diff_se[b].tolist(),
            "diff_df": float(self.diff_df[b]),
            "diff_p": self.diff_p[b].tolist(),
            "type3": {
                k: (float(self.type3_f[k][b]), float(self.type3_p[k][b])) for k in self.type3_f
            },
            "covariance": self.covariance[b].tolist(),
            "shape": (n_arms, n_times),
        }


# --------------------------------------------------------------------------------------------
# Contrasts from the one-analysis layout
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CellContrasts:
    """The layout's inference rows in cell-means coordinates (β flattened as arm-major
    (arm, time)): Type 3 L per term, and the between-within column counts of the design
    (``between_cols`` includes the intercept; df_b = S − between_cols,
    df_w = N − S − within_cols), with whether each term gets the within df."""

    type3: dict[str, FloatArray]
    term_within: dict[str, bool]
    between_cols: int
    within_cols: int


@functools.lru_cache(maxsize=32)
def cell_contrasts(n_arms: int, n_times: int, covariance: str = "cs") -> CellContrasts:
    """:class:`CellContrasts` for ``n_arms`` × ``n_times`` cells, from ``layout.get_layout``
    on a template data set (two subjects per arm, every visit observed)."""
    subject = np.repeat(np.arange(2 * n_arms), n_times).astype(np.intp)
    group = np.repeat(np.arange(2 * n_arms) % n_arms, n_times).astype(np.intp)
    time = np.tile(np.arange(n_times), 2 * n_arms).astype(np.intp)
    layout = get_layout(
        subject,
        group,
        time,
        tuple(f"g{a}" for a in range(n_arms)),
        tuple(f"t{t}" for t in range(n_times)),
        (),
        covariance,
    )
    p = layout.n_fixed
    cells = layout.l_all[p : p + layout.n_lsmeans]  # R: the cells' rows, arm-major
    r_inv = np.linalg.inv(cells)
    design = layout.design
    n_subj, n_obs = layout.n_subjects, layout.n_obs
    bw = layout.bw
    return CellContrasts(
        type3={t.name: design.type3_l[t.name] @ r_inv for t in design.terms},
        term_within=dict(bw.term_is_within),
        between_cols=round(n_subj - bw.between_df),
        within_cols=round(n_obs - n_subj - bw.within_df),
    )


def _f_test(
    beta: FloatArray, cov: FloatArray, contrast: FloatArray, den_df: FloatArray
) -> tuple[FloatArray, FloatArray]:
    lb = beta @ contrast.T  # [B, q]
    lcl = np.einsum("qi,bij,rj->bqr", contrast, cov, contrast)
    num = contrast.shape[0]
    f = np.einsum("bq,bq->b", lb, np.linalg.solve(lcl, lb[..., None])[..., 0]) / num
    return f, np.asarray(special.fdtrc(num, den_df, f))


def batched_inference(
    structure: str,
    beta: FloatArray,
    cov: FloatArray,
    n_arms: int,
    n_times: int,
    n_subjects: FloatArray,
    n_obs: FloatArray,
    covariate_means: FloatArray | None = None,
    covariate_names: tuple[str, ...] = (),
    covariate_within: tuple[bool, ...] = (),
) -> dict[str, object]:
    """LS means, differences and Type 3 tests per trial from β̂ (B, p) and its covariance
    (B, p, p), p = arms × times cell means followed by the covariates' coefficients."""
    nb = beta.shape[0]
    n_cells = n_arms * n_times
    con = cell_contrasts(n_arms, n_times, structure if structure == "un" else "cs")
    n_within_cov = sum(covariate_within)
    between_df = n_subjects - con.between_cols - (len(covariate_names) - n_within_cov)
    within_df = n_obs - n_subjects - con.within_cols - n_within_cov
    if n_times == 1 or structure == "un":
        # SAS's rule for REPEATED / TYPE=UN: every effect gets the between df (ddf.py)
        within_df = between_df
    # LS means at the covariates' means: cell + Σ_c β_c x̄_c
    ls_rows = np.zeros((n_cells, beta.shape[1]))
    ls_rows[:, :n_cells] = np.eye(n_cells)
    if covariate_means is not None and covariate_means.size:
        ls_rows[:, n_cells:] = covariate_means
    lsm = (beta @ ls_rows.T).reshape(nb, n_arms, n_times)
    ls_var = np.einsum("qi,bij,qj->bq", ls_rows, cov, ls_rows)
    d_rows = ls_rows[:n_times] - ls_rows[n_times : 2 * n_times]
    diff = beta @ d_rows.T
    diff_se = np.sqrt(np.einsum("qi,bij,qj->bq", d_rows, cov, d_rows))
    diff_df = within_df if n_times > 1 else between_df
    diff_t = diff / diff_se
    diff_p = 2.0 * special.stdtr(diff_df[:, None], -np.abs(diff_t))
    pad = beta.shape[1] - n_cells
    f_stats: dict[str, FloatArray] = {}
    p_vals: dict[str, FloatArray] = {}
    num_df: dict[str, int] = {}
    den_df: dict[str, FloatArray] = {}
    tests = [
        (name, lmat if pad == 0 else np.pad(lmat, ((0, 0), (0, pad))))
        for name, lmat in con.type3.items()
        if lmat.shape[0] > 0  # one visit: time and group:time have no hypothesis
    ]
    tests += [
        (name, np.eye(beta.shape[1])[n_cells + c][None]) for c, name in enumerate(covariate_names)
    ]
    within_term = dict(con.term_within) | dict(zip(covariate_names, covariate_within, strict=True))
    for name, lmat in tests:
        den = within_df if within_term[name] else between_df
        f_stats[name], p_vals[name] = _f_test(beta, cov, lmat, den)
        num_df[name] = lmat.shape[0]
        den_df[name] = np.asarray(den, dtype=np.float64)
    return {
        "lsmeans": lsm,
        "lsmeans_se": np.sqrt(ls_var).reshape(nb, n_arms, n_times),
        "beta_covariance": cov,
        "diff": diff,
        "diff_se": diff_se,
        "diff_df": np.asarray(diff_df, dtype=np.float64),
        "diff_t": diff_t,
        "diff_p": np.asarray(diff_p),
        "type3_f": f_stats,
        "type3_p": p_vals,
        "type3_num_df": num_df,
        "type3_den_df": den_df,
    }


# --------------------------------------------------------------------------------------------
# CS: sums of the cell-means design, the one profile
# --------------------------------------------------------------------------------------------
def cell_profile_sums(
    outcome: FloatArray, observed: BoolArray, arm: IntArray, n_arms: int
) -> ProfileSums:
    """``cs_profile.ProfileSums`` of ``outcome ~ group*time`` (cell-means X, p = arms × times,
    arm-major) for every trial of ``outcome[trial, subject, visit]``, kept for the subject
    sizes k = 1..T. x̄_s is the indicator of subject s's observed cells, so m_k is block
    diagonal by arm: per (arm, k) the sums Σ m mᵀ, Σ m·ȳ, Σ ȳ² over the mask m."""
    nb, ns, nt = outcome.shape
    m = observed.astype(np.float64)
    yz = np.where(observed, outcome, 0.0)
    n_i = m.sum(axis=2)  # [B, N]
    s_i = yz.sum(axis=2)
    arm_onehot = np.eye(n_arms)[arm]  # [N, A]
    k_onehot = n_i[:, :, None] == np.arange(1, nt + 1)  # [B, N, K]
    # e[b, n, (a, k)]: subject n is in arm a with k observed visits
    e = (arm_onehot[None, :, :, None] * k_onehot[:, :, None, :]).reshape(nb, ns, n_arms * nt)
    et = e.transpose(0, 2, 1)
    outer = (m[:, :, :, None] * m[:, :, None, :]).reshape(nb, ns, nt * nt)
    mo = np.matmul(et, outer).reshape(nb, n_arms, nt, nt, nt)  # [B, A, K, T, T]
    ms = np.matmul(et, m * s_i[:, :, None]).reshape(nb, n_arms, nt, nt)  # [B, A, K, T]
    ss = np.matmul(et, (s_i * s_i)[:, :, None]).reshape(nb, n_arms, nt)
    count = e.sum(axis=1).reshape(nb, n_arms, nt)
    p = n_arms * nt
    big = np.zeros((nb, nt, n_arms, nt, n_arms, nt))
    for a in range(n_arms):
        big[:, :, a, :, a, :] = mo[:, a]
    visit_count = np.matmul(arm_onehot.T, m).reshape(nb, p)
    n_obs = visit_count.sum(axis=1)
    n_subj = count.sum(axis=(1, 2))
    con = cell_contrasts(n_arms, nt)
    xtx = np.zeros((nb, p, p))
    xtx[:, np.arange(p), np.arange(p)] = visit_count
    return ProfileSums(
        k_values=np.arange(1.0, nt + 1.0),
        n_k=count.sum(axis=1),
        m=big.reshape(nb, nt, p, p),
        v=ms.transpose(0, 2, 1, 3).reshape(nb, nt, p),
        w=ss.sum(axis=1),
        xtx=xtx,
        xty=np.matmul(arm_onehot.T, yz).reshape(nb, p),
        yty=(yz * yz).sum(axis=(1, 2)),
        n=n_obs,
        anova_df=np.stack((n_subj - con.between_cols, n_obs - n_subj - con.within_cols), axis=1),
        blocks=(nt,) * n_arms,
    )


def fit_cs_from_sums(
    sums: ProfileSums,
    n_arms: int,
    n_times: int,
    covariate_names: tuple[str, ...] = (),
    covariate_means: FloatArray | None = None,
    covariate_within: tuple[bool, ...] = (),
) -> BatchedMMRMResult:
    """CS REML fit and inference from profile sums of the cell-means design (then the
    covariates' columns), possibly added over partitions (``simulation.registry``)."""
    fit = fit_profile(sums, reml=True)
    cov = fit.sigma2[:, None, None] * fit.a_inv
    inf = batched_inference(
        "cs",
        fit.beta,
        cov,
        n_arms,
        n_times,
        sums.n_k.sum(axis=1),
        sums.n,
        covariate_means,
        covariate_names,
        covariate_within,
    )
    between = fit.between
    sigma = between[:, None, None] + fit.sigma2[:, None, None] * np.eye(n_times)
    n_cells = n_arms * n_times
    return BatchedMMRMResult(
        structure="cs",
        n_subjects=np.rint(sums.n_k.sum(axis=1)).astype(np.int64),
        n_observations=np.rint(sums.n).astype(np.int64),
        reml_loglik=-0.5 * fit.m2,
        converged=np.isfinite(fit.m2) & ~fit.at_bound,
        iterations=int(fit.evaluations.max()),
        covariance=sigma,
        between=between,
        within=fit.sigma2,
        covariate_coef=fit.beta[:, n_cells:] if covariate_names else None,
        **inf,  # type: ignore[arg-type]
    )


def fit_un_from_statistics(
    st: UNStatistics, start: FloatArray, n_arms: int, n_times: int, n_subjects: FloatArray
) -> BatchedMMRMResult:
    """UN REML fit and inference from ``batched_un.UNStatistics`` and a starting Σ."""
    sigma, ev, converged, iterations = fit_un(st, start)
    nb = sigma.shape[0]
    p = n_arms * n_times
    cov = np.zeros((nb, p, p))
    for a in range(n_arms):
        sl = slice(a * n_times, (a + 1) * n_times)
        cov[:, sl, sl] = ev.a_inv[:, a]
    n_obs = np.einsum("bap,p->b", st.count, st.patterns.sum(axis=1))
    inf = batched_inference("un", ev.beta.reshape(nb, p), cov, n_arms, n_times, n_subjects, n_obs)
    return BatchedMMRMResult(
        structure="un",
        n_subjects=np.rint(n_subjects).astype(np.int64),
        n_observations=np.rint(n_obs).astype(np.int64),
        reml_loglik=-0.5 * ev.f,
        converged=converged,
        iterations=iterations,
        covariance=sigma,
        **inf,  # type: ignore[arg-type]
    )


def _check_inputs(outcome: FloatArray, observed: BoolArray, arm: IntArray, n_arms: int) -> None:
    if outcome.ndim != 3 or observed.shape != outcome.shape:
        raise InvalidInput("outcome", "needs [trials, subjects, visits] with a matching mask")
    if arm.shape != (outcome.shape[1],):
        raise InvalidInput("arm", "needs one arm index per subject", arm.shape)
    if n_arms < 2 or arm.min() < 0 or arm.max() >= n_arms:
        raise InvalidInput("arm", f"indices must lie in 0..{n_arms - 1} with two arms or more")
    cells = np.matmul(np.eye(n_arms)[arm].T, observed.astype(np.float64))
    if (cells == 0).any():
        raise InvalidInput("observed", "every arm needs an observation at every time")


def fit_batched_mmrm(
    outcome: FloatArray,
    observed: BoolArray,
    arm: IntArray,
    n_arms: int = 2,
    covariance: str = "cs",
) -> BatchedMMRMResult:
    """Fit ``outcome ~ group*time`` by REML to every trial in ``outcome[trial, subject, visit]``.

    ``observed`` marks the observed visits (any pattern; dropout need not be monotone), ``arm``
    gives each subject's arm index (0 = the first arm of the reported difference).
    ``covariance`` is ``"cs"`` or ``"un"``. Trials whose REML iteration did not converge are
    flagged in ``converged``.
    """
    arm = np.asarray(arm, dtype=np.int64)
    if covariance not in ("cs", "un"):
        raise InvalidInput("covariance", "must be cs or un", covariance)
    _check_inputs(outcome, observed, arm, n_arms)
    n_times = outcome.shape[2]
    if covariance == "cs":
        return fit_cs_from_sums(cell_profile_sums(outcome, observed, arm, n_arms), n_arms, n_times)
    n_subjects = observed.any(axis=2).sum(axis=1).astype(np.float64)
    return fit_un_from_statistics(
        un_statistics(outcome, observed, arm, n_arms),
        un_start(outcome, observed, arm, n_arms),
        n_arms,
        n_times,
        n_subjects,
    )
