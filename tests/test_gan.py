"""GAN losses, theory helpers, metrics, training against D*, and the GAN command line."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from course_lib import cli, data, gan, gan_theory, metrics
from course_lib.train import TrainConfig, train

LOG2 = np.log(2.0)
X = np.linspace(-12, 12, 48_001)


# ------------------------------------------------------------------------------ theory


def test_optimal_discriminator_and_the_minus_log4_optimum():
    p = gan_theory.gaussian_pdf(0, 1)
    D = gan_theory.optimal_discriminator(p, p)
    np.testing.assert_allclose(D(X), 0.5)
    assert abs(gan_theory.value(D, p, p, X) + np.log(4)) < 1e-9
    assert abs(gan_theory.js_divergence(p, p, X)) < 1e-12


@pytest.mark.parametrize("shift,std", [(1.0, 1.0), (3.0, 0.5), (0.0, 2.0)])
def test_value_at_d_star_is_minus_log4_plus_twice_js(shift, std):
    """Goodfellow et al., Theorem 1: C(G) = -log 4 + 2 JSD(p_r || p_g)."""
    p_r, p_g = gan_theory.gaussian_pdf(0, 1), gan_theory.gaussian_pdf(shift, std)
    D_star = gan_theory.optimal_discriminator(p_r, p_g)
    c = gan_theory.value(D_star, p_r, p_g, X)
    js = gan_theory.js_divergence(p_r, p_g, X)
    assert 0 < js < LOG2
    assert abs(c - (-np.log(4) + 2 * js)) < 1e-8
    # any other discriminator does worse (D* maximises V pointwise)
    for other in (lambda x: 0.5 + 0 * x, lambda x: np.clip(D_star(x) * 0.9, 0, 1)):
        assert gan_theory.value(other, p_r, p_g, X) < c


def test_js_divergence_of_disjoint_densities_is_log2():
    p, q = gan_theory.gaussian_pdf(-6, 0.3), gan_theory.gaussian_pdf(6, 0.3)
    assert abs(gan_theory.js_divergence(p, q, X) - LOG2) < 1e-9


def test_wasserstein_of_shifted_gaussians_is_the_shift():
    exact = gan_theory.wasserstein_1d_exact(gan_theory.gaussian_quantile(0, 1),
                                            gan_theory.gaussian_quantile(2, 1), n=20_001)
    assert abs(exact - 2.0) < 1e-9
    rng = np.random.default_rng(0)
    n = 20_000
    est = metrics.wasserstein_1d(rng.normal(0, 1, n), rng.normal(2, 1, n))
    # the sorted-sample estimate's error is O(1/sqrt(n)) here: allow 5 / sqrt(n)
    assert abs(est - 2.0) < 5 / np.sqrt(n)
    with pytest.raises(ValueError, match="equal sizes"):
        metrics.wasserstein_1d([1, 2], [1])


def test_simultaneous_gradient_game_spirals_out_at_the_predicted_rate():
    xy = gan_theory.simultaneous_gradient_game(1.0, 0.0, lr=0.1, steps=50)
    r = np.linalg.norm(xy, axis=1)
    np.testing.assert_allclose(r, np.sqrt(1 + 0.1**2) ** np.arange(51), rtol=1e-12)


# ------------------------------------------------------------------------------ losses


def test_losses_at_an_undecided_discriminator():
    zero = jnp.zeros(8)
    assert abs(float(gan.discriminator_loss(zero, zero)) - 2 * LOG2) < 1e-6
    assert abs(float(gan.generator_loss_minimax(zero)) + LOG2) < 1e-6
    assert abs(float(gan.generator_loss_non_saturating(zero)) - LOG2) < 1e-6
    assert abs(float(gan.value_function(zero, zero)) + 2 * LOG2) < 1e-6


def test_saturating_loss_gradient_vanishes_when_d_rejects_samples():
    """d/dl log(1 - sigmoid(l)) = -sigmoid(l) -> 0 as l -> -inf; -log sigmoid(l) -> -1."""
    logit = jnp.array([-10.0])
    g_mm = jax.grad(lambda l: gan.generator_loss_minimax(l))(logit)
    g_ns = jax.grad(lambda l: gan.generator_loss_non_saturating(l))(logit)
    assert abs(float(g_mm[0])) < 1e-4 and abs(float(g_ns[0]) + 1) < 1e-4


def test_gradient_penalty_of_linear_critics():
    key = jax.random.key(0)
    real, fake = jax.random.normal(key, (64, 3)), jax.random.normal(jax.random.key(1), (64, 3))
    for w_norm, expected in [(1.0, 0.0), (2.0, 1.0), (0.5, 0.25)]:
        w = w_norm * jnp.array([0.6, 0.8, 0.0])
        gp = gan.gradient_penalty(lambda x, w=w: x @ w, real, fake, key)
        assert abs(float(gp) - expected) < 1e-5


def test_config_rejects_unknown_loss():
    with pytest.raises(ValueError, match="unknown GAN loss 'hinge'; accepted: non_saturating"):
        gan.GANConfig(data_dim=2, loss="hinge")


# ------------------------------------------------------------------------------ metrics


def test_learning_rate_is_constant_then_a_cosine_to_zero():
    cfg = gan.GANConfig(data_dim=2, lr_g=1e-3, decay_start=100, decay_steps=50)
    lr = gan.learning_rate(cfg, cfg.lr_g)
    assert [float(lr(s)) for s in (0, 99, 100)] == pytest.approx([1e-3, 1e-3, 1e-3])
    assert float(lr(125)) == pytest.approx(0.5e-3)  # halfway down the cosine
    assert float(lr(150)) == pytest.approx(0.0, abs=1e-12)
    assert gan.learning_rate(gan.GANConfig(data_dim=2), 2e-4) == 2e-4  # default: constant
    with pytest.raises(ValueError, match="decay_start and decay_steps must be >= 0"):
        gan.GANConfig(data_dim=2, decay_steps=-1)


def test_instance_noise_falls_linearly_to_zero_and_trains():
    cfg = gan.GANConfig(data_dim=2, hidden=(16,), instance_noise=0.5, noise_anneal_steps=100)
    sigma = [float(gan.instance_noise_std(cfg, t)) for t in (0, 50, 100, 200)]
    assert sigma == pytest.approx([0.5, 0.25, 0.0, 0.0])
    objects = gan.init(cfg, 0)
    history = train(gan.train_step, objects, gan.batches(data.get("ring"), cfg),
                    TrainConfig(steps=50, batch_size=64, progress=False))
    assert np.all(np.isfinite(history["d_loss"])) and int(objects[2].step[...]) == 50
    with pytest.raises(ValueError, match="noise_anneal_steps > 0"):
        gan.GANConfig(data_dim=2, instance_noise=0.5)


def test_mode_coverage_protocol():
    ring = data.get("ring")
    on_modes = np.repeat(ring.means, 10, axis=0)
    assert metrics.mode_coverage(on_modes, ring.means, ring.std) == (8, 1.0)
    half = np.repeat(ring.means[:4], 10, axis=0)
    assert metrics.mode_coverage(half, ring.means, ring.std) == (4, 1.0)
    far = on_modes + 0.05  # 5 std away in each coordinate: not high quality
    assert metrics.mode_coverage(far, ring.means, ring.std) == (0, 0.0)
    x = np.asarray(ring.sample(jax.random.key(0), 2500))
    modes, hq = metrics.mode_coverage(x, ring.means, ring.std)
    # the true data: all modes, and P(chi^2_2 < 9) = 1 - exp(-4.5) of samples within 3 std
    p = 1 - np.exp(-4.5)
    assert modes == 8 and abs(hq - p) < 5 * np.sqrt(p * (1 - p) / 2500)


def test_mmd_is_near_zero_for_the_same_distribution_and_not_otherwise():
    k = jax.random.split(jax.random.key(0), 3)
    same = [metrics.mmd(jax.random.normal(k[0], (500, 2)), jax.random.normal(k[1], (500, 2)))]
    other = metrics.mmd(jax.random.normal(k[0], (500, 2)),
                        0.5 + jax.random.normal(k[2], (500, 2)))
    assert abs(same[0]) < 0.01 < other


# ------------------------------------------------------------------------------ training


def test_trained_discriminator_approaches_d_star():
    """Hold p_g = N(0, 1) fixed (the generator is the identity on z) and train D against
    p_r = N(2, 0.5^2): where both densities have mass, D -> D* = p_r / (p_r + p_g)."""
    cfg = gan.GANConfig(data_dim=1, latent_dim=1, hidden=(64, 64), lr_d=3e-3)
    _, D, _, opt_D = gan.init(cfg, 0)

    def step(D, opt_D, x, key):
        fake = jax.random.normal(key, x.shape)
        (loss, _), grads = nnx.value_and_grad(gan.discriminator_objective, has_aux=True)(
            D, x, fake, None, key)
        opt_D.update(D, grads)
        return {"loss": loss}

    train(step, (D, opt_D), data.gaussian_1d(2.0, 0.5).sample,
          TrainConfig(steps=3000, batch_size=512, progress=False))
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


# ------------------------------------------------------------------------------ command line


def test_cli_trains_samples_and_evaluates_every_gan(tmp_path, capsys):
    x = np.asarray(data.get("ring").sample(jax.random.key(0), 512))
    np.save(tmp_path / "mine.npy", x)
    np.save(tmp_path / "means.npy", data.get("ring").means)
    y = np.asarray(data.digits().labels[:300])
    np.savez(tmp_path / "labeled.npz", x=data.digits().data[:300], y=y)
    runs = [("gan", "ring", []), ("gan", str(tmp_path / "mine.npy"), ["--loss", "minimax"]),
            ("wgan-gp", "grid", ["--gp-weight", "0.1"]),
            ("cgan", str(tmp_path / "labeled.npz"), [])]
    for i, (model, dataset, extra) in enumerate(runs):
        out = tmp_path / f"run{i}"
        assert cli.main(["train", model, "--data", dataset, "--out", str(out), "--steps", "20",
                         "--batch-size", "64", "--no-progress", *extra]) == 0
        capsys.readouterr()
        assert cli.main(["sample", str(out), "--n", "9", "--out", str(tmp_path / "s.npy")]) == 0
        assert np.load(tmp_path / "s.npy").shape[0] == 9
        capsys.readouterr()
        assert cli.main(["evaluate", str(out), "--data", dataset]) == 0
        result = json.loads(capsys.readouterr().out)
        assert "mmd" in result
        if dataset in ("ring", "grid"):
            assert result["modes_total"] == (8 if dataset == "ring" else 25)
            assert 0 <= result["modes"] <= result["modes_total"]
            assert 0 <= result["high_quality"] <= 1
    assert cli.main(["evaluate", str(tmp_path / "run1"), "--data", str(tmp_path / "mine.npy"),
                     "--means", str(tmp_path / "means.npy"), "--std", "0.01"]) == 0
    assert json.loads(capsys.readouterr().out)["modes_total"] == 8
    assert np.load(tmp_path / "s.npy").shape == (9, 8, 8)  # the cgan samples digits


def test_cli_gan_errors(tmp_path, capsys):
    assert cli.main(["train", "cgan", "--data", "ring", "--out", str(tmp_path / "r")]) == 2
    assert "needs class labels" in capsys.readouterr().err
    assert cli.main(["train", "gan", "--data", "ring", "--out", str(tmp_path / "r"),
                     "--loss", "hinge"]) == 2
    assert "--loss must be one of non_saturating, minimax" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


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
