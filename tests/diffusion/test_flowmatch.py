"""Flow matching, the family added in one file: trained, sampled and evaluated from the
command line, with a likelihood that is a proper density."""

import json

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from course_lib import cli, data
from course_lib.diffusion import flowmatch
from course_lib.train import TrainConfig, train


def test_train_sample_evaluate_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "flowmatch", "--data", "moons", "--out", str(out), "--steps",
                     "300", "--steps-per-call", "100", "--hidden", "32,32",
                     "--no-progress"]) == 0
    assert cli.main(["sample", str(out), "--n", "7", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (7, 2)
    capsys.readouterr()
    assert cli.main(["evaluate", str(out), "--data", "moons"]) == 0
    report = json.loads(capsys.readouterr().out)
    # an exact likelihood, next to the baselines fitted to the same data
    assert {"bits_per_example", "stderr_bits_per_example", "gaussian_bits_per_example"} <= set(
        report), report
    assert np.isfinite(report["bits_per_example"])


def test_the_ode_density_integrates_to_one():
    """Whatever the velocity (here after 300 steps on the moons), the flow's density is a
    density: its integral over a grid wide enough to hold the mass is 1, to the grid's and
    the solver's error. A wrong sign of the divergence makes it far from 1."""
    config = flowmatch.FlowMatchingConfig(data_dim=2, hidden=(32, 32), ode_steps=32)
    model, optimizer = flowmatch.init(config, seed=0)
    train(flowmatch.train_step, (model, optimizer), data.get("moons").sample,
          TrainConfig(steps=300, batch_size=256, progress=False))
    side = np.linspace(-5.0, 5.0, 81)
    grid = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2).astype(np.float32)
    p = np.exp(-flowmatch.bits_per_example(model, grid, batch=6561) * np.log(2))
    mass = p.sum() * (side[1] - side[0]) ** 2
    assert abs(mass - 1) < 0.03, mass


def test_the_loss_regresses_on_the_straight_path_velocity():
    """A velocity net that outputs exactly eps - x_0 has zero loss: check the target by
    replacing the net with the answer for a fixed draw."""
    config = flowmatch.FlowMatchingConfig(data_dim=2, hidden=(8,))
    model = flowmatch.FlowMatching(config, rngs=nnx.Rngs(0))
    x0 = jnp.array([[1.0, 2.0], [-1.0, 0.5]])
    key = jax.random.key(3)
    k_t, k_eps = jax.random.split(key)
    t = jax.random.uniform(k_t, (2,))
    eps = jax.random.normal(k_eps, x0.shape)
    x_t = (1 - t[:, None]) * x0 + t[:, None] * eps
    model.velocity = lambda x, s: jnp.where(jnp.allclose(x, x_t), eps - x0, 0.0)
    np.testing.assert_allclose(np.asarray(model.loss(x0, key)), 0.0, atol=1e-10)
