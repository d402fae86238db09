"""make mutation: mutation testing of the numerical core with cosmic-ray.

Each target below is a file, the functions in it that hold mathematics (KLs, schedules,
posteriors, decoders, ELBO terms, GAN losses and penalty, metrics, Ising observables, the
exact HVAE reference) and the tests that protect them. For every target, cosmic-ray plants
one small change at a time (an operator, a number, a comparison) in a scratch copy of the
repository and runs those tests; a mutant that no test notices "survives". The surviving
mutants are written to build/mutation/report.md and the score (killed / tested) is printed.

Why cosmic-ray: it runs every mutant's tests in a fresh process. mutmut 3 forks a process
that has already imported and initialised JAX for each mutant, which JAX does not support
(its thread pools do not survive a fork), and it rewrites every function into a trampoline,
which changes what jax.jit traces.

Scope, to finish on a shared 2-core machine: only the functions named below are mutated,
with one mutant per operator (see KEEP: the inverse operator, not all eleven replacements
cosmic-ray knows, most of which, such as bit operations on floats, only raise TypeError and
are killed by any test that runs the line); each mutant runs its target's tests with -x
(stop at the first failure). Usage:

    python tools/mutation.py                 # every target
    python tools/mutation.py metrics ising   # some targets
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "mutation"
COSMIC_RAY = str(Path(sys.executable).parent / "cosmic-ray")  # installed with the dev extra


@dataclass(frozen=True)
class Target:
    """Functions (``name``, ``Class.method``, or ``Class`` for all its methods; ``a|b``: either
    spelling) wherever they are defined under course_lib/, and the tests that protect them
    (test file names or test function names, found under tests/; the fastest first: each
    mutant stops at its first failing test)."""

    name: str
    functions: tuple[str, ...]
    tests: tuple[str, ...]


TARGETS = [
    Target("gaussian",
           ("gaussian_kl", "kl_to_standard_normal", "q_step", "q_sample", "q_posterior",
            "x0_from_noise", "x0_from_score", "score_from_noise", "bin_centres",
            "discretized_gaussian_log_prob", "normal_log_prob"),
           ("test_normal.py", "test_math_gaussian.py", "test_the_three_parameterisations_agree",
            "test_math_diffusion.py")),
    Target("schedules",
           ("check_betas", "linear_betas", "cosine_betas", "alpha_bar", "snr",
            "gamma_from_alpha_bar", "check_snr_decreasing", "LinearGamma"),
           ("test_schedules_and_their_validation", "test_math_gaussian.py",
            "test_math_diffusion.py")),
    Target("elbo",
           ("DDPM.__init__", "DDPM._coefs", "DDPM.reverse_variance",
            "DDPM.elbo_terms", "DDPM.p_mean_var", "DDPM.sample",
            "VDM.elbo_terms", "VDM.sample", "negative_elbo",
            "BinomialDiffusion.abar", "BinomialDiffusion.q_prob",
            "BinomialDiffusion.posterior_prob", "BinomialDiffusion.p_prob",
            "BinomialDiffusion.elbo_terms"),
           ("test_binomial_kernel_forgets_linearly_and_its_posterior_is_bayes",
            "test_math_diffusion.py")),
    Target("gan_losses",
           ("value_function", "discriminator_loss", "generator_loss_minimax",
            "generator_loss_non_saturating", "critic_loss_wasserstein", "gradient_penalty",
            "learning_rate", "instance_noise_std"),
           ("test_losses_at_an_undecided_discriminator",
            "test_saturating_loss_gradient_vanishes_when_d_rejects_samples",
            "test_learning_rate_is_constant_then_a_cosine_to_zero",
            "test_wgan_gp_command_line_schedule_is_counted_in_generator_steps",
            "test_math_gan.py")),
    Target("metrics", ("mode_coverage", "mmd", "wasserstein_1d"), ("test_metrics.py",)),
    Target("ising",
           ("neighbour_sum", "energy_per_site", "magnetization_per_site", "exact_observables",
            "mean_and_error", "_check"),
           ("test_math_ising.py", "test_ising_observables_on_known_configurations")),
    Target("hvae", ("LinearGaussianHVAE",),
           ("test_elbo_equals_log_likelihood_minus_posterior_kl", "test_math_diffusion.py",
            "test_monte_carlo_estimators_are_unbiased_and_denoising_has_less_variance")),
]


def resolve_tests(tree: Path, tests) -> list[str]:
    """pytest arguments from test file names and test function names, wherever they live
    under tests/ (the tests move with the packages they protect)."""
    files = sorted((tree / "tests").rglob("test_*.py"))
    out = []
    for t in tests:
        if t.endswith(".py"):
            hits = [f for f in files if f.name == t]
            ids = [str(f.relative_to(tree)) for f in hits]
        else:
            hits = [f for f in files if f"def {t}(" in f.read_text()]
            ids = [f"{f.relative_to(tree)}::{t}" for f in hits]
        if not ids:
            raise SystemExit(f"mutation: no test file or function '{t}' under tests/ "
                             f"(update the table in tools/mutation.py)")
        out += ids
    return out


def definitions(path: Path) -> dict[str, ast.AST]:
    """Top-level functions and classes of a file, and the classes' methods as Class.method."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            found[node.name] = node
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef):
                        found[f"{node.name}.{sub.name}"] = sub
    return found


