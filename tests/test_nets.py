"""The shared building blocks: shapes, conditioning on t, and that they can learn."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from course_lib import nets
from course_lib.train import TrainConfig, step_from_loss, train


def test_mlp_shapes_activations_and_dropout():
    m = nets.MLP(3, [16, 16], 2, act="leaky_relu", out_act="tanh", rngs=nnx.Rngs(0))
    y = m(jnp.ones((5, 3)) * 100)
    assert y.shape == (5, 2) and float(jnp.abs(y).max()) <= 1.0  # tanh bounds the output
    assert len(m.layers) == 3
    d = nets.MLP(3, [64], 1, dropout=0.5, rngs=nnx.Rngs(0))
    x = jnp.ones((4, 3))
    assert not np.array_equal(d(x), d(x))  # dropout is active in training mode
    d.eval()
    np.testing.assert_array_equal(d(x), d(x))
    with pytest.raises(ValueError, match="unknown activation 'relu6'; accepted: relu"):
        nets.MLP(3, [4], 1, act="relu6", rngs=nnx.Rngs(0))


def test_fourier_features_are_bounded_and_distinguish_nearby_times():
    f = nets.FourierFeatures(64, scale=16.0, rngs=nnx.Rngs(0))
    e = f(jnp.array([0.50, 0.51]))
    assert e.shape == (2, 64) and float(jnp.abs(e).max()) <= 1.0
    # sin^2 + cos^2 = 1 for every frequency
    np.testing.assert_allclose(e[:, :32] ** 2 + e[:, 32:] ** 2, 1.0, rtol=1e-5)
    assert float(jnp.linalg.norm(e[0] - e[1])) > 0.5
    with pytest.raises(ValueError, match="even"):
        nets.FourierFeatures(3, rngs=nnx.Rngs(0))


def test_time_mlp_depends_on_t_and_broadcasts_a_scalar():
    m = nets.TimeMLP(2, [32], 2, rngs=nnx.Rngs(0))
    x = jnp.ones((4, 2))
    a, b = m(x, jnp.full(4, 0.1)), m(x, 0.9)
    assert a.shape == b.shape == (4, 2)
    assert not np.allclose(a, b)
    np.testing.assert_allclose(m(x, 0.1), a, rtol=1e-6)


@pytest.mark.parametrize("size", [8, 16])
def test_convnet_as_denoiser_and_as_classifier(size):
    den = nets.ConvNet(1, 8, 2, time_features=16, rngs=nnx.Rngs(0))
    x = jnp.ones((3, size, size))
    assert den(x, jnp.zeros(3)).shape == (3, size, size)
    assert den(x[..., None], 0.5).shape == (3, size, size, 1)
    assert not np.allclose(den(x, 0.0), den(x, 1.0))
    cls = nets.ConvNet(1, 8, 2, out_features=10, rngs=nnx.Rngs(0))
    assert cls(x).shape == (3, 10)


def test_time_mlp_learns_a_function_of_t():
    """Regress y = sin(2 pi t) x: the loss must fall far below that of ignoring t."""
    model = nets.TimeMLP(1, [64, 64], 1, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)

    def sample(key, n):
        k1, k2 = jax.random.split(key)
        return jax.random.normal(k1, (n, 1)), jax.random.uniform(k2, (n,))

    def loss(model, batch, key):
        x, t = batch
        return jnp.mean((model(x, t) - jnp.sin(2 * jnp.pi * t)[:, None] * x) ** 2)

    h = train(step_from_loss(loss), (model, opt), sample,
              TrainConfig(steps=1500, batch_size=128, progress=False))
    # ignoring t, the best predictor is 0 * x with loss E[sin^2] E[x^2] = 0.5
    assert h["loss"][-100:].mean() < 0.05
