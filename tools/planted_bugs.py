"""Plant the bugs of issue 20's table, one at a time, in a scratch copy of the repository, and
check that each makes at least one unit test fail (a test exists to catch a bug).

    python tools/planted_bugs.py              # every bug
    python tools/planted_bugs.py kl_flip      # one

The working tree is never edited: each bug is planted in build/planted/<name>/ (course_lib
and tests copied, data linked), where the tests run against the planted library. The code to
change is found by its text anywhere under course_lib/, so the table survives files moving.
Exit status 1 if some planted bug passes every test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name: (what the bug is, [(text, planted text[, another spelling, its planted text])], tests);
# the first spelling found exactly once under course_lib/ is planted
BUGS = {
    "kl_flip": ("Gaussian KL's log-variance term as log(var_q/var_p)",
                [("xp.log(var_p / var_q)", "xp.log(var_q / var_p)")],
                ["tests/test_math_gaussian.py", "tests/test_math_diffusion.py"]),
    "prior_kl_doubled": ("KL to N(0, I) doubled",
                         [("return jnp.sum(kl.reshape(", "return 2 * jnp.sum(kl.reshape(")],
                         ["tests/test_math_gaussian.py", "tests/test_math_diffusion.py"]),
    "abar_prev_off_by_one": ("DDPM's alpha_bar_{t-1} read one index off",
                             [("ab_ext[t - 1][:, None]", "ab_ext[t][:, None]")],
                             ["tests/test_math_diffusion.py"]),
    "beta_tilde_abar_t": ("DDPM's posterior variance with alpha_bar_t for alpha_bar_{t-1}",
                          [("beta_tilde = betas * (1 - ab_prev) / (1 - ab)",
                            "beta_tilde = betas * (1 - ab) / (1 - ab)")],
                          ["tests/test_math_diffusion.py"]),
    "posterior_var_abar_t": ("Eq. 84's variance with alpha_bar_t for alpha_bar_{t-1}",
                             [("var = (1 - alpha_t) * (1 - alpha_bar_prev) / (1 - alpha_bar_t)",
                               "var = (1 - alpha_t) * (1 - alpha_bar_t) / (1 - alpha_bar_t)")],
                             ["tests/test_math_gaussian.py"]),
    "decoder_half_bin": ("discretised decoder's bin edges shifted by half a bin",
                         [("ndtr((x0 + half - mean) / std)", "ndtr((x0 + 2 * half - mean) / std)"),
                          ("ndtr((x0 - half - mean) / std)", "ndtr((x0 - mean) / std)")],
                         ["tests/test_math_diffusion.py", "-k", "decoder"]),
    "gp_eps_normal": ("gradient-penalty interpolation weight drawn from N(0, 1)",
                      [("eps = jax.random.uniform(key,", "eps = jax.random.normal(key,")],
                      ["tests/test_math_gan.py", "-k", "penalty"]),
    "mode_max_norm": ("mode coverage with the max-norm instead of the Euclidean distance",
                      [("d = np.linalg.norm(x[:, None, :] - means[None], axis=-1)",
                        "d = np.abs(x[:, None, :] - means[None]).max(-1)")],
                      ["tests/test_metrics.py"]),
    "ising_axis_twice": ("Ising energy counting one axis twice",
                         [("bonds = s * (jnp.roll(s, 1, -1) + jnp.roll(s, 1, -2))",
                           "bonds = s * (jnp.roll(s, 1, -1) + jnp.roll(s, 1, -1))")],
                         ["tests/test_math_ising.py"]),
    "instance_noise_off": ("instance noise never applied in training",
                           [("        if not config.instance_noise:\n            return x\n",
                             "        return x\n")],
                           ["tests/test_math_gan.py", "-k", "instance"]),
    "critic_lr_own_count": ("the critic's learning-rate schedule counting its own updates",
                            [("learning_rate(config, config.lr_d, config.critic_steps)",
                              "learning_rate(config, config.lr_d)")],
                            ["tests/test_training_reaches.py", "-k", "decay"]),
}


def plant(name: str) -> tuple[bool, list[str]]:
    """(caught, failing tests) for one planted bug."""
    _, edits, tests = BUGS[name]
    tree = ROOT / "build" / "planted" / name
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    for d in ("course_lib", "tests"):
        shutil.copytree(ROOT / d, tree / d, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree)
    (tree / "data").symlink_to(ROOT / "data")
    for alternatives in edits:
        for old, new in zip(alternatives[::2], alternatives[1::2]):
            hits = [p for p in (tree / "course_lib").rglob("*.py") if old in p.read_text()]
            if len(hits) == 1 and hits[0].read_text().count(old) == 1:
                hits[0].write_text(hits[0].read_text().replace(old, new))
                break
        else:
            raise SystemExit(f"planted_bugs: {name}: none of {alternatives[::2]} occurs exactly "
                             f"once under course_lib/ (update the table)")
    # test files are named by their file name, wherever they live under tests/
    args = [str(next((tree / "tests").rglob(Path(a).name)).relative_to(tree))
            if a.endswith(".py") else a for a in tests]
    # the current directory comes first on sys.path: the planted copy is the one imported
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--tb=no", "-rf", *args], cwd=tree, capture_output=True, text=True)
    failed = [line.split(" ", 1)[1].split(" - ")[0] for line in r.stdout.splitlines()
              if line.startswith("FAILED")]
    shutil.rmtree(tree)
    return r.returncode == 1 and bool(failed), failed


def main(argv: list[str]) -> int:
    names = argv or list(BUGS)
    unknown = [n for n in names if n not in BUGS]
    if unknown:
        raise SystemExit(f"planted_bugs: unknown bug(s) {', '.join(unknown)}; accepted: "
                         + ", ".join(BUGS))
    missed = []
    for name in names:
        caught, failed = plant(name)
        print(f"{'caught' if caught else 'MISSED'}: {BUGS[name][0]}: {len(failed)} failing, "
              f"e.g. {failed[0] if failed else '-'}", flush=True)
        if not caught:
            missed.append(name)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
