"""course_lib against PyTorch eager, pair by pair, alternating, into RESULTS_bench.md.

    make bench      (creates .venv-bench with torch 2.13.0 on Python 3.11, then runs this)

Per model:
- compile: the program train() runs, built stage by stage in a fresh process with an empty
  persistent cache (cold), then in a second process with that cache filled (warm);
- REPEATS rounds of one PyTorch measurement then one course_lib measurement, each in a fresh
  process of its own environment timing about SECONDS after its warm-up, first with each
  side's default threads (torch: one per core; XLA: its own pool), then with both pinned
  to one core (os.sched_setaffinity; torch single-threaded). Alternating lets load from
  other users of the machine hit both sides alike; the one-core pairs are the ones load
  disturbs least (see RESULTS.md).
Prints one line per model, ``<model>: ratio <median>x (range a-b) ...`` with each side's
GFLOP/s as a fraction of the matmul rate measured in the same run and the ceiling (that rate
over PyTorch's), and writes benchmarks/RESULTS_bench.md with the load average before and
after each model. ``run.py MODEL ...`` measures only those models.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_lib.checkpoint import write_atomic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
JAX_PY = ROOT / ".venv" / "bin" / "python"
TORCH_PY = ROOT / ".venv-bench" / "bin" / "python"
MODELS = {"raschka_gan": "Raschka MLP GAN, 784 pixels, batch 64 (target 8x)",
          "ddpm": "DDPM, MLP noise predictor, 2D, T = 1000, batch 256 (target 5x)",
          "wgan_gp": "WGAN-GP on the ring, 3x512 MLPs, 5 critic steps, batch 256 (target 5x)",
          "mode_gan": "Mode-table GAN, 3x128, ring, batch 512, 5 seeds (course_lib ensemble; "
                      "PyTorch loops over the seeds) (target 5x)",
          "d_star": "D* check, D 1-64-64-1 alone against N(0, 1), batch 512 (target 5x)",
          "moons_ddpm": "Moons DDPM, T = 100, 3x128 TimeMLP, ELBO loss, batch 256 (target 5x)"}
REPEATS, SECONDS = 3, 3.0


def run(python, script, *args, env=None, one_core=False):
    """One measurement in a fresh process; one_core pins it to CPU 0 (XLA sizes its thread
    pools from the CPUs it may use, torch is told THREADS=1)."""
    pin = (lambda: os.sched_setaffinity(0, {0})) if one_core else None
    out = subprocess.run([str(python), str(HERE / script), *map(str, args)], cwd=HERE,
                         capture_output=True, text=True, check=True, preexec_fn=pin,
                         env=os.environ | (env or {})).stdout
    return json.loads(out.strip().splitlines()[-1])


def pairs(name, threads):
    """REPEATS alternating (PyTorch, course_lib) measurements; ratios and medians."""
    torch_runs, jax_runs = [], []
    for _ in range(REPEATS):
        torch_runs.append(run(TORCH_PY, "bench_torch.py", name, SECONDS, threads,
                              one_core=threads == 1))
        jax_runs.append(run(JAX_PY, "bench_jax.py", "rate", name, SECONDS,
                            one_core=threads == 1))
    ratios = [j["steps_per_s"] / t["steps_per_s"] for j, t in zip(jax_runs, torch_runs)]
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    return {"ratio": statistics.median(ratios), "lo": min(ratios), "hi": max(ratios),
            "jax": med(jax_runs, "steps_per_s"), "torch": med(torch_runs, "steps_per_s"),
            "jax_cores": med(jax_runs, "cores_busy"), "torch_cores": med(torch_runs, "cores_busy"),
            "first_call_s": med(jax_runs, "first_call_s")}


def main():
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    peak = {t: run(JAX_PY, "bench_jax.py", "matmul", SECONDS, one_core=t == 1)["gflops"]
            for t in (0, 1)}
    lines = [f"Run started {started}. float32 1024x1024 matmul through XLA in this run: "
             f"{peak[0]:.0f} GFLOP/s (both cores), {peak[1]:.0f} GFLOP/s (one core).", "",
             "| model | cores | PyTorch steps/s | course_lib steps/s | ratio median (range) | "
             "GFLOP/s PyTorch / course_lib (% of matmul) | cores busy PyTorch / course_lib |",
             "| --- " * 7 + "|"]
    extra = ["", "| model | matmul MFLOP/step (jaxpr) | XLA MFLOP/step | compile cold s "
             "(trace + lower + XLA) | compile warm s (trace + lower + cache load) | "
             "first train() call s | load average before / after |", "| --- " * 7 + "|"]
    chosen = sys.argv[1:] or list(MODELS)
    unknown = set(chosen) - set(MODELS)
    if unknown:
        raise SystemExit(f"unknown model(s) {', '.join(sorted(unknown))}; choose from "
                         f"{', '.join(MODELS)}")
    print(f"matmul {peak[0]:.0f} GFLOP/s on both cores, {peak[1]:.0f} on one; load "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    for name, label in ((n, MODELS[n]) for n in chosen):
        load0 = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as cache:
            env = {"JAX_COMPILATION_CACHE_DIR": cache}
            cold = run(JAX_PY, "bench_jax.py", "compile", name, env=env)
            warm = run(JAX_PY, "bench_jax.py", "compile", name, env=env)
        flops = cold["matmul_flops"]
        both = {t: pairs(name, t) for t in (0, 1)}
        load1 = os.getloadavg()[0]
        gf = {t: (both[t]["torch"] * flops / 1e9, both[t]["jax"] * flops / 1e9) for t in (0, 1)}
        d, s = both[0], both[1]
        print(f"{name}: ratio {d['ratio']:.2f}x (range {d['lo']:.2f}-{d['hi']:.2f}), course_lib "
              f"{d['jax']:.0f} steps/s, PyTorch {d['torch']:.1f} steps/s, course_lib "
              f"{gf[0][1]:.0f} GFLOP/s ({100 * gf[0][1] / peak[0]:.0f}% of matmul), PyTorch "
              f"{gf[0][0]:.0f} ({100 * gf[0][0] / peak[0]:.0f}%), ceiling "
              f"{peak[0] / gf[0][0]:.1f}x; "
              f"one core each: ratio {s['ratio']:.2f}x (range {s['lo']:.2f}-{s['hi']:.2f}), "
              f"course_lib {100 * gf[1][1] / peak[1]:.0f}% / PyTorch "
              f"{100 * gf[1][0] / peak[1]:.0f}% of matmul, ceiling {peak[1] / gf[1][0]:.1f}x; "
              f"compile cold {cold['total_s']:.1f} s, warm {warm['total_s']:.2f} s; "
              f"load {load0:.1f} -> {load1:.1f}", flush=True)
        for t, r in both.items():
            cores = "2 (default threads)" if t == 0 else "1 (pinned)"
            lines.append(
                f"| {label} | {cores} | {r['torch']:.1f} | {r['jax']:.1f}"
                f" | {r['ratio']:.2f}x ({r['lo']:.2f}-{r['hi']:.2f}) | {gf[t][0]:.0f} / "
                f"{gf[t][1]:.0f} ({100 * gf[t][0] / peak[t]:.0f}% / "
                f"{100 * gf[t][1] / peak[t]:.0f}%) | {r['torch_cores']:.2f} / "
                f"{r['jax_cores']:.2f} |")
        extra.append(
            f"| {label} | {flops / 1e6:.1f} | {cold['xla_flops'] / 1e6:.1f} | "
            f"{cold['total_s']:.1f} ({cold['trace_s']:.2f} + {cold['lower_s']:.2f} + "
            f"{cold['compile_s']:.1f}) | {warm['total_s']:.2f} ({warm['trace_s']:.2f} + "
            f"{warm['lower_s']:.2f} + {warm['compile_s']:.2f}) | {d['first_call_s']:.2f} | "
            f"{load0:.1f} / {load1:.1f} |")
    finished = time.strftime("%H:%M UTC", time.gmtime())
    text = "\n".join(lines + extra + ["", f"Run finished {finished}."]) + "\n"
    write_atomic(HERE / "RESULTS_bench.md", lambda f: f.write(text.encode()))


if __name__ == "__main__":
    sys.exit(main())