def locate(tree: Path, names) -> dict[str, list[tuple[int, int]]]:
    """{file: [(first line, last line) of each named definition in it]} under course_lib/."""
    files = {p.relative_to(tree).as_posix(): definitions(p)
             for p in sorted((tree / "course_lib").rglob("*.py"))}
    ranges: dict[str, list[tuple[int, int]]] = {}
    for spelling in names:
        hits = [(f, defs[n]) for n in spelling.split("|") for f, defs in files.items()
                if n in defs]
        if not hits:
            raise SystemExit(f"mutation: {spelling} is defined nowhere under course_lib/ "
                             f"(update the table in tools/mutation.py)")
        for f, node in hits:
            ranges.setdefault(f, []).append((node.lineno, node.end_lineno))
    return ranges


# One mutant per operator, the one a slip of the pen makes: + - * / ** by their inverse
# (+ <-> -, * <-> /, ** -> *), a comparison's boundary moved or negated (< to <= or >=),
# a unary minus dropped, a `not` dropped or added, True <-> False, and <-> or, a loop that
# runs zero times, and every number n replaced by n + 1 and n - 1.
KEEP = {"ReplaceBinaryOperator_" + p for p in ("Add_Sub", "Sub_Add", "Mul_Div", "Div_Mul",
                                                "Pow_Mul")}
KEEP |= {"ReplaceComparisonOperator_" + p for p in (
    "Lt_LtE", "Lt_GtE", "LtE_Lt", "LtE_Gt", "Gt_GtE", "Gt_LtE", "GtE_Gt", "GtE_Lt",
    "Eq_NotEq", "NotEq_Eq", "Is_IsNot", "IsNot_Is")}
KEEP |= {"ReplaceUnaryOperator_USub_UAdd", "ReplaceUnaryOperator_Delete_Not", "AddNot",
         "ReplaceTrueWithFalse", "ReplaceFalseWithTrue", "ReplaceAndWithOr", "ReplaceOrWithAnd",
         "ZeroIterationForLoop", "NumberReplacer"}


def kept(operator: str) -> bool:
    return operator.removeprefix("core/") in KEEP


