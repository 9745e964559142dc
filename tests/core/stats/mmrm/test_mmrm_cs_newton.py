"""The profiled CS criterion's analytic derivatives (used by the Newton iteration in
``cs_profile.newton``) against finite differences, and the Newton optimum against the secant's,
on RCT-like data with dropout, for REML and ML."""

from __future__ import annotations

import numpy as np
import pytest

from ketamine_ptsd.core.stats.mmrm import cs_profile
from ketamine_ptsd.core.stats.mmrm.layout import get_layout


def _sums(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    subject, group, time, y = [], [], [], []
    for i in range(40):
        b = rng.normal(0.0, 6.0)
        for v in range(4):
            if v > 0 and rng.uniform() < 0.2:
                break  # monotone dropout
            subject.append(i)
            group.append(i % 2)
            time.append(v)
            y.append(40.0 - v * (6.0 if i % 2 == 0 else 2.0) + b + rng.normal(0.0, 7.0))
    layout = get_layout(
        np.array(subject, np.intp),
        np.array(group, np.intp),
        np.array(time, np.intp),
        ("a", "b"),
        ("0", "1", "2", "3"),
        (),
        "cs",
    )
    return layout.cs_y_sums(np.array(y)), -1.0 / 4.0


def _terms(gamma: float, s: cs_profile.ProfileSums, reml: bool) -> tuple[float, float, float]:
    t = cs_profile.profile_terms(np.array([gamma]), s, reml, 2)
    assert t.d1 is not None and t.d2 is not None
    return float(t.m2[0]), float(t.d1[0]), float(t.d2[0])


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_analytic_first_and_second_derivatives_match_finite_differences(
    seed: int, reml: bool
) -> None:
    """Central differences with h = 1e-5: relative tolerance 1e-6 on both derivatives."""
    s, _ = _sums(seed)
    for gamma in (0.05, 0.4, 1.7):
        m2, d1, d2 = _terms(gamma, s, reml)
        h = 1e-5
        up = _terms(gamma + h, s, reml)
        down = _terms(gamma - h, s, reml)
        assert d1 == pytest.approx((up[0] - down[0]) / (2 * h), rel=1e-6, abs=1e-6)
        assert d2 == pytest.approx((up[1] - down[1]) / (2 * h), rel=1e-6)
        value = cs_profile.profile_terms(np.array([gamma]), s, reml, 0).m2[0]
        assert m2 == pytest.approx(value, rel=1e-14)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_newton_reaches_the_secant_optimum_in_fewer_evaluations(seed: int, reml: bool) -> None:
    """Same γ̂ to 1e-9 relative and same −2l to 1e-13; at most 6 evaluations (the secant
    needs ~11)."""
    s, lower = _sums(seed)
    gamma, evals, ok = cs_profile.newton(s, reml, np.array([lower]))
    secant = cs_profile.secant(s, reml, lower)
    assert ok[0] and secant is not None
    assert gamma[0] == pytest.approx(secant[0], rel=1e-9)
    m2_newton = cs_profile.profile_terms(gamma, s, reml, 0).m2[0]
    m2_secant = cs_profile.profile_terms(np.array([secant[0]]), s, reml, 0).m2[0]
    assert m2_newton == pytest.approx(m2_secant, rel=1e-13)
    assert evals[0] + 1 <= 6 < secant[-1]


def _twice(s: cs_profile.ProfileSums) -> cs_profile.ProfileSums:
    """The same data set twice: a batch of two runs the batched kernel."""
    return cs_profile.ProfileSums(
        s.k_values,
        *(np.concatenate([a, a]) for a in (s.n_k, s.m, s.v, s.w, s.xtx, s.xty, s.yty, s.n)),
    )


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_one_data_set_kernel_equals_the_batched_kernel(seed: int, reml: bool) -> None:
    """A single analysis (B = 1) takes a kernel on Python floats; a batch the array kernel:
    the same −2l, derivatives, β̂, A⁻¹ and σ̂² to 1e-12 relative at several γ, and the same
    optimum from Newton to 1e-9 (its stopping accuracy)."""
    s, lower = _sums(seed)
    both = _twice(s)
    for gamma in (-0.1, 0.05, 0.4, 1.7):
        for order in (0, 1, 2):
            one = cs_profile.profile_terms(np.array([gamma]), s, reml, order)
            two = cs_profile.profile_terms(np.array([gamma, gamma]), both, reml, order)
            for name in ("m2", "d1", "d2", "beta", "a_inv", "sigma2"):
                a, b = getattr(one, name), getattr(two, name)
                if a is None or b is None:
                    continue
                np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-12, err_msg=name)
    g1, _, ok1 = cs_profile.newton(s, reml, np.array([lower]))
    g2, _, ok2 = cs_profile.newton(both, reml, np.array([lower, lower]))
    assert ok1[0] and ok2.all()
    # both stop within ~1e-10 of the root (the stopping rule), as Newton and the secant do
    assert g1[0] == pytest.approx(g2[0], rel=1e-9)
