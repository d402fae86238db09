"""Ctrl-C in every subcommand, while it works, exits 130 with one line and no traceback
(issue 30), also during a long NumPy/XLA call that holds Python's signal handler back
(``evaluate`` on a large file), and a second Ctrl-C during training.

The commands run one after another, each interrupted once it has used a few seconds of CPU
(past JAX's import, at work), so the test does not depend on how loaded the machine is: a
command that is slower to start is only interrupted later. Starting them all at once (nine
JAX start-ups on two cores) once took minutes under load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    forever = jax.jit(lambda: jax.lax.while_loop(lambda x: x < 1e30, lambda x: x + 1.0, 0.0))
    forever().block_until_ready()
cli.run, sys.argv = spin, ["course_lib"]
sys.exit(cli.main())
"""
WAIT = 1.0  # seconds inside the long call before Ctrl-C


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
        "pretrained regenerate": ["pretrained", "regenerate",
                                  "week16_gans/ring_20k_decay_noise_seeds", "--out",
                                  str(folder / "p")],
        "pretrained retrain": ["pretrained", "retrain", "week16_gans/ring_20k_decay_noise_seed1",
                               "--scratch", str(folder / "scratch")],
        "doctor": ["doctor"],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and every process below it (Linux /proc):
    `pretrained retrain` works in a child process."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process has ended meanwhile
            continue
        stats[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tree, grew = {pid}, True
    while grew:
        below = {q for q, (parent, _) in stats.items() if parent in tree} - tree
        tree, grew = tree | below, bool(below)
    ticks = sum(stats[q][1] for q in tree if q in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def interrupt(args, cwd, ready, twice=False, settle=0.0):
    """Start ``python args``, wait until ``ready(process)`` and ``settle`` seconds more, send
    Ctrl-C (twice if asked); return (exit status, stderr, seconds from Ctrl-C to the exit)."""
    p = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, cwd=cwd)
    try:
        deadline = time.monotonic() + 120
        while not ready(p) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert p.poll() is None, f"{args} ended before Ctrl-C: give it more work"
        assert ready(p), f"{args} was not at work within 120 s"
        time.sleep(settle)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        if twice:
            time.sleep(0.05)
            p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        return p.returncode, err, time.monotonic() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


@pytest.mark.parametrize("name", [*commands(Path("x")), "one long XLA call"])
def test_ctrl_c_in_every_subcommand_is_130_and_one_line(setup, name):
    if name == "one long XLA call":
        args = ["-c", LONG_CALL]
        (setup / "spinning").unlink(missing_ok=True)

        def ready(p):  # inside the never-ending call
            return (setup / "spinning").exists()
    else:
        args = ["-m", "course_lib", *commands(setup)[name]]

        # JAX's import takes about 2 s of CPU; past that the command is at work. `doctor`
        # finishes soon after: it is interrupted while it imports (the early handler)
        at_work = 0.5 if name == "doctor" else 4.0

        def ready(p):
            return cpu_seconds(p.pid) > at_work
    status, err, seconds = interrupt(args, setup, ready, twice="twice" in name,
                                    settle=WAIT if name == "one long XLA call" else 0.0)
    lines = err.strip().splitlines()
    assert status == 130, (name, status, err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: interrupted"), (name, err)
    if name == "one long XLA call":
        # the call never ends: leaving at all shows Ctrl-C was not held back (the watcher
        # leaves about 2 s after it). The other commands end by themselves, so a bound on
        # their time would only measure the machine's load (it failed CI once at 8.5 s)
        assert seconds < 25, f"{name} held Ctrl-C back for {seconds:.1f} s"
    assert not (setup / "s.npy").exists() and not (setup / "d.npy").exists()


# Ctrl-C while Python runs a __del__ (as JAX's gc callback does): the KeyboardInterrupt raised
# there is one Python ignores ("Exception ignored in ..." and a traceback), and the command
# would go on; seen in three CI runs of the tests above and of test_run_folder.py
IN_DEL = """
import os, signal, sys, time
from course_lib import cli
class Dies:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10**6):  # the handler runs here, inside __del__
            pass
def work(argv):
    try:
        Dies()
        time.sleep(30)
    except KeyboardInterrupt:  # what a command does on Ctrl-C: remove what it had begun
        open("cleaned", "w").close()
        raise
cli.run, sys.argv = work, ["course_lib"]
sys.exit(cli.main())
"""


def test_ctrl_c_inside_a_del_is_one_line_not_a_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-c", IN_DEL], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 130, p.stderr
    assert len(lines) == 1 and lines[0].startswith("error: interrupted"), p.stderr
    assert (tmp_path / "cleaned").exists(), "the command was stopped without its own clean-up"
