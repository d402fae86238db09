"""Train a small model with course_lib.train and save its losses and parameters.

Run in a fresh process so that XLA_FLAGS (the number of forced CPU devices) takes effect:
    XLA_FLAGS=--xla_force_host_platform_device_count=4 python sharded_run.py OUT.npz BATCH
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib import data, nets
from course_lib.train import TrainConfig, step_from_loss, train


def loss_fn(model, x, key):
    noisy = x + 0.3 * jax.random.normal(key, x.shape)
    return jnp.mean((model(noisy) - x) ** 2)


def main(out: str, batch_size: int) -> None:
    model = nets.MLP(2, [64, 64], 2, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
    history = train(step_from_loss(loss_fn), (model, opt), data.get("moons").sample,
                    TrainConfig(steps=200, batch_size=batch_size, steps_per_call=100,
                                progress=False))
    leaves = jax.tree.leaves(nnx.state(model, nnx.Param))
    sharding = str(leaves[0].sharding) if hasattr(leaves[0], "sharding") else ""
    np.savez(out, loss=history["loss"], devices=jax.device_count(), sharding=sharding,
             **{f"p{i}": np.asarray(x) for i, x in enumerate(leaves)})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
