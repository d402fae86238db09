"""GANConfig, its learning-rate schedule and instance noise (course_lib.gan.models)."""


from dataclasses import replace

import jax
import numpy as np
import pytest
from flax import nnx

from course_lib import data, gan
from course_lib.train import TrainConfig, train

LOG2 = np.log(2.0)
X = np.linspace(-12, 12, 48_001)


def test_config_rejects_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; accepted: non_saturating"):
        gan.GANConfig(data_dim=2, loss="hinge")


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


def test_generators_trained_otherwise_share_one_generate_program():
    """Catches gan.generate compiling a program per training setting (decay, noise, pack,
    learning rates), which G(z) does not read: the mode table's generators differ only there.
    Their samples are those of the generator's own config, bit for bit."""
    from course_lib.gan.models import _generate

    base = gan.GANConfig(data_dim=2, latent_dim=2, hidden=(8,))
    other = replace(base, lr_g=2e-4, decay_start=10, decay_steps=10, instance_noise=0.5,
                    noise_anneal_steps=10, pack=4)
    G, G_other = gan.init(base, seed=0)[0], gan.init(other, seed=0)[0]
    key = jax.random.key(1)
    gan.generate(G, key, 7)
    compiled = _generate._cache_size()
    x = gan.generate(G_other, key, 7)
    assert _generate._cache_size() == compiled
    own = _generate(*nnx.split(G_other), key, 7, None, None)  # keyed on its own config
    assert np.array_equal(x, own)
