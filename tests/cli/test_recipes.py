"""The recipes of `pretrained regenerate` against the notebooks' own calls, where make retrain
does not already prove them on the shipped files (week17_ising's lattice models, retrained by
the lead this session: the recipe is generic in the sidecar's configs)."""

import json

import numpy as np
import pytest
from flax import nnx

from course_lib.cli import recipes
from course_lib.diffusion import lattice
from course_lib.pretrained import sha256, train_or_load
from course_lib.train import TrainConfig

NAME = "week99_ising/critical"
DESCRIPTION = "64 random 4x4 lattices"
SPINS = np.where(np.random.default_rng(0).random((64, 4, 4)) < 0.5, -1.0, 1.0).astype(np.float32)


def notebook_file(folder, config, run):
    """What week17_ising does: a LatticeDiffusion from nnx.Rngs(0) fitted by lattice.fit."""
    model = lattice.LatticeDiffusion(config, rngs=nnx.Rngs(0))
    train_or_load(NAME, (model,), lambda: lattice.fit(model, SPINS, run), retrain=True,
                  directory=folder, config={"model": config, "train": run, "data": DESCRIPTION})
    return json.loads((folder / f"{NAME}.json").read_text())["config"]


@pytest.mark.parametrize("features, dilations, steps", [(4, (1,), 20), (3, (1, 2), 30)])
def test_the_lattice_recipe_rebuilds_the_notebooks_file_from_its_sidecar(
        tmp_path, monkeypatch, features, dilations, steps):
    monkeypatch.setitem(recipes.LATTICE_DATA, DESCRIPTION, lambda: (SPINS, None))
    config = lattice.LatticeDiffusionConfig(L=4, T=5, features=features, dilations=dilations)
    run = TrainConfig(steps=steps, batch_size=8, progress=False, steps_per_call=10)
    saved = notebook_file(tmp_path / "notebook", config, run)
    recipes.lattice_model(NAME, saved, tmp_path / "recipe")
    assert sha256(tmp_path / "recipe" / f"{NAME}.npz") == sha256(
        tmp_path / "notebook" / f"{NAME}.npz")


def test_the_lattice_recipe_refuses_data_it_does_not_know(tmp_path):
    config = lattice.LatticeDiffusionConfig(L=4, T=5, features=2, dilations=(1,))
    run = TrainConfig(steps=2, batch_size=4, progress=False)
    saved = notebook_file(tmp_path / "notebook", config, run)
    with pytest.raises(ValueError, match="trained on '64 random 4x4 lattices'; the recipes know"):
        recipes.lattice_model(NAME, saved, tmp_path / "recipe")
    assert not (tmp_path / "recipe").exists()