def docstring_lines(source: str) -> set[int]:
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def scratch_copy() -> Path:
    """The repository's library and tests in build/mutation/tree: cosmic-ray edits files in
    place, so it never touches the working tree (data/ is linked, not copied)."""
    tree = OUT / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    for name in ("course_lib", "tests"):
        shutil.copytree(ROOT / name, tree / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    (tree / "data").symlink_to(ROOT / "data")
    return tree


def run_target(target: Target, tree: Path, timeout: float, sample: int) -> dict:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    tests = " ".join(resolve_tests(tree, target.tests))
    sessions, in_scope, skip = [], [], {}
    for i, (path, ranges) in enumerate(locate(tree, target.functions).items()):
        cfg, db = OUT / f"{target.name}-{i}.toml", OUT / f"{target.name}-{i}.sqlite"
        cfg.write_text(
            "[cosmic-ray]\n"
            f'module-path = "{path}"\n'
            f"timeout = {timeout}\n"
            "excluded-modules = []\n"
            f'test-command = "{sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"\n'
            "[cosmic-ray.distributor]\n"
            'name = "local"\n')
        if db.exists():
            db.unlink()
        subprocess.run([COSMIC_RAY, "init", str(cfg), str(db)], cwd=tree, check=True)
        doc = docstring_lines((tree / path).read_text())
        skip[db] = []
        with use_db(str(db), WorkDB.Mode.open) as work_db:
            for item in work_db.pending_work_items:
                m = item.mutations[0]
                line = m.start_pos[0]
                inside = any(a <= line <= b for a, b in ranges) and line not in doc
                if inside and kept(m.operator_name):
                    in_scope.append((str(db), item.job_id))
                else:
                    skip[db].append(item.job_id)
        sessions.append((path, cfg, db))
    population = len(in_scope)
    if sample and sample < population:  # a fixed random sample: the same on every run
        chosen = set(random.Random(target.name).sample(sorted(in_scope), sample))
        for db, job in in_scope:
            if (db, job) not in chosen:
                skip[Path(db)].append(job)
    tested = population - (population - sample if sample and sample < population else 0)
    files = [path for path, _, _ in sessions]
    print(f"mutation: {target.name}: {population} mutants in {len(target.functions)} functions "
          f"of {', '.join(files)}; {tested} tested", flush=True)
    results = {"killed": 0, "survived": 0, "incompetent": 0, "error": 0, "survivors": [],
               "population": population, "files": files}
    t0 = time.time()
    for path, cfg, db in sessions:
        with use_db(str(db), WorkDB.Mode.open) as work_db:
            work_db.set_multiple_results(skip[db],
                                         WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
        subprocess.run([COSMIC_RAY, "exec", str(cfg), str(db)], cwd=tree, check=True)
        with use_db(str(db), WorkDB.Mode.open) as work_db:
            for item, result in work_db.completed_work_items:
                if result.worker_outcome == WorkerOutcome.SKIPPED:
                    continue
                if result.worker_outcome != WorkerOutcome.NORMAL:
                    results["error"] += 1
                elif result.test_outcome.value == "survived":
                    results["survived"] += 1
                    m = item.mutations[0]
                    results["survivors"].append({"file": path, "line": m.start_pos[0],
                                                 "operator": m.operator_name,
                                                 "diff": result.diff or ""})
                elif result.test_outcome.value == "killed":
                    results["killed"] += 1
                else:
                    results["incompetent"] += 1
    seconds = time.time() - t0
    results["seconds"] = round(seconds)
    print(f"mutation: {target.name}: {results['killed']} killed, {results['survived']} "
          f"survived, {results['incompetent']} incompetent, {results['error']} errors, "
          f"{seconds:.0f} s", flush=True)
    return results


def report(all_results: dict[str, dict], targets: list[Target], sample: int) -> str:
    killed = sum(r["killed"] + r["incompetent"] for r in all_results.values())
    survived = sum(r["survived"] for r in all_results.values())
    population = sum(r["population"] for r in all_results.values())
    total = killed + survived
    lines = ["# Mutation testing of the numerical core (make mutation)", "",
             "Killed counts mutants that made a test fail or the code not run (incompetent).",
             "Mutants tested: " + (f"a fixed random sample of {sample} per target."
                                   if sample else "all."),
             "", "| target | file | mutants | tested | killed | survived | seconds |",
             "|---|---|---|---|---|---|---|"]
    for name, r in all_results.items():
        k = r["killed"] + r["incompetent"]
        lines.append(f"| {name} | {', '.join(r['files'])} | {r['population']} | "
                     f"{k + r['survived']} | {k} | {r['survived']} | {r['seconds']} |")
    score = killed / total if total else float("nan")
    # binomial standard error of a sample's fraction, with the finite-population correction
    se = (np.sqrt(score * (1 - score) / total * (1 - total / population))
          if total and population > 1 else 0.0)
    lines += ["", f"Score: {killed} / {total} killed = {100 * score:.1f} % "
              f"(+- {100 * se:.1f} %, of {population} mutants in scope)", ""]
    for name, r in all_results.items():
        if r["survivors"]:
            lines += [f"## Survivors in {name}", ""]
            for s in sorted(r["survivors"], key=lambda s: (s["file"], s["line"])):
                lines += [f"- {s['file']}, line {s['line']}, {s['operator']}", "", "```diff",
                          s["diff"].strip(), "```", ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="target names (default: all): "
                        + ", ".join(t.name for t in TARGETS))
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds per mutant before it counts as killed (an infinite loop)")
    parser.add_argument("--sample", type=int, default=0,
                        help="test a fixed random sample of this many mutants per target "
                             "(0: all); the score then has a binomial error bar")
    args = parser.parse_args(argv)
    unknown = set(args.targets) - {t.name for t in TARGETS}
    if unknown:
        parser.error(f"unknown target(s) {', '.join(sorted(unknown))}; accepted: "
                     + ", ".join(t.name for t in TARGETS))
    targets = [t for t in TARGETS if not args.targets or t.name in args.targets]
    OUT.mkdir(parents=True, exist_ok=True)
    tree = scratch_copy()
    t0 = time.time()
    results = {t.name: run_target(t, tree, args.timeout, args.sample) for t in targets}
    text = report(results, targets, args.sample)
    (OUT / "report.md").write_text(text)
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    print(text.split("\n\n## ")[0])
    print(f"mutation: report in {OUT / 'report.md'}; {time.time() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
