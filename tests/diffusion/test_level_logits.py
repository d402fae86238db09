"""VDM with the conv denoiser over levels (week17's digits model): x_hat is the exact
posterior mean given the network's per-pixel prior, and a shortened run of its recipe trains."""

import json

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from course_lib import data
from course_lib import diffusion as dm
from course_lib.families import of_config
from course_lib.pretrained import fit
from course_lib.train import TrainConfig

CONFIG = dm.VDMConfig(data_dim=64, levels=17, image_shape=(8, 8), level_logits=True,
                      conv_features=8, dilations=(1, 2), learned_schedule=False,
                      gamma_min=-9.0, gamma_max=6.0, lr=1e-3)


def test_eps_hat_is_the_posterior_mean_under_the_networks_prior():
    """Brute force: p(x_i = v | z) proportional to prior_i(v) N(z_i; alpha v, sigma^2),
    x_hat = sum_v v p(v | z), eps_hat = (z - alpha x_hat) / sigma, for a random prior."""
    model = dm.VDM(CONFIG, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(0)
    prior = rng.normal(size=(3, 8, 8, 17))
    z = rng.normal(size=(3, 64)).astype(np.float32)
    g = np.array([-4.0, 0.0, 3.0], np.float32)
    got = np.asarray(model._eps_from_level_logits(jnp.asarray(z), jnp.asarray(g),
                                                  jnp.asarray(prior, jnp.float32)))
    v = np.linspace(-1, 1, 17)
    for b in range(3):
        a, s = np.sqrt(1 / (1 + np.exp(g[b]))), np.sqrt(1 / (1 + np.exp(-g[b])))
        for i in range(64):
            logit = prior[b].reshape(64, 17)[i] - 0.5 * ((z[b, i] - a * v) / s) ** 2
            p = np.exp(logit - logit.max())
            x_hat = (p / p.sum()) @ v
            np.testing.assert_allclose(got[b, i], (z[b, i] - a * x_hat) / s, rtol=2e-3,
                                       atol=2e-3)


def test_at_small_noise_the_likelihood_rounds_without_any_training():
    """At gamma = -9 (sigma = 0.011, a tenth of the level spacing) an untrained model already
    denoises digits: the diffusion integrand 1/2 ||eps - eps_hat||^2 is ~0, where an eps
    network that ignored the likelihood would pay ~D/2 = 32 nats."""
    model = dm.VDM(CONFIG, rngs=nnx.Rngs(0))
    x = jnp.asarray(data.digits("test").data[:32].reshape(32, 64))
    eps = jax.random.normal(jax.random.key(0), x.shape)
    g = jnp.full((32,), -9.0)
    z = jnp.sqrt(jax.nn.sigmoid(-g))[:, None] * x + jnp.sqrt(jax.nn.sigmoid(g))[:, None] * eps
    loss = 0.5 * jnp.sum((eps - model.eps_hat(z, g)) ** 2, -1)
    assert float(loss.mean()) < 0.5, float(loss.mean())


def test_a_shortened_digits_run_lowers_the_bound_and_ships_its_command(tmp_path):
    """The shipped recipe's pipeline on 60 steps: the held-out bound falls, the file is
    written with its regenerate command, and loading it gives the same bound."""
    train, test = data.digits("train"), data.digits("test")
    x = test.data[:64].reshape(64, 64)
    untrained = dm.VDM(CONFIG, rngs=nnx.Rngs(0))
    before = dm.evaluate_model_bits(untrained, x, jax.random.key(1), repeats=4)
    run = TrainConfig(steps=60, batch_size=32, seed=0, steps_per_call=30, progress=False)
    name = "week17_diffusion/digits_vdm_conv"
    (model, *_), history = fit(CONFIG, train, run, name=name, retrain=True, directory=tmp_path)
    after = dm.evaluate_model_bits(model, x, jax.random.key(1), repeats=4)
    drop = before["bits_per_dim"] - after["bits_per_dim"]
    assert drop > 3 * np.hypot(before["stderr_bits_per_dim"], after["stderr_bits_per_dim"]), (
        before, after)
    sidecar = json.loads((tmp_path / "week17_diffusion" / "digits_vdm_conv.json").read_text())
    assert sidecar["command"] == f"python -m course_lib pretrained regenerate {name}"
    (loaded, *_), _ = fit(CONFIG, train, run, name=name, retrain=False, directory=tmp_path)
    again = dm.evaluate_model_bits(loaded, x, jax.random.key(1), repeats=4)
    assert again["bits_per_dim"] == after["bits_per_dim"]


def test_the_bounds_along_training_are_the_scorers_on_the_model_of_that_step():
    """fit(held_out=...) records each set's score (the family's scorer, its keys) at step 0 on
    the initial model and after every call, the last on the final model, computed here again
    independently; and the trained weights are those of a run without it, bit for bit."""
    train, test = data.digits("train"), data.digits("test")
    rows = {"train": train.data[:40], "test": test.data[:40]}
    run = TrainConfig(steps=20, batch_size=16, seed=0, steps_per_call=10, progress=False)
    (model, *_), history = fit(CONFIG, train, run, held_out=rows)
    assert list(history["scored_step"]) == [0, 10, 20]
    family = of_config(CONFIG)
    for objects, at in ((family.init(CONFIG, run.seed), 0), ((model,), -1)):
        for k, x in rows.items():
            v = np.asarray(family.scorer(objects, x, run.seed)[0](objects), np.float64)
            assert history[f"{k}_bits_per_example"][at] == v.mean(), (k, at)
            np.testing.assert_allclose(history[f"{k}_bits_per_example_stderr"][at],
                                       v.std(ddof=1) / np.sqrt(len(v)), rtol=1e-12)
    (plain, *_), plain_history = fit(CONFIG, train, run)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(np.array_equal(a, b)),
                                     nnx.state(plain), nnx.state(model)))
    assert plain_history.keys() < history.keys()
