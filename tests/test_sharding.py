"""Data-parallel training on 4 forced CPU devices matches the single-device run."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).parent / "scripts" / "sharded_run.py"


def run(out, devices, batch_size=64):
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    return subprocess.run([sys.executable, str(SCRIPT), str(out), str(batch_size)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_four_devices_match_one_device(tmp_path):
    one, four = run(tmp_path / "one.npz", 1), run(tmp_path / "four.npz", 4)
    assert one.returncode == 0, one.stderr
    assert four.returncode == 0, four.stderr
    a, b = np.load(tmp_path / "one.npz"), np.load(tmp_path / "four.npz")
    assert int(a["devices"]) == 1 and int(b["devices"]) == 4
    # The same global batch from the same keys; only the order of the float32 sums in the
    # gradient's reduction differs across devices, so the two runs agree to float32 rounding
    # (eps = 6e-8) grown over 200 Adam steps: 2e-7 seen, 1e-5 allowed.
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-5, atol=1e-6)
    for k in a.files:
        if k.startswith("p"):
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-5)
    assert "P()" in str(b["sharding"]) and "'data': 4" in str(b["sharding"])  # replicated


def test_a_batch_that_does_not_divide_across_devices_is_refused(tmp_path):
    p = run(tmp_path / "x.npz", 4, batch_size=30)
    assert p.returncode != 0
    assert "ValueError: batch_size 30 does not divide across 4 devices" in p.stderr
