"""SIGKILL at random moments of a small training run: each kill ends in a run that resumes
to the bit-identical result of an uninterrupted one, or in a clear refusal -- never in a
folder that neither a retry nor --resume accepts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from course_lib import cli

ARGS = ["train", "gaussian", "--data", "ring", "--steps", "2000", "--steps-per-call", "20",
        "--seed", "3", "--no-progress"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    assert cli.main([*ARGS, "--out", str(out)]) == 0
    return out


def _arrays(run):
    with np.load(run / "checkpoint.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_sigkill_at_a_random_moment_then_resume(tmp_path, capsys, reference, seed):
    # seed 0: a moment in the first 2 s (JAX's import, the folder's creation); the others: a
    # random moment after the first checkpoint appeared (training, a checkpoint being
    # rewritten every 20 steps, the final evaluation and metrics.json)
    rng = np.random.default_rng(seed)
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "course_lib", *ARGS, "--out", str(out)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    if seed == 0:
        time.sleep(rng.uniform(0.2, 2.0))
    else:
        while not (out / "checkpoint.npz").exists() and p.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.0))
    after = time.time() - t0
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)
    left = sorted(x.name for x in out.iterdir()) if out.exists() else []
    print(f"seed {seed}: killed after {after:.2f} s, left {left}", file=sys.__stderr__)

    capsys.readouterr()
    rc = cli.main([*ARGS, "--out", str(out), "--resume"])
    err = capsys.readouterr().err
    print(f"seed {seed}: --resume exit {rc} {err.strip()[:60]}", file=sys.__stderr__)
    if rc == 2:  # refused: it must say why in one line, and a fresh start must then work
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "not a run folder" in err, err
        assert cli.main([*ARGS, "--out", str(out)]) == 0
    else:
        assert rc == 0, err
    ref, got = _arrays(reference), _arrays(out)
    assert ref.keys() == got.keys()
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == json.loads((reference / "metrics.json").read_text())
    assert not list(out.glob(".tmp-*")) and not (out / ".lock").exists()
