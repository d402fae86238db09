"""SIGKILL at random moments, then --resume, for every model kind (issue 30): each chain of
kills and resumes ends bit-identical to the uninterrupted run -- its checkpoint, best.npz,
validation.json (early stopping included: the runs hold rows out and stop with --patience)
and metrics.json.

Start the run in a subprocess, SIGKILL it at a random moment (uniform over the time a whole
run takes, JAX's start included, or every other kill over the time after the reference run's
first checkpoint), resume it in a new subprocess killed at another random
moment, and so on for KILLS kills; the last resume then runs to the end. A resume refused
because the kill came before the folder was a run (exit 2, "not a run folder") starts over
without --resume; a run that finished before its kill is compared and started again, and its
length sets the next kill times (a warm compile cache makes later runs faster than the first).
By default each kind sees 1 kill (the suite's budget); COURSE_LIB_LONG_TESTS=1 makes it 20.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest

from course_lib.families import FAMILIES, get

KILLS = 20 if os.environ.get("COURSE_LIB_LONG_TESTS") else 1
COMMON = ["--no-progress", "--seed", "5", "--patience", "2"]
KINDS = {  # tiny models, few steps: what is tested is the bookkeeping, not the fit
    "gaussian": ("points.npy", ["--steps", "200", "--steps-per-call", "10", "--lr", "0.3"]),
    "gan": ("points.npy", ["--steps", "60", "--steps-per-call", "5", "--hidden", "8,8",
                           "--batch-size", "16"]),
    "wgan-gp": ("points.npy", ["--steps", "60", "--steps-per-call", "5", "--hidden", "8,8",
                               "--batch-size", "16"]),
    "cgan": ("labeled.npz", ["--steps", "40", "--steps-per-call", "5", "--hidden", "8",
                             "--batch-size", "16"]),
    "ddpm": ("points.npy", ["--steps", "60", "--steps-per-call", "5", "--hidden", "8,8",
                            "--T", "20", "--batch-size", "16"]),
    "vdm": ("points.npy", ["--steps", "60", "--steps-per-call", "5", "--hidden", "8,8",
                           "--batch-size", "16"]),
    "binomial": ("bits.npy", ["--steps", "60", "--steps-per-call", "5", "--T", "20",
                              "--batch-size", "16"]),
    "flowmatch": ("points.npy", ["--steps", "60", "--steps-per-call", "5", "--hidden", "8,8",
                                 "--batch-size", "16"]),
    "lattice": ("spins.npy", ["--steps", "40", "--steps-per-call", "5", "--T", "4",
                              "--features", "4", "--dilations", "1", "--batch-size", "8"]),
}
FILES = ("checkpoint.npz", "best.npz", "validation.json", "metrics.json")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from course_lib import data as data_lib

    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    np.save(root / "points.npy", (rng.normal(size=(300, 2)) * [1, 0.3]).astype(np.float32))
    np.save(root / "bits.npy", (rng.random((300, 8)) < 0.3).astype(np.float32))
    np.save(root / "spins.npy", rng.choice([-1.0, 1.0], (200, 4, 4)).astype(np.float32))
    digits = data_lib.digits()
    np.savez(root / "labeled.npz", x=digits.data[:300], y=np.asarray(digits.labels[:300]))
    return root


def test_every_family_is_killed():
    """A family added to the registry is added here too (flow matching was missed once)."""
    assert set(KINDS) == set(FAMILIES)


def _files(out):
    return {name: (out / name).read_bytes() for name in FILES if (out / name).exists()}


def _arrays(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def _same(got, want):
    assert got.keys() == want.keys(), (sorted(got), sorted(want))
    for name in want:
        if name.endswith(".npz"):
            a, b = _arrays_of(got[name]), _arrays_of(want[name])
            assert a.keys() == b.keys(), name
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name}:{k}")
        else:
            assert json.loads(got[name]) == json.loads(want[name]), name


def _arrays_of(raw):
    import io
    with np.load(io.BytesIO(raw)) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("model", list(KINDS))
def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path, data, model):
    name, extra = KINDS[model]
    args = [sys.executable, "-m", "course_lib", "train", model, "--data", str(data / name),
            *COMMON, *extra]
    ref = tmp_path / "ref"
    t0 = time.perf_counter()
    done = subprocess.Popen([*args, "--out", str(ref)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    while done.poll() is None and not (ref / "checkpoint.npz").exists():
        time.sleep(0.01)
    first = time.perf_counter() - t0  # when the first checkpoint appeared
    _, err = done.communicate(timeout=600)
    span = time.perf_counter() - t0  # a whole run, JAX's start included
    assert done.returncode == 0, err.decode()
    want = _files(ref)
    if get(model).scorer is not None:  # the run held rows out, was scored, may stop early
        assert "validation.json" in want
    rng = np.random.default_rng(zlib.crc32(model.encode()))
    out, resume, kills, training, starts = tmp_path / "run", False, 0, 0, 0
    while True:  # KILLS kills at random moments, each followed by --resume
        starts += 1
        assert starts <= 10 * (KILLS + 1), f"{starts} starts for {kills} kills: kills miss"
        began = time.perf_counter()
        p = subprocess.Popen([*args, "--out", str(out), *(["--resume"] if resume else [])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # every other kill in the training itself (JAX's start takes most of a run)
            when = (None if kills >= KILLS else rng.uniform(0.2, span) if kills % 2 else
                    rng.uniform(first, span))
            _, err = p.communicate(timeout=when or 600)
        except subprocess.TimeoutExpired:
            if when is None:  # the last resume hangs: fail, and leave no process behind
                p.kill()
                raise
            p.send_signal(signal.SIGKILL)
            p.communicate()
            kills += 1
            training += (out / "checkpoint.npz").exists()
            resume = True
            continue
        if p.returncode == 2 and resume and b"not a run folder" in err:
            resume = False  # killed before the folder was a run: start over
            continue
        assert p.returncode == 0, err.decode()
        if kills >= KILLS:
            break
        # Finished before its kill: later runs can be faster than the reference (whose JAX
        # compiled what they now find in the cache), so kill times follow this run's length.
        elapsed = time.perf_counter() - began
        first, span = first * min(1.0, elapsed / span), min(span, elapsed)
        _same(_files(out), want)  # a new run
        shutil.rmtree(out)
        resume = False
    _same(_files(out), want)
    assert not list(out.glob(".tmp-*")) and not (out / ".lock").exists()
    stopped = json.loads(want.get("validation.json", b"{}")).get("stopped")
    print(f"{model}: {kills} kills ({training} after the first checkpoint) in {starts} starts, "
          "bit-identical; "
          f"run {span:.0f} s, early stop at {stopped}", file=sys.__stderr__)
