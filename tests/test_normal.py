"""The Gaussian density and KL, written once, against independent computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib.normal import gaussian_kl, normal_log_prob


def test_log_density_integrates_to_one_and_matches_numpy_and_jax():
    x = np.linspace(-12, 14, 200_001)
    p = np.exp(normal_log_prob(x, 1.0, 4.0))
    assert np.trapezoid(p, x) == pytest.approx(1.0, abs=1e-9)
    assert np.trapezoid(x * p, x) == pytest.approx(1.0, abs=1e-8)  # the mean
    got = normal_log_prob(jnp.asarray(x[:5], jnp.float32), 1.0, 4.0)
    assert isinstance(got, jax.Array)
    np.testing.assert_allclose(got, normal_log_prob(x[:5], 1.0, 4.0), rtol=1e-6)


def test_kl_is_the_integral_of_p_log_p_over_q():
    x = np.linspace(-15, 15, 300_001)
    m_q, v_q, m_p, v_p = 0.3, 0.5, -1.0, 2.0
    q = np.exp(normal_log_prob(x, m_q, v_q))
    integral = np.trapezoid(q * (normal_log_prob(x, m_q, v_q) - normal_log_prob(x, m_p, v_p)), x)
    assert gaussian_kl(m_q, v_q, m_p, v_p) == pytest.approx(integral, abs=1e-9)
    assert gaussian_kl(m_q, v_q, m_q, v_q) == 0.0
    # inside jit and grad it is JAX's: d KL / d mean_q = (mean_q - mean_p) / var_p
    grad = jax.grad(lambda m: gaussian_kl(m, v_q, m_p, v_p))(jnp.float32(m_q))
    assert float(grad) == pytest.approx((m_q - m_p) / v_p, rel=1e-6)
