"""``evaluate``'s baselines are of the data's kind: a model of bits or spins is compared with
discrete baselines (probabilities, never below 0 bits), not with continuous densities, whose
bits on a grid of two values are meaningless (a KDE of 0/1 rows "needs" negative bits)."""

from __future__ import annotations

import json

import numpy as np

from course_lib import cli


def test_a_binomial_model_of_a_users_bits_meets_discrete_baselines(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "bits.npy", (rng.random((300, 8)) < 0.3).astype(np.float32))
    out = tmp_path / "run"
    args = ["train", "binomial", "--data", tmp_path / "bits.npy", "--out", out, "--steps", 20,
            "--steps-per-call", 10, "--T", 10, "--no-progress"]
    assert cli.main([str(a) for a in args]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli.main(["evaluate", str(out), "--data", str(tmp_path / "bits.npy")]) == 0
    r = json.loads(capsys.readouterr().out)
    baselines = {k.removesuffix("_bits_per_example"): r[k] for k in r
                 if k.endswith("_bits_per_example") and "stderr" not in k}
    assert set(baselines) == {"gaussian", "kde", "mixture"}, sorted(baselines)
    # a probability over {0,1}^8 costs at least 0 bits; the rows have about 8 x 0.88 bits of
    # entropy, and a fitted baseline (of 270 rows) cannot do much worse than coding each bit
    assert all(0 < v < 9 for v in baselines.values()), baselines
    assert any(d in r["verdict"] for d in cli.report.baseline.DESCRIPTIONS.values()), r["verdict"]
