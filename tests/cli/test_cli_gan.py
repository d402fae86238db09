"""The GAN models on the command line."""

import json

import jax
import numpy as np

from course_lib import cli, data

LOG2 = np.log(2.0)
X = np.linspace(-12, 12, 48_001)


def test_cli_trains_samples_and_evaluates_every_gan(tmp_path, capsys):
    x = np.asarray(data.get("ring").sample(jax.random.key(0), 512))
    np.save(tmp_path / "mine.npy", x)
    np.save(tmp_path / "means.npy", data.get("ring").means)
    y = np.asarray(data.digits().labels[:300])
    np.savez(tmp_path / "labeled.npz", x=data.digits().data[:300], y=y)
    runs = [("gan", "ring", []), ("gan", str(tmp_path / "mine.npy"), ["--loss", "minimax"]),
            ("wgan-gp", "grid", ["--gp-weight", "0.1"]),
            ("cgan", str(tmp_path / "labeled.npz"), [])]
    for i, (model, dataset, extra) in enumerate(runs):
        out = tmp_path / f"run{i}"
        assert cli.main(["train", model, "--data", dataset, "--out", str(out), "--steps", "20",
                         "--batch-size", "64", "--no-progress", *extra]) == 0
        capsys.readouterr()
        assert cli.main(["sample", str(out), "--n", "9", "--out", str(tmp_path / "s.npy")]) == 0
        assert np.load(tmp_path / "s.npy").shape[0] == 9
        capsys.readouterr()
        assert cli.main(["evaluate", str(out), "--data", dataset]) == 0
        result = json.loads(capsys.readouterr().out)
        assert "mmd" in result
        if dataset in ("ring", "grid"):
            assert result["modes_total"] == (8 if dataset == "ring" else 25)
            assert 0 <= result["modes"] <= result["modes_total"]
            assert 0 <= result["high_quality"] <= 1
    assert cli.main(["evaluate", str(tmp_path / "run1"), "--data", str(tmp_path / "mine.npy"),
                     "--means", str(tmp_path / "means.npy"), "--std", "0.01"]) == 0
    assert json.loads(capsys.readouterr().out)["modes_total"] == 8
    assert np.load(tmp_path / "s.npy").shape == (9, 8, 8)  # the cgan samples digits


def test_cli_gan_errors(tmp_path, capsys):
    assert cli.main(["train", "cgan", "--data", "ring", "--out", str(tmp_path / "r")]) == 2
    assert "needs class labels" in capsys.readouterr().err
    assert cli.main(["train", "gan", "--data", "ring", "--out", str(tmp_path / "r"),
                     "--loss", "hinge"]) == 2
    assert "invalid choice: 'hinge'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
