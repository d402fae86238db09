"""A non-editable install works outside the checkout: the data and the weights come with it."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOAD = """
import json, course_lib
from course_lib import data, diffusion as dm
from course_lib.config import from_dict
from course_lib.pretrained import PRETRAINED_DIR, fit
from course_lib.train import TrainConfig
name = "week17_diffusion/heartbeat_binomial"
saved = json.loads((PRETRAINED_DIR / f"{name}.json").read_text())["config"]
model, history = fit(from_dict(dm.BinomialConfig, saved["model"]), data.get("heartbeat"),
                     from_dict(TrainConfig, saved["train"]), name=name, retrain=False)
print(course_lib.__file__)
print(PRETRAINED_DIR)
print(len(history["loss"]))
"""


def test_a_wheel_installed_elsewhere_samples_digits_and_loads_weights(tmp_path):
    """pip install <checkout> (not editable) into a fresh venv, then run from another folder.
    The venv borrows this environment's dependencies (jax, flax, ...) through a path entry,
    without its .pth files, so the checkout's editable course_lib stays out of sight."""
    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-deps", str(ROOT)], check=True, timeout=900, cwd=elsewhere)
    env = {k: v for k, v in os.environ.items()
           if k not in ("COURSE_RETRAIN", "COURSE_LIB_DATA", "PYTHONPATH")}

    def run(*args):
        return subprocess.run([python, *args], cwd=elsewhere, env=env, capture_output=True,
                              text=True, timeout=300)

    p = run("-m", "course_lib", "data", "sample", "digits", "--n", "5", "--out", "x.npy")
    assert p.returncode == 0, p.stderr
    assert (elsewhere / "x.npy").is_file() and "5 examples of shape (8, 8)" in p.stdout
    p = run("-c", LOAD)
    assert p.returncode == 0, p.stderr
    module, weights, steps = p.stdout.split()
    assert Path(module).is_relative_to(venv) and Path(weights).is_relative_to(venv)
    assert int(steps) == 12_000
