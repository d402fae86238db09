"""Steps per second of course_lib.train on a small MLP, and against forced CPU device count.

    python benchmarks/train_speed.py            # one device: compile time and steps/s
    python benchmarks/train_speed.py --scaling  # 1, 2, 4 forced CPU devices, a process each

Each figure is the median of 5 timed repetitions after a warm-up call; the program is
compiled once (the warm-up) and every repetition runs 10,000 steps in 20 scan calls.
"""

import json
import os
import subprocess
import sys
import time


def measure(steps: int = 10_000, batch_size: int = 128, repeats: int = 5) -> dict:
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

    def run(n):
        model = nets.MLP(2, [64, 64], 2, rngs=nnx.Rngs(0))
        opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
        t0 = time.perf_counter()
        train(step_from_loss(loss_fn), (model, opt), data.get("moons").sample,
              TrainConfig(steps=n, batch_size=batch_size, progress=False))
        return time.perf_counter() - t0

    first = run(steps)  # includes tracing and compilation (or a persistent-cache hit)
    times = [run(steps) for _ in range(repeats)]
    med = float(np.median(times))
    return {"devices": jax.device_count(), "steps": steps, "batch_size": batch_size,
            "first_call_s": round(first, 3), "median_s": round(med, 3),
            "steps_per_s": round(steps / med), "range_steps_per_s":
            [round(steps / max(times)), round(steps / min(times))]}


if __name__ == "__main__":
    if "--scaling" in sys.argv:
        for n in (1, 2, 4):
            env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
            out = subprocess.run([sys.executable, __file__], env=env, capture_output=True,
                                 text=True, check=True).stdout
            print(out.strip())
    else:
        print(json.dumps(measure()))
