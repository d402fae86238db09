"""course_lib against PyTorch eager, pair by pair, alternating, and into RESULTS.md.

    make bench      (creates .venv-bench with torch 2.13.0 on Python 3.11, then runs this)

For each model, REPEATS rounds of: one PyTorch measurement, one course_lib measurement, each
in a fresh process of its own environment, each timing about SECONDS after its warm-up.
Alternating lets load on the machine hit both sides alike. Prints one line per model:
``<model>: ratio <median>x (range a-b) ...`` and writes benchmarks/RESULTS_bench.md.
"""

import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
JAX_PY = ROOT / ".venv" / "bin" / "python"
TORCH_PY = ROOT / ".venv-bench" / "bin" / "python"
MODELS = {"raschka_gan": "Raschka MLP GAN, 784 pixels, batch 64 (target 8x)",
          "ddpm": "DDPM, MLP noise predictor, 2D, T = 1000, batch 256 (target 5x)",
          "wgan_gp": "WGAN-GP on the ring, 3x512 MLPs, 5 critic steps, batch 256 (target 5x)"}
REPEATS, SECONDS = 3, 2.0


def run(python, script, *args):
    out = subprocess.run([str(python), str(HERE / script), *map(str, args)], cwd=HERE,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    peak = run(JAX_PY, "bench_jax.py", "matmul", SECONDS)["gflops"]
    lines = [f"float32 1024x1024 matmul through XLA in this run: {peak:.0f} GFLOP/s", ""]
    table = ["| model | PyTorch steps/s | course_lib steps/s | ratio median (range) | "
             "course_lib GFLOP/s (% of matmul) | compile s |", "| --- " * 6 + "|"]
    for name, label in MODELS.items():
        torch_rates, jax_runs = [], []
        for _ in range(REPEATS):
            torch_rates.append(run(TORCH_PY, "bench_torch.py", name, SECONDS)["steps_per_s"])
            jax_runs.append(run(JAX_PY, "bench_jax.py", name, SECONDS))
        ratios = [j["steps_per_s"] / t for j, t in zip(jax_runs, torch_rates)]
        jr = statistics.median(j["steps_per_s"] for j in jax_runs)
        tr = statistics.median(torch_rates)
        gf = statistics.median(j["gflops"] for j in jax_runs)
        cs = statistics.median(j["compile_s"] for j in jax_runs)
        line = (f"{name}: ratio {statistics.median(ratios):.2f}x (range {min(ratios):.2f}-"
                f"{max(ratios):.2f}), course_lib {jr:.0f} steps/s, PyTorch {tr:.0f} steps/s, "
                f"{gf:.0f} GFLOP/s ({100 * gf / peak:.0f}% of matmul), compile {cs:.2f} s")
        print(line, flush=True)
        table.append(f"| {label} | {tr:.0f} | {jr:.0f} | {statistics.median(ratios):.2f}x "
                     f"({min(ratios):.2f}-{max(ratios):.2f}) | {gf:.0f} ({100 * gf / peak:.0f}%)"
                     f" | {cs:.2f} |")
    (HERE / "RESULTS_bench.md").write_text("\n".join(lines + table) + "\n")


if __name__ == "__main__":
    sys.exit(main())
