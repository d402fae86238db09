"""Week 17's measurements: error bars over examples, not over Monte-Carlo draws."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import diffusion as dm


class _SpreadModel:
    """A stand-in model whose negative ELBO (nats) is a fixed per-example value a_i (the
    spread between examples) plus small Monte-Carlo noise that changes with the key."""

    def __init__(self, mc_std):
        self.mc_std = mc_std

    def loss_terms(self, x, key):
        n = x.shape[0]
        return {"reconstruction": x[:, 0], "prior": jnp.zeros(n),
                "diffusion": self.mc_std * jax.random.normal(key, (n,))}


def test_error_bar_is_over_examples_not_over_draws():
    """300 examples x 20 draws whose spread is all between examples: the error bar must be
    std(a) / sqrt(300), not std / sqrt(6000) (the old formula: 4.5x too small)."""
    n, repeats = 300, 20
    a = np.random.default_rng(0).normal(5.0, 2.0, n)
    x = np.stack([a, np.zeros(n)], 1).astype(np.float32)
    r = dm.evaluate_model_bits(_SpreadModel(mc_std=1e-3), x, jax.random.key(0), repeats=repeats)
    a_bits = a.astype(np.float32) / np.log(2)
    expected = a_bits.std(ddof=1) / np.sqrt(n)
    assert r["stderr_bits_per_example"] == pytest.approx(expected, rel=1e-3)
    assert r["stderr_bits_per_dim"] == pytest.approx(expected / 2, rel=1e-3)
    assert r["bits_per_example"] == pytest.approx(a_bits.mean(), abs=1e-3)
    # the Monte-Carlo part alone: 1e-3 nats per draw over 6000 draws
    assert r["stderr_mc_bits_per_example"] == pytest.approx(
        1e-3 / np.log(2) / np.sqrt(n * repeats), rel=0.1)


def test_error_bar_with_pure_monte_carlo_noise():
    """Identical examples, noisy draws: averaging the draws within each example first gives
    std_mc / sqrt(repeats n), the same as pooling; both formulas agree here."""
    n, repeats, mc = 400, 10, 0.5
    x = np.zeros((n, 2), np.float32)
    r = dm.evaluate_model_bits(_SpreadModel(mc_std=mc), x, jax.random.key(1), repeats=repeats)
    expected = mc / np.log(2) / np.sqrt(n * repeats)
    # the estimated std of n = 400 means has a relative error of about 1/sqrt(2 n) = 3.5 %
    assert r["stderr_bits_per_example"] == pytest.approx(expected, rel=4 * 0.035)
