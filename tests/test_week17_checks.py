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

    def elbo_terms(self, x, key):
        n = x.shape[0]
        return dm.ELBOTerms(reconstruction=x[:, 0], prior=jnp.zeros(n),
                            diffusion=self.mc_std * jax.random.normal(key, (n,)))


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


# --------------------------------------------------------------- VDM's schedule objective

from flax import nnx  # noqa: E402


def _diffusion_draws(model, x, repeats=100):
    f = jax.jit(lambda k: model.elbo_terms(x, k).diffusion)
    return np.stack([np.asarray(f(jax.random.key(r))) for r in range(repeats)])


def test_diffusion_loss_mean_does_not_depend_on_the_schedule_interior():
    """Kingma et al. sec. 5.3's premise: with the denoiser a function of (z, gamma), the
    continuous diffusion loss 1/2 int ||eps - eps_hat||^2 dgamma depends on gamma(t) only at
    its end points. Swap a curved learned schedule for the straight line between the same end
    points: the mean agrees within its error bar, the variance does not have to."""
    model = dm.VDM(dm.VDMConfig(data_dim=4, hidden=(32,)), rngs=nnx.Rngs(3))
    x = jax.random.uniform(jax.random.key(0), (256, 4), minval=-1, maxval=1)
    curved = _diffusion_draws(model, x).mean(1)  # batch means, one per draw
    g0, g1 = float(model.gamma(jnp.zeros(()))), float(model.gamma(jnp.ones(())))
    model.gamma = dm.LinearGamma(g0, g1)
    straight = _diffusion_draws(model, x).mean(1)
    se = np.sqrt(curved.var(ddof=1) / len(curved) + straight.var(ddof=1) / len(straight))
    assert abs(curved.mean() - straight.mean()) < 4 * se, (curved.mean(), straight.mean(), se)


def test_variance_step_routes_the_schedule_interior_to_the_variance_gradient():
    """vdm_variance_train_step: the interior of gamma moves along -grad E[L_diff^2], the
    denoiser and the end points along -grad(-ELBO). Checked with plain SGD, lr 1."""
    import optax

    x = jax.random.normal(jax.random.key(0), (64, 2))
    key = jax.random.key(1)
    model = dm.VDM(dm.VDMConfig(data_dim=2, hidden=(16,)), rngs=nnx.Rngs(0))
    before = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.Param)))
    g_elbo = nnx.to_pure_dict(nnx.grad(lambda m: dm.elbo_loss(m, x, key)[0])(model))
    g_var = nnx.to_pure_dict(nnx.grad(dm.vdm_variance_loss)(model, x, key))
    optimizer = nnx.Optimizer(model, optax.sgd(1.0), wrt=nnx.Param)
    dm.vdm_variance_train_step(model, optimizer, x, key)
    after = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    for name in ("w1", "w2", "w3", "b2"):
        np.testing.assert_allclose(before["gamma"][name] - after["gamma"][name],
                                   g_var["gamma"][name], rtol=1e-4, atol=1e-6)
        assert not np.allclose(g_var["gamma"][name], g_elbo["gamma"][name])
    for name in ("gamma_min", "gamma_max"):
        np.testing.assert_allclose(before["gamma"][name] - after["gamma"][name],
                                   g_elbo["gamma"][name], rtol=1e-4, atol=1e-6)
    first = lambda tree: tree["net"]["mlp"]["layers"][0]["kernel"]  # noqa: E731
    np.testing.assert_allclose(first(before) - first(after), first(g_elbo), rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------ the digits' discretisation


def test_log_snr_schedule_is_linear_in_gamma_and_starts_at_its_noise():
    betas = dm.log_snr_betas(1000, -7.5, 6.0)
    ab = dm.alpha_bar(betas)
    np.testing.assert_allclose(dm.gamma_from_alpha_bar(ab), np.linspace(-7.5, 6.0, 1000),
                               atol=1e-6)
    assert np.sqrt(betas[0]) == pytest.approx(np.sqrt(1 / (1 + np.exp(7.5))), rel=1e-9)
    with pytest.raises(ValueError, match="gamma_1 must be below gamma_T"):
        dm.log_snr_betas(10, 1.0, 0.0)
    with pytest.raises(ValueError, match="needs quantized data"):
        dm.LevelsDDPMConfig(data_dim=4)


def test_level_decoder_is_the_posterior_over_levels():
    """p(x_0 = v_k | z) = N(z; alpha v_k, sigma^2) / sum_j N(z; alpha v_j, sigma^2)."""
    levels, alpha, sigma = 17, 0.99, 0.05
    v = np.linspace(-1, 1, levels)
    x0 = jnp.asarray(v[[0, 3, 8, 16]], jnp.float32)
    z = jnp.asarray([-0.9, -0.7, 0.05, 1.1], jnp.float32)
    got = np.asarray(dm.level_log_prob(x0, z, alpha, sigma, levels))
    like = np.exp(-0.5 * ((np.asarray(z, np.float64)[:, None] - alpha * v) / sigma) ** 2)
    want = np.log(like[np.arange(4), [0, 3, 8, 16]] / like.sum(1))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_levels_ddpm_decoder_and_samples_stay_on_the_levels():
    from flax import nnx as _nnx

    cfg = dm.LevelsDDPMConfig(data_dim=4, T=20, levels=17, hidden=(16,))
    model = dm.DDPM(cfg, rngs=_nnx.Rngs(0))
    x = jnp.asarray(np.random.default_rng(0).integers(0, 17, (8, 4)) / 8 - 1, jnp.float32)
    terms = model.elbo_terms(x, jax.random.key(0))
    # the decoder is a probability over 17 levels: -log p >= 0, and at sigma_1 = 0.023 (a fifth
    # of the spacing) far below uniform coding's 4 log 17 = 11.3 nats (0.016 nats/dim measured
    # on the digits)
    assert np.all(np.asarray(terms.reconstruction) >= 0)
    assert float(terms.reconstruction.mean()) < 0.05 * 4 * np.log(17)
    s = np.asarray(model.sample(jax.random.key(1), 5))
    assert np.all(np.isin(np.round((s + 1) * 8, 4), np.arange(17)))
