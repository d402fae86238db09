"""``train --distributed``: two processes on this machine through jax.distributed (CPU
collectives over gloo), each computing its half of every global batch, give the single
process's losses; process 0 alone writes the run folder; a resumed run continues it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np

TRAIN = ["train", "gan", "--data", "ring", "--hidden", "32,32", "--batch-size", "128",
         "--no-progress"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def course_lib(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "course_lib", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ | (env or {}), **kw)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def two_processes(*args):
    """Run ``args`` as two processes of one distributed run; their (stdout, stderr)."""
    port = free_port()
    procs = [course_lib(*args, "--distributed",
                        env={"JAX_COORDINATOR_ADDRESS": f"localhost:{port}",
                             "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": str(i)})
             for i in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    return outs


def test_two_processes_train_as_one_write_once_and_resume(tmp_path):
    single = course_lib(*TRAIN, "--steps", 200, "--steps-per-call", 100,
                        "--out", tmp_path / "single")
    out, err = single.communicate(timeout=600)
    assert single.returncode == 0, err

    run = tmp_path / "two"
    (out0, err0), (out1, _) = two_processes(*TRAIN, "--steps", 100, "--steps-per-call", 50,
                                            "--out", run)
    assert "connected to 1 peer" in out0 + err0  # really two processes, through gloo
    assert json.loads(last_line(out0))["out"] == str(run)
    assert "{" not in out1  # process 1 reports nothing
    assert sorted(p.name for p in run.iterdir() if p.name != ".lock") == [
        "checkpoint.npz", "config.json", "manifest.json", "metrics.json"]
    assert len(json.loads((run / "metrics.json").read_text())["g_loss"]) == 100

    (out0, _), _ = two_processes(*TRAIN, "--steps", 200, "--steps-per-call", 50, "--out", run,
                                 "--resume")
    resumed = json.loads((run / "metrics.json").read_text())
    alone = json.loads((tmp_path / "single" / "metrics.json").read_text())
    for k in ("d_loss", "g_loss", "g_grad_norm"):
        assert len(resumed[k]) == 200
        # the batch's halves are summed across processes: the same to float32 rounding
        np.testing.assert_allclose(resumed[k], alone[k], rtol=1e-5, atol=1e-6)
    assert resumed["final"] == json.loads(last_line(out0))["final"]
