"""GAN training (course_lib.gan.steps): D approaches D*, every loss trains, PacGAN, dropout."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from course_lib import data, gan
from course_lib.theory import gan as gan_theory
from course_lib.train import TrainConfig, train

LOG2 = np.log(2.0)
X = np.linspace(-12, 12, 48_001)


def test_trained_discriminator_approaches_d_star():
    """Hold p_g = N(0, 1) fixed (the generator is the identity on z) and train D against
    p_r = N(2, 0.5^2): where both densities have mass, D -> D* = p_r / (p_r + p_g)."""
    cfg = gan.GANConfig(data_dim=1, latent_dim=1, hidden=(64, 64), lr_d=3e-3)
    _, D, _, opt_D = gan.init(cfg, 0)
    history = gan.fit_discriminator(D, opt_D, data.gaussian_1d(2.0, 0.5).sample,
                                    lambda key, n: jax.random.normal(key, (n, 1)),
                                    TrainConfig(steps=3000, batch_size=512, progress=False))
    assert set(history) == {"loss"}
    xs = np.linspace(0.0, 3.0, 61)
    d = np.asarray(jax.nn.sigmoid(D(jnp.asarray(xs)[:, None])))
    d_star = gan_theory.optimal_discriminator(gan_theory.gaussian_pdf(2, 0.5),
                                              gan_theory.gaussian_pdf(0, 1))(xs)
    assert np.max(np.abs(d - d_star)) < 0.05


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "wgan_clip", "wgan_gp"])
def test_every_loss_trains_and_reports_its_metrics(loss):
    cfg = gan.GANConfig(data_dim=2, hidden=(32,), loss=loss,
                        critic_steps=5 if loss.startswith("wgan") else 1)
    objects = gan.init(cfg, 0)
    h = train(gan.train_step, objects, gan.batches(data.get("moons"), cfg),
              TrainConfig(steps=50, batch_size=64, progress=False))
    assert all(np.isfinite(v).all() for v in h.values())
    assert ("w_estimate" in h) == loss.startswith("wgan")
    assert ("d_real" in h) != loss.startswith("wgan")
    if loss == "wgan_clip":
        D = objects[1]
        assert max(float(jnp.abs(p).max()) for p in jax.tree.leaves(nnx.state(D, nnx.Param))) \
            <= cfg.clip + 1e-7


def test_pacgan_discriminator_sees_groups():
    cfg = gan.GANConfig(data_dim=2, hidden=(8,), pack=4)
    _, D, _, _ = gan.init(cfg, 0)
    assert D(jnp.ones((64, 2))).shape == (16,)


def test_dropout_in_the_discriminator_trains_inside_the_scan():
    """The generator's loss calls D; with dropout D's RNG state changes under that trace."""
    cfg = gan.GANConfig(data_dim=2, hidden=(16,), d_dropout=0.5)
    h = train(gan.train_step, gan.init(cfg, 0), gan.batches(data.get("moons"), cfg),
              TrainConfig(steps=20, batch_size=32, progress=False))
    assert np.isfinite(h["g_loss"]).all()
    sg = gan.init_semi_supervised(cfg, num_classes=3, seed=0)
    x = data.get("moons")

    def batch(key, n):
        return (x.sample(key, n), jnp.zeros(n, jnp.int32)), x.sample(key, n)

    h = train(gan.semi_supervised_step, sg, batch, TrainConfig(steps=20, batch_size=32,
                                                              progress=False))
    assert np.isfinite(h["d_loss"]).all()


def test_a_critic_against_a_fixed_generator_estimates_the_wasserstein_distance():
    """p_r = N(2, 1), p_g = N(0, 1): W1 = 2 exactly (a shift), reached by the critic C(x) = x.
    With the penalty lambda (|C'| - 1)^2 the best critic is C(x) = s x with 2 s - lambda
    (s - 1)^2 maximal: s = 1 + 1/lambda, so E C(x) - E C(G(z)) -> 2 (1 + 1/lambda) = 2.04 from
    below; 1500 steps of an MLP critic get within 15% of it (1.84; an untrained one gives 0)."""
    cfg = gan.GANConfig(data_dim=1, latent_dim=1, hidden=(64, 64), loss="wgan_gp",
                        gp_weight=50.0, lr_d=1e-3, b2=0.9)
    _, C, _, opt_C = gan.init(cfg, 0)
    h = gan.fit_discriminator(C, opt_C, data.gaussian_1d(2.0, 1.0).sample,
                              lambda key, n: jax.random.normal(key, (n, 1)),
                              TrainConfig(steps=1500, batch_size=512, progress=False))
    w = h["w_estimate"][-200:].mean()
    assert 0.85 * 2.04 < w < 2.04 + 0.05, w


def test_fit_seeds_gives_each_seed_what_fit_gives_it(tmp_path):
    """The mode table's seeds trained in one program (pretrained.fit_seeds): each generator,
    discriminator and history is gan.fit's for that seed, bit for bit (instance noise and a
    decay included); its files hold what pretrained.fit would write for each seed alone, and
    record the ensemble's one command; loading them gives the same generators back."""
    from course_lib import pretrained
    cfg = gan.GANConfig(data_dim=2, latent_dim=2, hidden=(32, 32), decay_start=40,
                        decay_steps=40, instance_noise=0.2, noise_anneal_steps=50)
    run = TrainConfig(steps=80, batch_size=128, steps_per_call=30, progress=False)
    ring = data.get("ring")
    together = pretrained.fit_seeds(cfg, ring, run, seeds=(2, 5))
    for seed, ((G, D, *_), h) in zip((2, 5), together):
        G1, D1, h1 = gan.fit(cfg, ring, TrainConfig(**{**run.__dict__, "seed": seed}))
        assert h.keys() == h1.keys()
        for k in h:
            np.testing.assert_array_equal(h[k], h1[k])
        for a, b in zip(jax.tree.leaves(nnx.state((G, D))), jax.tree.leaves(nnx.state((G1, D1)))):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    alone, shipped, loaded = (
        [pretrained.fit(cfg, ring, TrainConfig(**{**run.__dict__, "seed": s}),
                        name=f"week16_gans/test_seed{s}", retrain=True,
                        directory=tmp_path / "alone") for s in (2, 5)],
        pretrained.fit_seeds(cfg, ring, run, (2, 5), name="week16_gans/test", retrain=True,
                             directory=tmp_path),
        pretrained.fit_seeds(cfg, ring, run, (2, 5), name="week16_gans/test", retrain=False,
                             directory=tmp_path))
    for ((G_a, *_), _), ((G_s, *_), _), ((G_l, *_), _), ((G_t, *_), _) in zip(
            alone, shipped, loaded, together):
        for a, b, c, d in zip(*(jax.tree.leaves(nnx.state(g)) for g in (G_a, G_s, G_l, G_t))):
            for other in (b, c, d):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(other))
    assert sorted(p.name for p in (tmp_path / "week16_gans").iterdir()) == [
        "test_seed2.json", "test_seed2.npz", "test_seed5.json", "test_seed5.npz"]
    for s in (2, 5):
        files = [d / "week16_gans" / f"test_seed{s}" for d in (tmp_path, tmp_path / "alone")]
        npz = [f.with_suffix(".npz").read_bytes() for f in files]
        assert npz[0] == npz[1]
        ensemble, solo = (json.loads(f.with_suffix(".json").read_text()) for f in files)
        assert ensemble["command"].endswith("pretrained regenerate week16_gans/test_seeds")
        assert {k: v for k, v in ensemble.items() if k != "command"} == {
            k: v for k, v in solo.items() if k != "command"}
