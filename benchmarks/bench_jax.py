"""The benchmark models through course_lib: the same networks, losses, optimizers, batches
and data as bench_torch.py, trained by course_lib.train (many steps per compiled lax.scan).

    python bench_jax.py rate    MODEL SECONDS
    python bench_jax.py compile MODEL
    python bench_jax.py matmul  SECONDS
    python bench_jax.py --only  MODEL [SECONDS]     (the JAX side alone: a readable line)

MODEL: raschka_gan, ddpm, wgan_gp (large programs), mode_gan (five seeds of week 16's mode
table at once), d_star (week 16's D* check), moons_ddpm (week 17's moons DDPM).

rate:    steps per second of the compiled program train() runs, over about SECONDS after a
         first call that compiles it (or loads it from the persistent cache), and the cores
         the process kept busy.
compile: the program train() runs, built stage by stage (jax.stages): trace, lower, and XLA
         compile, or load from the persistent cache when JAX_COMPILATION_CACHE_DIR already
         holds it; and the FLOPs of one step, counted twice: matmul FLOPs summed over the
         dot_generals of the step's jaxpr (2 m n k each), and XLA's cost analysis.
matmul:  float32 1024 x 1024 matmuls through XLA: the machine's matmul rate, the peak the
         models' GFLOP/s are compared with.
Each prints one JSON line.
"""

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib import data, gan, scan_chunk
from course_lib import diffusion as dm
from course_lib.scan_chunk import stack

STEPS_PER_CALL = {"raschka_gan": 500, "ddpm": 250, "wgan_gp": 4,  # ~0.5 s a call, quiet
                  "mode_gan": 500, "d_star": 500, "moons_ddpm": 500}  # train()'s default


def raschka_gan():
    cfg = gan.GANConfig(data_dim=784, latent_dim=20, hidden=(100,), act="leaky_relu",
                        out_act="tanh", d_dropout=0.5, latent="uniform", b1=0.9, b2=0.999)
    # MNIST-sized images in [-1, 1], drawn with replacement as bench_torch.py does;
    # train() passes the 188 MB array to the compiled program as an argument.
    images = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (60_000, 784)), jnp.float32)

    def sample(key, n):  # gan.batches' layout: (critic_steps = 1, n, 784)
        return images[jax.random.randint(key, (n,), 0, len(images))][None]

    return gan.train_step, gan.init(cfg, 0), sample, 64


def ddpm():
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=1000, hidden=(256, 256, 256)), rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
    return dm.ddpm_train_step, (model, opt), lambda k, n: jax.random.normal(k, (n, 2)), 256


def wgan_gp():
    cfg = gan.GANConfig(data_dim=2, latent_dim=2, hidden=(512, 512, 512), loss="wgan_gp",
                        critic_steps=5, gp_weight=0.1, lr_g=1e-4, lr_d=1e-4, b1=0.5, b2=0.9)
    return gan.train_step, gan.init(cfg, 0), gan.batches(data.get("ring"), cfg), 256


SEEDS = 5  # the mode table's seeds


def mode_gan():
    """Week 16's mode table: 3x128 GANs on the ring, batch 512, five seeds in one program
    (train_ensemble); one step here is one step of every seed."""
    cfg = gan.GANConfig(data_dim=2, latent_dim=2, hidden=(128, 128, 128), lr_g=1e-3, lr_d=1e-3)
    members = [gan.init(cfg, s) for s in range(SEEDS)]
    return gan.train_step, members, gan.batches(data.get("ring"), cfg), 512


def d_star():
    """Week 16's D* check: D (1-64-64-1) alone against p_g = N(0, 1), data N(2, 0.5^2)."""
    cfg = gan.GANConfig(data_dim=1, latent_dim=1, hidden=(64, 64), lr_d=3e-3)
    _, D, _, opt_D = gan.init(cfg, 0)
    step = gan.discriminator_only_step(lambda key, n: jax.random.normal(key, (n, 1)))
    return step, (D, opt_D), data.gaussian_1d(2.0, 0.5).sample, 512


def moons_ddpm():
    """Week 17's moons DDPM: T = 100, 3x128 TimeMLP, the ELBO loss, batch 256 (the
    notebook's train_ddpm)."""
    cfg = dm.DDPMConfig(data_dim=2, T=100, beta_1=1e-3, beta_T=0.2, parameterization="noise",
                        loss="elbo", hidden=(128, 128, 128))
    model = dm.DDPM(cfg, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adam(cfg.lr), wrt=nnx.Param)
    return dm.ddpm_train_step, (model, opt), data.get("moons").sample, 256


