"""The benchmark models through course_lib: the same sizes, losses, optimizers and batches as
bench_torch.py, trained by course_lib.train (many steps per compiled lax.scan call).

    python bench_jax.py {raschka_gan,ddpm,wgan_gp,matmul} SECONDS

Prints one JSON line: steps per second over about SECONDS (after a first call that compiles,
timed separately), the FLOPs of one step from XLA's cost analysis, and the achieved GFLOP/s.
"""

import json
import sys
import time

import jax
import optax
from flax import nnx

from course_lib import data, gan
from course_lib import diffusion as dm
from course_lib.train import TrainConfig, train

CHUNK = 500


def raschka_gan():
    cfg = gan.GANConfig(data_dim=784, latent_dim=20, hidden=(100,), act="leaky_relu",
                        out_act="tanh", d_dropout=0.5, latent="uniform", b1=0.9, b2=0.999)
    # Fresh uniform "images" per batch: a captured 60,000 x 784 array would be baked into
    # every compiled chunk as a 188 MB constant (that cost course_lib 4x here).
    def sample(key, n):
        return jax.random.uniform(key, (1, n, 784), minval=-1, maxval=1)  # one critic step

    return gan.train_step, gan.init(cfg, 0), sample, 64


def ddpm():
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=1000, hidden=(256, 256, 256)), rngs=nnx.Rngs(0))


    opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
    return dm.ddpm_train_step, (model, opt), lambda k, n: jax.random.normal(k, (n, 2)), 256


def wgan_gp():
    cfg = gan.GANConfig(data_dim=2, latent_dim=2, hidden=(512, 512, 512), loss="wgan_gp",
                        critic_steps=5, gp_weight=0.1, lr_g=1e-4, lr_d=1e-4, b1=0.5, b2=0.9)
    return gan.train_step, gan.init(cfg, 0), gan.batches(data.get("ring"), cfg), 256


def step_flops(step, objects, sample, batch):
    """XLA's count of floating-point operations in one training step."""
    graphdef, state = nnx.split(objects)

    def one(state, key):
        objs = nnx.merge(graphdef, state)
        k1, k2 = jax.random.split(key)
        step(*objs, sample(k1, batch), k2)
        return nnx.state(objs)

    cost = jax.jit(one).lower(state, jax.random.key(0)).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float(cost.get("flops", 0.0))


def measure(name, seconds):
    step, objects, sample, batch = {"raschka_gan": raschka_gan, "ddpm": ddpm,
                                    "wgan_gp": wgan_gp}[name]()
    flops = step_flops(step, objects, sample, batch)
    t0 = time.perf_counter()
    train(step, objects, sample, TrainConfig(steps=CHUNK, batch_size=batch, progress=False))
    first = time.perf_counter() - t0
    # Every train() call builds (and compiles, or loads from the persistent cache) its chunk
    # once; the difference of a long and a one-chunk call removes that fixed cost.
    t0 = time.perf_counter()
    train(step, objects, sample, TrainConfig(steps=CHUNK, batch_size=batch, progress=False))
    short = time.perf_counter() - t0
    chunks = max(2, int(seconds / short))
    t0 = time.perf_counter()
    train(step, objects, sample, TrainConfig(steps=CHUNK * chunks, batch_size=batch,
                                             steps_per_call=CHUNK, progress=False))
    long = time.perf_counter() - t0
    rate = CHUNK * (chunks - 1) / max(long - short, 1e-9)
    return {"steps_per_s": rate, "compile_s": max(first - CHUNK / rate, 0.0),
            "warm_call_overhead_s": max(short - CHUNK / rate, 0.0),
            "flops_per_step": flops, "gflops": rate * flops / 1e9}


def matmul(seconds, n=1024):
    a = jax.random.normal(jax.random.key(0), (n, n))
    f = jax.jit(lambda a: a @ a)
    f(a).block_until_ready()
    k, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        f(a).block_until_ready()
        k += 1
    return {"gflops": 2 * n**3 * k / (time.perf_counter() - t0) / 1e9}


if __name__ == "__main__":
    name, seconds = sys.argv[1], float(sys.argv[2])
    out = matmul(seconds) if name == "matmul" else measure(name, seconds)
    print(json.dumps(out | {"jax": jax.__version__, "devices": str(jax.devices())}))
