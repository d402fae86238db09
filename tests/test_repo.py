"""The repository's promises: pinned environments agree, the two commands are documented,
CI runs them, and nbval really compares the numbers of marked cells."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def pins(requirements):
    return dict(re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", r).groups() for r in requirements)


def test_environment_yml_and_pyproject_pin_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = pins(project["dependencies"])
    for extra in ("notebooks", "dev"):
        wanted |= pins(project["optional-dependencies"][extra])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip
    assert pins([p for p in pip if p != "-e ."]) == wanted
    assert "python=3.12" in env["dependencies"]
    assert project["requires-python"] == ">=3.12"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1)
    assert [line.strip() for line in first_block.strip().splitlines()] == ["make course",
                                                                         "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\s*(time\s+)?make test\s*$", ci, re.M)


def _notebook(path, stored: str, marker: str = "comment"):
    """A one-cell notebook whose stored output is `stored`; the cell is marked for comparison by
    nbval's comment or its tag (as the notebooks are), or prints through a Markdown display."""
    nb = nbformat.v4.new_notebook()
    code = "print(f'{sum(range(10)) / 7:.3f}')"
    if marker == "markdown":
        code = ("from IPython.display import Markdown\n"
                "Markdown(f'mean **{sum(range(10)) / 7:.3f}**')")
    if marker == "comment":
        code = f"# NBVAL_CHECK_OUTPUT\n{code}"
    cell = nbformat.v4.new_code_cell(code)
    if marker != "comment":
        cell.metadata["tags"] = ["nbval-check-output"]
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored + "\n")]
    if marker == "markdown":
        cell.outputs = [nbformat.v4.new_output(
            "execute_result", execution_count=1,
            data={"text/markdown": f"mean **{stored}**",
                  "text/plain": "<IPython.core.display.Markdown object>"})]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.parametrize("marker", ["comment", "tag", "markdown"])
def test_nbval_fails_when_a_compared_number_changes(tmp_path, marker):
    """The flags of `make nbval`, on a notebook whose checked cell prints 6.429: marked by the
    comment, by the cell tag the notebooks use, and displayed as a Markdown sentence."""
    _notebook(tmp_path / "right.ipynb", "6.429", marker)
    _notebook(tmp_path / "wrong.ipynb", "6.428", marker)
    results = {}
    for name in ("right", "wrong"):
        p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "--nbval-lax", "--nbval-current-env", f"{name}.ipynb"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
        results[name] = p
    assert results["right"].returncode == 0, results["right"].stdout
    assert results["wrong"].returncode == 1, results["wrong"].stdout
    assert "6.428" in results["wrong"].stdout and "6.429" in results["wrong"].stdout


def test_gpu_environment_differs_from_the_cpu_one_only_in_jax_cuda():
    cpu = yaml.safe_load((ROOT / "environment.yml").read_text())
    gpu = yaml.safe_load((ROOT / "environment-gpu.yml").read_text())
    cpu_pip = next(d["pip"] for d in cpu["dependencies"] if isinstance(d, dict))
    gpu_pip = next(d["pip"] for d in gpu["dependencies"] if isinstance(d, dict))
    assert [p.replace("jax[cuda12]==", "jax==") for p in gpu_pip] == cpu_pip
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "jax[cuda12]==0.12.0.1" in project["optional-dependencies"]["cuda"]


def test_compiled_programs_are_cached_on_disk(tmp_path):
    """The first process compiles and fills JAX's persistent cache; a second one only hits it."""
    code = ("import jax, jax.numpy as jnp, course_lib\n"
            "course_lib.enable_compile_cache()\n"
            "jax.monitoring.register_event_listener("
            "lambda e, **kw: print(e.rsplit('/', 1)[-1]) if 'compilation_cache/cache_' in e "
            "else None)\n"
            "print(float(jax.jit(lambda x: jnp.sin(x) ** 2 + 1.0)(jnp.arange(3.0)).sum()))")
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("COURSE_LIB_NO_CACHE", None)
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    first, second = (r.stdout.split() for r in runs)
    assert "cache_misses" in first and "cache_hits" not in first, runs[0].stderr
    assert "cache_hits" in second and "cache_misses" not in second
    assert first[-1] == second[-1]  # the same result
    assert any((tmp_path / "cache").iterdir())


def test_importing_course_lib_changes_no_jax_setting():
    """Only enable_compile_cache() (which the command line calls) turns the disk cache on."""
    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
             "jax_persistent_cache_min_entry_size_bytes")
    code = ("import jax\n"
            f"names = {names!r}\n"
            "before = [getattr(jax.config, n) for n in names]\n"
            "import course_lib, course_lib.cli, course_lib.gan, course_lib.diffusion\n"
            "assert [getattr(jax.config, n) for n in names] == before\n"
            "course_lib.enable_compile_cache('/tmp/x')\n"
            "assert [getattr(jax.config, n) for n in names] == ['/tmp/x', 0, -1]\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JAX_COMPILATION", "JAX_PERSISTENT", "COURSE_LIB_NO_CACHE"))}
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
