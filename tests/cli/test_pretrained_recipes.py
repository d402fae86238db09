"""The recipes of `pretrained regenerate` against the notebooks' own calls, where make retrain
does not prove them on the shipped files here (week17_ising's lattice models were trained on a
GPU: a CPU rebuild cannot be identical to them). The recipe is generic in the sidecar's
configs, so it is checked on small ones."""

import json

import numpy as np
import pytest
from flax import nnx

from course_lib import ising
from course_lib.cli import pretrained_recipes as recipes
from course_lib.diffusion import lattice
from course_lib.pretrained import sha256, train_or_load
from course_lib.train import TrainConfig

NAME = "week99_ising/model"


def notebook_file(folder, config, run, spec):
    """What week17_ising does: a LatticeDiffusion from nnx.Rngs(0) fitted by lattice.fit on
    ising.metropolis_at(**spec), each configuration with its temperature when conditional."""
    model = lattice.LatticeDiffusion(config, rngs=nnx.Rngs(0))
    temperatures = np.array(spec["temperatures"])
    train_or_load(NAME, (model,), lambda: lattice.fit(
        model, ising.metropolis_at(**spec), run,
        np.repeat(temperatures.astype(np.float32), spec["n_chains"]) if config.conditional
        else None), retrain=True, directory=folder,
        config={"model": config, "train": run, "data": spec})
    return json.loads((folder / f"{NAME}.json").read_text())["config"]


@pytest.mark.parametrize("conditional, temperatures", [(False, [2.27]), (True, [1.9, 2.6])])
def test_the_lattice_recipe_rebuilds_the_notebooks_file_from_its_sidecar(
        tmp_path, conditional, temperatures):
    config = lattice.LatticeDiffusionConfig(L=4, T=5, features=4, dilations=(1, 2),
                                            conditional=conditional)
    run = TrainConfig(steps=20, batch_size=8, progress=False, steps_per_call=10)
    spec = {"temperatures": temperatures, "seed": 3, "n_chains": 16, "L": 4, "sweeps": 5}
    saved = notebook_file(tmp_path / "notebook", config, run, spec)
    recipes.lattice_model(NAME, saved, tmp_path / "recipe")
    assert sha256(tmp_path / "recipe" / f"{NAME}.npz") == sha256(
        tmp_path / "notebook" / f"{NAME}.npz")


def test_the_lattice_recipe_refuses_data_it_cannot_read(tmp_path):
    saved = {"model": {"L": 4, "T": 5}, "train": {"steps": 2}, "data": "metropolis key 0"}
    with pytest.raises(ValueError, match="records its data as 'metropolis key 0', not as the "
                       "arguments of ising.metropolis_at"):
        recipes.lattice_model(NAME, saved, tmp_path / "recipe")
    assert not (tmp_path / "recipe").exists()
