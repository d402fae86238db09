"""The diffusion models on the command line."""

import json

import jax
import numpy as np

from course_lib import cli, data

KEY = jax.random.key(0)


def test_cli_diffusion_models(tmp_path, capsys):
    held_out = np.asarray(data.get("moons").sample(jax.random.key(9), 300))
    np.save(tmp_path / "held_out.npy", held_out)
    uint8 = np.random.default_rng(0).integers(0, 256, (300, 4))
    np.save(tmp_path / "bytes.npy", 2 * uint8 / 255 - 1)
    runs = [("ddpm", "moons", ["--T", "50", "--hidden", "32,32"]),
            ("ddpm", "digits", ["--T", "50", "--hidden", "32,32"]),
            ("ddpm", str(tmp_path / "bytes.npy"), ["--T", "50", "--levels", "256"]),
            ("vdm", "moons", ["--hidden", "32,32"]),
            ("binomial", "heartbeat", ["--T", "100"])]
    for i, (model, dataset, extra) in enumerate(runs):
        out = tmp_path / f"r{i}"
        assert cli.main(["train", model, "--data", dataset, "--out", str(out), "--steps", "20",
                         "--batch-size", "32", "--no-progress", *extra]) == 0, capsys.readouterr()
        capsys.readouterr()
        assert cli.main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "s.npy")]) == 0
        capsys.readouterr()
        evaluate_on = str(tmp_path / "held_out.npy") if dataset == "moons" else dataset
        assert cli.main(["evaluate", str(out), "--data", evaluate_on]) == 0
        result = json.loads(capsys.readouterr().out)
        assert np.isfinite(result["bits_per_dim"]) and np.isfinite(result["bits_per_example"])
    assert cli.main(["train", "binomial", "--data", "moons", "--out", str(tmp_path / "x")]) == 2
    assert "binary data" in capsys.readouterr().err
    assert cli.main(["train", "ddpm", "--data", "moons", "--out", str(tmp_path / "x"),
                     "--levels", "256"]) == 2
    assert "scaled to [-1, 1]" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_run_from_before_a_config_field_was_added_still_loads():
    """A checkpoint records its model's config; a field added later (setting(added=True),
    such as VDM's decay_steps) is absent from older records and counts as equal at its
    default, while any recorded difference still refuses the checkpoint."""
    from course_lib.cli.runs import _identity
    from course_lib.config import comparable
    from course_lib.diffusion import VDMConfig

    def same(a, b):
        return comparable(a, VDMConfig) == comparable(b, VDMConfig)  # a class or a config

    now = _identity("vdm", VDMConfig(data_dim=2))
    older = json.loads(json.dumps(now))
    del older["config"]["decay_steps"]
    assert same(older, now)
    assert not same(older, _identity("vdm", VDMConfig(data_dim=2, decay_steps=5)))
    older["config"]["lr"] = 0.5
    assert not same(older, now)
