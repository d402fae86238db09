"""DDPM, VDM and binomial diffusion train and sample; the ELBO is its terms and nothing else."""


import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from course_lib import data
from course_lib import diffusion as dm
from course_lib.train import TrainConfig, train

KEY = jax.random.key(0)


def small_train(model, step, sampler, steps=300, lr=1e-3):
    opt = nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)
    return train(step, (model, opt), sampler, TrainConfig(steps=steps, batch_size=128,
                                                          progress=False))


@pytest.mark.parametrize("parameterization", ["noise", "x0", "score"])
def test_ddpm_trains_and_samples(parameterization):
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=100, hidden=(64, 64), loss="elbo",
                                  parameterization=parameterization), rngs=nnx.Rngs(0))
    h = small_train(model, dm.ddpm_train_step, data.get("moons").sample)
    assert h["nelbo"][-50:].mean() < h["nelbo"][:50].mean()
    assert {"reconstruction", "prior", "diffusion", "simple"} <= set(h)
    x = model.sample(jax.random.key(1), 64)
    assert x.shape == (64, 2) and np.isfinite(np.asarray(x)).all()


def test_simple_loss_trains_and_matches_the_elbo_terms_simple():
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=100, hidden=(64, 64)), rngs=nnx.Rngs(0))
    h = small_train(model, dm.ddpm_train_step, data.get("moons").sample)
    assert set(h) == {"loss"} and h["loss"][-50:].mean() < h["loss"][:50].mean()
    x = data.get("moons").sample(KEY, 20_000)
    # the same quantity, two estimators: L_simple at t ~ U{1..T} vs the ELBO's simple term
    # at t ~ U{2..T}; they agree to within their Monte-Carlo error (one t of 100 excluded)
    a = float(dm.simple_loss(model, x, KEY))
    per_example = np.asarray(model.simple_and_elbo_terms(x, jax.random.key(1))[0])
    b, se = per_example.mean(), per_example.std() / np.sqrt(len(per_example))
    # two independent means (5 standard errors of their difference), plus up to 2% for the
    # t = 1 term that one estimator leaves out (1 of T = 100 steps, at most twice the mean)
    assert abs(a - b) < 5 * np.sqrt(2) * se + 0.02 * b


def test_vdm_and_binomial_train():
    vdm = dm.VDM(dm.VDMConfig(data_dim=2, hidden=(64,)), rngs=nnx.Rngs(0))
    h = small_train(vdm, dm.vdm_train_step, data.get("moons").sample)
    assert h["loss"][-50:].mean() < h["loss"][:50].mean()
    assert vdm.sample(jax.random.key(0), 8, steps=20).shape == (8, 2)
    b = dm.BinomialDiffusion(dm.BinomialConfig(T=100), rngs=nnx.Rngs(0))
    h = small_train(b, dm.binomial_train_step, data.get("heartbeat").sample)
    assert np.all(h["prior"] == 0) and h["loss"][-50:].mean() < h["loss"][:50].mean()
    s = np.asarray(b.sample(jax.random.key(0), 16))
    assert set(np.unique(s)) <= {0.0, 1.0}


def test_binomial_kernel_forgets_linearly_and_its_posterior_is_bayes():
    b = dm.BinomialDiffusion(dm.BinomialConfig(T=50), rngs=nnx.Rngs(0))
    betas = 1 / (50 - np.arange(1, 51) + 1)
    np.testing.assert_allclose(np.cumprod(1 - betas), 1 - np.arange(1, 51) / 50, atol=1e-12)
    # brute force Bayes for one bit at t = 10
    t, p = 10, 0.2
    beta = betas[t - 1]
    for x0 in (0.0, 1.0):
        prev1 = float(b.q_prob(jnp.array([[x0]]), jnp.array([t - 1.0]))[0, 0])
        for xt in (0.0, 1.0):
            trans = {1: (1 - beta + beta * p) if xt else (beta * (1 - p)),
                     0: (beta * p) if xt else (1 - beta * p)}
            bayes = prev1 * trans[1] / (prev1 * trans[1] + (1 - prev1) * trans[0])
            got = float(b.posterior_prob(jnp.array([[xt]]), jnp.array([[x0]]),
                                         jnp.array([float(t)]))[0, 0])
            assert got == pytest.approx(bayes, rel=1e-5)


@pytest.mark.parametrize("loss", ["elbo", "hybrid"])
def test_learned_variances_train_and_stay_between_their_bounds(loss):
    cfg = dm.DDPMConfig(data_dim=2, T=40, beta_1=1e-3, beta_T=0.3, hidden=(64, 64),
                        learn_variance=True, loss=loss)
    model = dm.DDPM(cfg, rngs=nnx.Rngs(0))
    h = small_train(model, dm.ddpm_train_step, data.get("moons").sample)
    assert np.isfinite(h["nelbo"]).all() and h["nelbo"][-50:].mean() < h["nelbo"][:50].mean()
    t = jnp.arange(2, 41)
    _, var = model.p_mean_var(jnp.zeros((39, 2)), t)
    betas = cfg.betas()[1:, None]
    assert np.all(np.asarray(var) <= betas * (1 + 1e-5))
    assert np.all(np.asarray(var) >= np.asarray(model.beta_tilde[...])[1:, None] * (1 - 1e-5))


def test_vdm_with_a_periodic_conv_net_on_lattices():
    cfg = dm.VDMConfig(data_dim=64, levels=2, hidden=(0, 0), image_shape=(8, 8),
                       conv_features=8)
    model = dm.VDM(cfg, rngs=nnx.Rngs(0))
    lattice = data.ising(L=8, T=2.269, n=64, sweeps=50)
    h = small_train(model, dm.vdm_train_step, lattice.sample, steps=30)
    assert np.isfinite(h["loss"]).all()
    # circular padding: shifting the lattice shifts the prediction (translation equivariance)
    z = jax.random.normal(KEY, (2, 64))
    g = jnp.full((2,), -2.0)
    shifted = jnp.roll(z.reshape(2, 8, 8), 3, axis=2).reshape(2, 64)
    np.testing.assert_allclose(jnp.roll(model.eps_hat(z, g).reshape(2, 8, 8), 3, axis=2),
                               model.eps_hat(shifted, g).reshape(2, 8, 8), atol=1e-5)
    s = np.asarray(model.sample(KEY, 4, steps=10))
    assert set(np.unique(s)) <= {-1.0, 1.0}


def test_bits_are_the_negative_elbo_and_nothing_else():
    """evaluate_model_bits = (reconstruction + prior + diffusion) / (D ln 2): the training-only
    ``simple`` term must not leak into the bound."""
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=50, hidden=(16,)), rngs=nnx.Rngs(0))
    x = data.get("moons").sample(KEY, 500)
    bits = dm.evaluate_model_bits(model, x, KEY, repeats=1)
    terms = jax.jit(lambda k, xb: model.elbo_terms(xb, k))(jax.random.fold_in(KEY, 0), x)
    nats = float((terms.reconstruction + terms.prior + terms.diffusion).mean())
    assert float(terms.total().mean()) == pytest.approx(nats, rel=1e-6)
    assert bits["bits_per_example"] == pytest.approx(nats / np.log(2), rel=1e-5)
    assert bits["bits_per_dim"] == pytest.approx(nats / np.log(2) / 2, rel=1e-5)
