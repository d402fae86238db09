"""Training reaches the tests: settings that only act inside a training run (learning-rate
schedules, instance noise) are checked on small models trained here, against a number that
a wiring bug would change, and the cheapest shipped weight files are retrained and compared
with the files (notebooks only load them, so nothing else would notice a drift)."""

import jax
import numpy as np
import optax
import pytest
from flax import nnx

import course_lib.gan as gan
from course_lib import data, nets, pretrained
from course_lib.train import TrainConfig, step_from_loss, train


def parameter_changes(objects, which, cfg, steps, batch_size=32):
    """Train ``steps`` generator steps, one per call; return for each step the largest
    absolute change of the parameters of ``objects[which]`` (0.0 exactly when its optimizer
    applied a learning rate of 0: Adam's update is then lr x something finite)."""
    last = [np.concatenate([np.ravel(p) for p in jax.tree.leaves(nnx.state(objects[which],
                                                                          nnx.Param))])]
    changes = []

    def record(step):
        now = np.concatenate([np.ravel(p) for p in jax.tree.leaves(nnx.state(objects[which],
                                                                             nnx.Param))])
        changes.append(float(np.max(np.abs(now - last[0]))))
        last[0] = now

    train(gan.train_step, objects, gan.batches(data.get("ring"), cfg),
          TrainConfig(steps=steps, batch_size=batch_size, steps_per_call=1, progress=False),
          callback=record)
    return np.array(changes)


@pytest.mark.parametrize("loss,critic_steps", [("wgan_gp", 5), ("non_saturating", 1)])
def test_both_learning_rates_decay_over_generator_steps(loss, critic_steps):
    """decay_start = 6, decay_steps = 6 (counted in generator steps): both networks keep
    learning through generator step 12 and are frozen after it. With 5 critic steps per
    generator step, a critic schedule that counted its own updates reached 0 at generator
    step (6 + 6) / 5 = 2.4 and froze the critic for the rest of the run (the bug of issue 20:
    `train wgan-gp --decay-start S --decay-steps N`)."""
    cfg = gan.GANConfig(data_dim=2, hidden=(8,), loss=loss, critic_steps=critic_steps,
                        lr_g=1e-3, lr_d=1e-3, decay_start=6, decay_steps=6)
    for which in (0, 1):  # G, then D, each from a fresh start
        changes = parameter_changes(gan.init(cfg, 0), which, cfg, steps=15)
        name = "G" if which == 0 else "D"
        # steps 1..12: rate > 0 (at step 12 the cosine's last nonzero value, lr/2 (1 -
        # cos(pi/6)) = 0.067 lr); steps 13..15: rate 0 exactly
        assert np.all(changes[:12] > 0), (name, changes)
        assert np.all(changes[12:] == 0), (name, changes)


def test_wgan_gp_command_line_schedule_is_counted_in_generator_steps():
    """The rate that D's optimizer applies at generator step g equals the schedule at g."""
    cfg = gan.GANConfig(data_dim=2, hidden=(8,), loss="wgan_gp", critic_steps=5,
                        lr_g=1e-3, lr_d=1e-3, decay_start=100, decay_steps=100)
    schedule = gan.learning_rate(cfg, 1e-3)
    d_rate = gan.learning_rate(cfg, 1e-3, updates_per_step=5)
    for g in (0, 40, 99, 150, 199, 200):
        for k in range(5):  # the 5 critic updates of generator step g
            assert float(d_rate(5 * g + k)) == pytest.approx(float(schedule(g)), abs=1e-12)


# ------------------------------------------------------------- shipped weights, retrained


def shipped_state(name, objects):
    """The state stored in data/pretrained/<name>.npz, read into the structure of
    ``objects`` (the objects themselves are left as they are)."""
    from course_lib.train import load_checkpoint

    template = nnx.state(objects)
    state, steps, history, _ = load_checkpoint(pretrained.PRETRAINED_DIR / f"{name}.npz",
                                               template)
    return state, steps, history


def assert_same_training(name, objects, history):
    """Retrained parameters and per-step losses against the shipped ones. On the CPU kind
    that wrote the files JAX is bit-reproducible and they agree exactly; on another CPU
    kind the kernels may round differently in the last bit and the difference grows over
    thousands of steps, so the comparison allows 1e-4 relative (float32 rounding is 6e-8 per
    operation; a wiring change, such as another learning rate or batch, moves the
    parameters by O(1) relative)."""
    state, steps, shipped_history = shipped_state(name, objects)
    assert steps == len(next(iter(history.values())))
    for got, want in zip(jax.tree.leaves(nnx.state(objects)), jax.tree.leaves(state),
                         strict=True):
        got, want = np.asarray(got), np.asarray(want)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    for k, v in shipped_history.items():
        np.testing.assert_allclose(history[k], v, rtol=1e-4, atol=1e-6)


def test_retrain_digits_classifier_gives_the_shipped_weights():
    """week16_gans/digits_classifier: the notebook's MLP 64-256-10, Adam 1e-3, 3000 steps."""
    def classifier_loss(model, batch, key):
        x, y = batch
        logits = model(x.reshape(len(x), -1))
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    classifier = nets.MLP(64, [256], 10, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(classifier, optax.adam(1e-3), wrt=nnx.Param)
    history = train(step_from_loss(classifier_loss), (classifier, opt),
                    data.digits("train").sample_with_labels,
                    TrainConfig(steps=3000, batch_size=128, progress=False))
    assert_same_training("week16_gans/digits_classifier", (classifier,), history)


def test_retrain_ring_gan_gives_the_shipped_generator():
    """week16_gans/ring_3k_seed0: the mode table's 3k-step GAN on the ring (G and D 3x128
    ReLU, Adam 1e-3 both, batch 512). Only G is shipped."""
    cfg = gan.GANConfig(data_dim=2, latent_dim=2, hidden=(128, 128, 128), lr_g=1e-3,
                        lr_d=1e-3)
    G, D, opt_G, opt_D = gan.init(cfg, 0)
    history = train(gan.train_step, (G, D, opt_G, opt_D), gan.batches(data.get("ring"), cfg),
                    TrainConfig(steps=3000, batch_size=512, seed=0, progress=False))
    assert_same_training("week16_gans/ring_3k_seed0", (G,), history)


def test_vdm_learned_schedule_end_points_are_trained():
    """VDM's gamma_min and gamma_max are parameters of the ELBO (its prior, reconstruction
    and diffusion terms all depend on them) and must move in training. A schedule cut off
    from the optimizer (a stop_gradient, or the optimizer built for the network only)
    leaves both exactly at -13.3 and 5."""
    from course_lib import diffusion as dm

    model = dm.VDM(dm.VDMConfig(data_dim=2, hidden=(32,), learned_schedule=True),
                   rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adamw(3e-3), wrt=nnx.Param)
    train(dm.vdm_train_step, (model, opt), data.get("moons").sample,
          TrainConfig(steps=200, batch_size=128, progress=False))
    g_min, g_max = float(model.gamma.gamma_min[...]), float(model.gamma.gamma_max[...])
    # Adam moves each parameter by about lr per step when its gradient keeps its sign:
    # 200 steps x 3e-3 = 0.6; a tenth of that is a safe floor for "trained"
    assert abs(g_max - 5.0) > 0.06 and abs(g_min + 13.3) > 0.06, (g_min, g_max)
