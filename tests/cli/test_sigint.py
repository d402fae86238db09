"""Ctrl-C in every subcommand, while it works, exits 130 with one line and no traceback
(issue 30), also during a long NumPy/XLA call that holds Python's signal handler back
(``evaluate`` on a large file), and a second Ctrl-C during training. All commands run at
once, so the test costs about one JAX start-up and the wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from course_lib import cli

# a command stuck in one long XLA call (as `evaluate` on a large file is), which holds
# Python's signal handler back until the call returns
LONG_CALL = """
import os, signal, sys
signal.signal(signal.SIGINT, lambda *_: (os.write(2, b"error: interrupted early"), os._exit(3)))
import jax
from course_lib import cli
def spin(argv):
    open("spinning", "w").close()
    # float32 stops growing at 2**24: a loop that never ends
    jax.jit(lambda: jax.lax.while_loop(lambda x: x < 1e30, lambda x: x + 1.0, 0.0))().block_until_ready()
cli.run, sys.argv = spin, ["course_lib"]
sys.exit(cli.main())
"""
WAIT = 1.0  # seconds after the long call started: the others are at work too


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sigint")
    assert cli.main(["train", "gaussian", "--data", "ring", "--steps", "2", "--no-progress",
                     "--out", str(folder / "run")]) == 0
    np.save(folder / "large.npy", np.random.default_rng(0).normal(size=(2_000_000, 2))
            .astype(np.float32))
    return folder


def commands(folder):
    run = str(folder / "run")
    return {
        "train": ["train", "gan", "--data", "ring", "--steps", "1000000", "--no-progress",
                  "--out", str(folder / "t")],
        "train, Ctrl-C twice": ["train", "gan", "--data", "ring", "--steps", "1000000",
                                "--no-progress", "--out", str(folder / "t2")],
        "sample": ["sample", run, "--n", "40000000", "--out", str(folder / "s.npy")],
        "evaluate": ["evaluate", run, "--data", str(folder / "large.npy")],
        "data sample": ["data", "sample", "swiss_roll", "--n", "40000000", "--out",
                        str(folder / "d.npy")],
        "pretrained regenerate": ["pretrained", "regenerate", "week16_gans/ring_20k_decay_noise_seed0", "--out",
                                  str(folder / "p")],
        "pretrained retrain": ["pretrained", "retrain", "week16_gans/ring_20k_decay_noise_seed1", "--scratch",
                               str(folder / "scratch")],
        "doctor": ["doctor"],
    }


def test_ctrl_c_in_every_subcommand_is_130_and_one_line(setup):
    every = {name: ["-m", "course_lib", *args] for name, args in commands(setup).items()}
    every["one long XLA call"] = ["-c", LONG_CALL]
    started = {name: subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True, cwd=setup)
               for name, args in every.items()}
    deadline = time.monotonic() + 40
    while not os.path.exists(setup / "spinning") and time.monotonic() < deadline:
        time.sleep(0.1)  # every command has had as long as this one to import JAX
    assert os.path.exists(setup / "spinning"), "the long call had not started in 40 s"
    time.sleep(WAIT)
    sent = time.monotonic()
    for name, p in started.items():
        assert p.poll() is None, f"{name} ended before Ctrl-C: give it more work"
        p.send_signal(signal.SIGINT)
        if "twice" in name:
            time.sleep(0.05)
            p.send_signal(signal.SIGINT)
    for name, p in started.items():
        try:
            _, err = p.communicate(timeout=max(1.0, 20 - (time.monotonic() - sent)))
        except subprocess.TimeoutExpired:
            p.kill()
            pytest.fail(f"{name} did not stop within 20 s of Ctrl-C")
        lines = err.strip().splitlines()
        assert p.returncode == 130, (name, p.returncode, err[-2000:])
        assert len(lines) == 1 and lines[0].startswith("error: interrupted"), (name, err)
    assert time.monotonic() - sent < 8, "a command held Ctrl-C back"
    assert not os.path.exists(setup / "s.npy") and not os.path.exists(setup / "d.npy")