MODELS = {"raschka_gan": raschka_gan, "ddpm": ddpm, "wgan_gp": wgan_gp, "mode_gan": mode_gan,
          "d_star": d_star, "moons_ddpm": moons_ddpm}


def matmul_flops(jaxpr) -> int:
    """2 m n k summed over every dot_general, inner jaxprs included (scan bodies times their
    length): the FLOPs of the matrix products, counted from the program itself."""
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            k = np.prod([eqn.invars[0].aval.shape[d] for d in contract])
            total += 2 * int(np.prod(eqn.outvars[0].aval.shape)) * int(k)
        times = eqn.params.get("length", 1) if eqn.primitive.name == "scan" else 1
        for value in eqn.params.values():
            for sub in value if isinstance(value, tuple | list) else (value,):
                sub = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr's Jaxpr
                if isinstance(sub, jax.extend.core.Jaxpr):
                    total += times * matmul_flops(sub)
    return total


def build(name):
    """(step, objects, sample, batch, members): members > 0 for an ensemble, whose objects
    are then the first member's and whose stacked state the chunk takes."""
    step, objects, sample, batch = MODELS[name]()
    if isinstance(objects, list):
        return step, objects, sample, batch, len(objects)
    return step, objects, sample, batch, 0


def chunk_and_args(name):
    """The program train() (or train_ensemble) runs, and its arguments."""
    step, objects, sample, batch, members = build(name)
    if members:
        state = stack([nnx.split(m)[1] for m in objects])
        key = jnp.stack([jax.random.key(s) for s in range(members)])
        graphdef = nnx.split(objects[0])[0]
    else:
        graphdef, state = nnx.split(objects)
        key = jax.random.key(0)
    chunk, data_args = scan_chunk.make_chunk(step, graphdef, sample, batch, ensemble=bool(members))
    return chunk, state, data_args, key


def one_step(name):
    """One training step (of one member) as a pure function of (state, key), and its
    example arguments."""
    step, objects, sample, batch, members = build(name)
    graphdef, state = nnx.split(objects[0] if members else objects)

    def one(state, key):
        objects = nnx.merge(graphdef, state)
        data_key, noise_key = jax.random.split(key)
        metrics = step(*objects, sample(data_key, batch), noise_key)
        return nnx.state(objects), metrics

    return one, (state, jax.random.key(0))


def compile_stages(name):
    members = build(name)[4] or 1
    t0 = time.perf_counter()
    chunk, state, data_args, key = chunk_and_args(name)
    traced = chunk.trace(state, data_args, key, 0, STEPS_PER_CALL[name])
    t1 = time.perf_counter()
    lowered = traced.lower()
    t2 = time.perf_counter()
    lowered.compile()
    t3 = time.perf_counter()
    one, args = one_step(name)
    cost = jax.jit(one).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return {"trace_s": t1 - t0, "lower_s": t2 - t1, "compile_s": t3 - t2,
            "total_s": t3 - t0, "xla_flops": members * float(cost.get("flops", 0.0)),
            "matmul_flops": members * matmul_flops(jax.make_jaxpr(one)(*args).jaxpr)}


def rate(name, seconds):
    """Steps per second of the program train() compiles, called the way train() calls it:
    one lax.scan of STEPS_PER_CALL steps a call, the metrics fetched to the host after each.
    (A train() call also traces its program once, 0.1-0.5 s, spread over all its steps.)"""
    n = STEPS_PER_CALL[name]
    chunk, state, data_args, key = chunk_and_args(name)
    t0 = time.perf_counter()
    state, metrics = chunk(state, data_args, key, 0, n)  # compiles, or loads from the cache
    jax.device_get(metrics)
    first = time.perf_counter() - t0
    calls, t0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        calls += 1
        state, metrics = chunk(state, data_args, key, calls * n, n)
        jax.device_get(metrics)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"steps_per_s": calls * n / wall, "cores_busy": cpu / wall, "first_call_s": first}


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
    mode = sys.argv[1]
    if mode == "--only":  # the JAX side alone, e.g. on a GPU: steps per second, readable
        name, seconds = sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
        out = rate(name, seconds)
        print(f"{name}: {out['steps_per_s']:.1f} steps/s on {jax.devices()[0].device_kind} "
              f"(first call {out['first_call_s']:.2f} s)")
    elif mode == "matmul":
        out = matmul(float(sys.argv[2]))
    elif mode == "compile":
        out = compile_stages(sys.argv[2])
    else:
        out = rate(sys.argv[2], float(sys.argv[3]))
    print(json.dumps(out | {"jax": jax.__version__, "devices": str(jax.devices())}))
