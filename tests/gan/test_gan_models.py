"""GANConfig, its learning-rate schedule and instance noise (course_lib.gan.models)."""


from dataclasses import fields, replace

import jax
import numpy as np
import pytest
from flax import nnx

from course_lib import data, gan, nets
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


BASE = gan.GANConfig(data_dim=3, latent_dim=2, hidden=(8,), noise_anneal_steps=10)


def other_value(field, value):
    """A valid value of GANConfig's ``field`` other than ``value``: the next of its choices,
    another activation for a string (act, out_act), wider layers, one more, or half."""
    if field.metadata.get("choices"):
        return next(c for c in field.metadata["choices"] if c != value)
    if value is None or isinstance(value, str):
        return next(a for a in nets.ACTIVATIONS if a != value)
    if isinstance(value, tuple):
        return tuple(h + 1 for h in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.25
    raise TypeError(f"GANConfig.{field.name} = {value!r}: give this test another value of it")


@pytest.mark.parametrize("field", fields(gan.GANConfig), ids=lambda f: f.name)
def test_generate_is_the_generators_own_forward_pass_whatever_field_is_set(field):
    """Catches gan.generate's rebuilt config (the fields G(z) reads, listed by hand so that
    generators differing only in training settings share one program) missing a field that
    G(z) reads: it would take its default. Every field, at a value other than its default."""
    config = replace(BASE, **{field.name: other_value(field, getattr(BASE, field.name))})
    assert getattr(config, field.name) != field.default
    G, key, n = gan.init(config, seed=0)[0], jax.random.key(5), 6
    kz, ky = jax.random.split(key)  # as gan.models._generate splits it
    labels = jax.random.randint(ky, (n,), 0, config.num_classes) if config.num_classes else None
    own = G(gan.sample_latent(config, kz, n), labels)
    np.testing.assert_allclose(gan.generate(G, key, n), own, rtol=1e-5, atol=1e-6)
