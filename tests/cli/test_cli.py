"""The command line contract: verbs, outputs, one-line errors, no half-written runs, resume."""

import dataclasses
import json

import numpy as np
import pytest

from course_lib import cli, gan


def test_data_list_and_sample(tmp_path, cli_process):
    run = cli_process
    rc, out, _ = run("data", "list")
    assert rc == 0
    for name in ("ring", "grid", "swiss_roll", "moons", "heartbeat", "digits", "ising"):
        assert name in out
    assert cli.main(["data", "sample", "grid", "--n", "50", "--seed", "3",
                     "--out", str(tmp_path / "g.npy")]) == 0
    x = np.load(tmp_path / "g.npy")
    assert x.shape == (50, 2)
    assert cli.main(["data", "sample", "grid", "--n", "50", "--seed", "3",
                     "--out", str(tmp_path / "g2.npy")]) == 0
    np.testing.assert_array_equal(x, np.load(tmp_path / "g2.npy"))


def test_train_sample_evaluate_and_resume(tmp_path, cli_process):
    run = cli_process
    out = tmp_path / "run"
    assert cli.main(["train", "gaussian", "--data", "ring", "--out", str(out), "--steps", "300",
                     "--seed", "1", "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["loss"]) == 300 and "bits_per_dim" in metrics["final"]
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "gaussian" and config["shape"] == [2]

    assert cli.main(["sample", str(out), "--n", "7", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (7, 2)

    np.save(tmp_path / "held_out.npy", np.random.default_rng(0).normal(size=(100, 2)))
    rc, stdout, _ = run("evaluate", out, "--data", tmp_path / "held_out.npy")
    assert rc == 0
    result = json.loads(stdout)
    assert result["n"] == 100 and result["bits_per_dim"] > 0

    # a run stopped after 200 steps and resumed ends where the uninterrupted one did
    part = tmp_path / "part"
    assert cli.main(["train", "gaussian", "--data", "ring", "--out", str(part), "--steps", "200",
                     "--seed", "1", "--no-progress"]) == 0
    assert cli.main(["train", "gaussian", "--data", "ring", "--out", str(part), "--steps", "300",
                     "--seed", "1", "--no-progress", "--resume"]) == 0
    resumed = json.loads((part / "metrics.json").read_text())
    assert resumed["loss"] == metrics["loss"]
    assert resumed["final"] == metrics["final"]


BAD = [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["data", "sample", "rings", "--n", "3", "--out", "x.npy"], "accepted: gaussian_1d"),
    (["data", "sample", "ring", "--n", "0", "--out", "x.npy"], "positive integer"),
    (["data", "sample", "ring", "--n", "3", "--out", "x.txt"], "must name a .npy"),
    (["train", "nomodel", "--data", "ring", "--out", "r"], "unknown model 'nomodel'; accepted:"),
    (["train", "gaussian", "--data", "ring", "--out", "r", "--steps", "0"], "positive integer"),
    (["train", "gaussian", "--data", "ring", "--out", "r", "--steps", "-5"], "positive integer"),
    (["train", "gaussian", "--data", "nan.npy", "--out", "r"], "NaN"),
    (["train", "gaussian", "--data", "flat.npy", "--out", "r"], "shape (n, ...)"),
    (["train", "gaussian", "--data", "missing.npy", "--out", "r"], "does not exist"),
    (["train", "gaussian", "--data", "ring", "--out", "r", "--lr", "fast"], "must be a float"),
    (["train", "gaussian", "--data", "ring", "--out", "r", "--depth", "3"], "its options: --lr"),
    (["train", "gan", "--data", "ring", "--out", "r", "--hidden", "64,x"], "separated by commas"),
    (["train", "ddpm", "--data", "ring", "--out", "r", "--loss", "l1"], "invalid choice: 'l1'"),
    (["train", "ddpm", "--data", "ring", "--out", "r", "--T", "0"], "T must be a positive"),
    (["train", "wgan-gp", "--data", "ring", "--out", "r", "--loss", "minimax"], "its options"),
    (["train", "gaussian", "--data", "ring", "--out", "r", "--resume"], "cannot resume"),
    (["sample", "nowhere", "--n", "3", "--out", "s.npy"], "not a run folder"),
    (["evaluate", "nowhere", "--data", "ring"], "not a run folder"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a[:2]) + f" #{i}"
                                                  for i, (a, _) in enumerate(BAD)])
def test_bad_arguments_give_one_error_line_and_exit_2(tmp_path, args, message, capsys):
    x = np.zeros((5, 2))
    x[1, 1] = np.nan
    np.save(tmp_path / "nan.npy", x)
    np.save(tmp_path / "flat.npy", np.zeros(5))
    args = [str(tmp_path / a) if a.endswith((".npy", ".txt")) or a == "r" else a for a in args]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()  # nothing half-written
    assert not (tmp_path / "x.txt").exists()


def test_errors_in_a_fresh_process_have_no_traceback(tmp_path, cli_process):
    run = cli_process
    rc, out, err = run("train", "gaussian", "--data", "ring", "--out", tmp_path / "r",
                       "--batch-size", "abc")
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1 and out == ""


def test_a_trained_run_folder_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    args = ["train", "gaussian", "--data", "moons", "--out", str(out), "--steps", "10",
            "--no-progress"]
    assert cli.main(args) == 0
    before = (out / "checkpoint.npz").read_bytes()
    assert cli.main(args) == 2
    assert (out / "checkpoint.npz").read_bytes() == before


def test_python_api_raises_value_error_with_the_same_message(tmp_path):
    with pytest.raises(ValueError, match="unknown model 'nope'; accepted:"):
        cli.train_model("nope", "ring", tmp_path / "r")
    with pytest.raises(ValueError, match="has no option --depth; accepted: --lr"):
        cli.train_model("gaussian", "ring", tmp_path / "r", depth=3)
    assert not (tmp_path / "r").exists()


def test_train_help_lists_the_models_own_options(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "gan", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines at the terminal width
    assert "options of gan:" in out
    for option in ("--latent-dim", "--hidden", "--lr-g", "--lr-d", "--decay-start",
                   "--decay-steps", "--instance-noise", "--noise-anneal-steps", "--loss",
                   "--critic-steps", "--b2"):
        assert option in out
    assert "one of non_saturating, minimax, wgan_clip, wgan_gp" in out


def test_ddpm_help_lists_the_notebooks_settings(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "ddpm", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for option in ("--loss", "--learn-variance", "--schedule", "--T", "--beta-1", "--beta-T",
                   "--parameterization", "--hidden", "--levels", "--lr"):
        assert option + " " in out


def test_cli_defaults_are_the_recipes_and_a_loss_changes_nothing_else(tmp_path):
    """The command line builds exactly the config the notebook's recipe does (GANConfig's
    defaults, then the ring's recipe), and --loss wgan_gp changes the loss alone (no hidden
    critic_steps or b2)."""
    defaults = (dataclasses.asdict(gan.GANConfig(data_dim=2))
                | cli.MODELS["gan"].recipe("ring").model)
    for loss in ("non_saturating", "wgan_gp"):
        out = tmp_path / loss
        assert cli.main(["train", "gan", "--data", "ring", "--out", str(out), "--steps", "2",
                         "--batch-size", "8", "--loss", loss, "--no-progress"]) == 0
        config = json.loads((out / "config.json").read_text())["config"]
        expected = defaults | {"loss": loss}
        assert config == json.loads(json.dumps(expected)), loss
    assert cli.MODELS["wgan-gp"].defaults()["critic_steps"] == 5  # the named recipe says so


def test_train_looks_the_recipe_up_once(tmp_path, monkeypatch):
    """The recipe whose defaults the parser shows is the one the run uses: looked up once
    from --data and --quantized, then handed along."""
    from course_lib.family import Family

    calls, recipe = [], Family.recipe
    monkeypatch.setattr(Family, "recipe", lambda self, *a: calls.append(a) or recipe(self, *a))
    assert cli.main(["train", "gaussian", "--data", "moons", "--out", str(tmp_path / "r"),
                     "--steps", "2", "--no-progress"]) == 0
    assert calls == [("moons", None)]


def test_gan_learning_rate_decay_from_the_command_line(tmp_path, cli_process):
    run = cli_process
    out = tmp_path / "run"
    assert cli.main(["train", "gan", "--data", "ring", "--out", str(out), "--steps", "40",
                     "--batch-size", "64", "--hidden", "32,32", "--decay-start", "20",
                     "--decay-steps", "20", "--instance-noise", "0.5",
                     "--noise-anneal-steps", "30", "--no-progress"]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["decay_start"] == 20 and config["decay_steps"] == 20
    assert config["instance_noise"] == 0.5 and config["noise_anneal_steps"] == 30
    assert config["hidden"] == [32, 32]
    rc, _, err = run("train", "gan", "--data", "ring", "--out", tmp_path / "bad",
                     "--instance-noise", "0.5", "--noise-anneal-steps", "0")
    assert rc == 2 and err.startswith("error: instance_noise must be >= 0 and, when > 0, "
                                      "noise_anneal_steps > 0") and not (tmp_path / "bad").exists()


def test_a_run_trained_before_a_setting_existed_still_samples(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train", "gan", "--data", "ring", "--out", str(out), "--steps", "20",
                     "--batch-size", "32", "--hidden", "16", "--no-progress", "--decay-start",
                     "0", "--decay-steps", "0", "--instance-noise", "0",
                     "--noise-anneal-steps", "0"]) == 0  # the values before these settings
    config = json.loads((out / "config.json").read_text())
    for option in ("decay_start", "decay_steps", "instance_noise", "noise_anneal_steps"):
        del config["config"][option]  # as written before these settings were added
    (out / "config.json").write_text(json.dumps(config))
    from course_lib.cli import run_folder  # its manifest records that config's sha256
    (out / "manifest.json").write_bytes(run_folder.dumps(run_folder.manifest_for(
        (out / "config.json").read_bytes())))
    assert cli.main(["sample", str(out), "--n", "10", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (10, 2)
