"""How fast `make retrain` could be at best: the FLOPs its GAN files need, over the matmul rate.

    .venv/bin/python benchmarks/retrain_floor.py

For every shipped GAN file trained on the CPU (week16_gans, whose sidecar records "gan" and
"train"), the FLOPs of one training step (XLA's cost analysis of the step for that file's
config and batch, as bench_jax.py counts them) times the steps the sidecar records. Summed,
and divided by the float32 1024 x 1024 matmul rate measured in the same process, this is the
time those files need at the machine's best dense rate: a floor that no schedule, ensemble or
compiler setting can go under. The other files (diffusion, classifiers) only add to it.
Prints one line per setting and the total, with the load average before and after.
"""

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
from flax import nnx

from course_lib import gan
from course_lib.config import from_dict
from course_lib.pretrained import PRETRAINED_DIR
from course_lib.train import TrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_jax import matmul  # noqa: E402  (the bench's own matmul rate)


def step_flops(config: gan.GANConfig, batch: int) -> float:
    """XLA's FLOP count of one train step of ``config`` on a batch of ``batch`` rows."""
    objects = gan.init(config, 0)
    graphdef, state = nnx.split(objects)
    k = config.critic_steps
    x = jnp.zeros((k, batch, config.data_dim), jnp.float32)
    data = (x, jnp.zeros((k, batch), jnp.int32)) if config.num_classes else x

    def one(state, key):
        objects = nnx.merge(graphdef, state)
        gan.train_step(*objects, data, key)
        return nnx.state(objects)

    cost = jax.jit(one).lower(state, jax.random.key(0)).compile().cost_analysis()
    return float((cost[0] if isinstance(cost, list) else cost)["flops"])


def main():
    load0 = os.getloadavg()[0]
    rate = matmul(3.0)["gflops"] * 1e9
    groups: dict[str, list] = {}
    for path in sorted(PRETRAINED_DIR.glob("week16_gans/*.json")):
        info = json.loads(path.read_text())
        saved = info["config"]
        if not {"gan", "train"} <= set(saved) or "labels" in saved or not info.get("steps"):
            continue  # the classifiers and the semi-supervised GAN: not in this floor
        config, run = from_dict(gan.GANConfig, saved["gan"]), from_dict(TrainConfig, saved["train"])
        setting = path.stem.split("_seed")[0]
        groups.setdefault(setting, []).append((config, run, info["steps"]))
    total_flops, cache = 0.0, {}
    print(f"float32 matmul: {rate / 1e9:.0f} GFLOP/s on {os.cpu_count()} cores; load {load0:.1f}")
    print(f"{'setting':34} {'files':>5} {'steps each':>10} {'GFLOP/step':>10} {'floor s':>8}")
    for setting, runs in groups.items():
        flops = 0.0
        for config, run, steps in runs:
            key = (json.dumps(dataclasses.asdict(config), sort_keys=True), run.batch_size)
            if key not in cache:
                cache[key] = step_flops(config, run.batch_size)
            flops += cache[key] * steps
        total_flops += flops
        per_step = flops / runs[0][2] / len(runs)
        print(f"{setting:34} {len(runs):5d} {runs[0][2]:10d} {per_step / 1e9:10.3f} "
              f"{flops / rate:8.0f}")
    print(f"GAN files: {sum(map(len, groups.values()))}; {total_flops / 1e12:.0f} TFLOP; floor "
          f"{total_flops / rate:.0f} s = {total_flops / rate / 60:.1f} min at the matmul rate "
          f"(load {load0:.1f} -> {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")


if __name__ == "__main__":
    main()
