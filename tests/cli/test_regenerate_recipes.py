"""The recipes of `pretrained regenerate`: each kind runs on a few steps and writes where it is
told; the lattice recipe against the notebook's own calls, on small configs, since make retrain
cannot prove it on the shipped files here (week17_ising's lattice models were trained on a GPU:
a CPU rebuild cannot be identical to them)."""

import json

import numpy as np
import pytest
from flax import nnx

from course_lib import ising
from course_lib.cli import regenerate as recipes
from course_lib.cli.regenerate import sidecar_path
from course_lib.diffusion import lattice
from course_lib.pretrained import PRETRAINED_DIR, sha256, train_or_load
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


# One file of each kind of recipe, its sidecar's configs shortened to a few steps: the recipe
# must run through the library call it names and write into the folder it is given. (A
# merge once dropped dm.fit's `directory`, and every week17_diffusion recipe failed in make
# retrain alone; the lattice and stored-spin recipes are checked above and by make retrain.)
KINDS = ["week17_diffusion/moons_noise", "week17_diffusion/digits_vdm_variance",
         "week17_diffusion/ising_binomial", "week16_gans/ring_3k_seed0",
         "week16_gans/ring_3k_seed1_snapshots", "week16_gans/digits_classifier",
         "week16_gans/digits_sgan_discriminator", "week16_gans/digits_100_labels_classifier",
         "week16_gans/digits_sgan_label_draws"]


def test_the_kinds_of_recipe_cover_every_recipe():
    kinds = {recipes.RECIPES[name].__qualname__ for name in KINDS}
    assert kinds | {"lattice_model", "stored_spins"} == {
        r.__qualname__ for r in recipes.RECIPES.values()}


@pytest.mark.parametrize("name", KINDS)
def test_each_kind_of_recipe_writes_its_file_where_it_is_told(tmp_path, name):
    saved = json.loads(sidecar_path(name).read_text())["config"]
    for key in ("train", "run"):
        if isinstance(saved.get(key), dict) and "steps" in saved[key]:
            saved[key] |= {"steps": 4, "steps_per_call": 2}
    if "every" in saved:  # the snapshots: one every 2 steps
        saved["every"] = 2
    if "seeds" in saved:  # the label draws: two of them
        saved["seeds"] = saved["seeds"][:2]
    shipped = sha256(PRETRAINED_DIR / f"{name}.npz")
    recipes.RECIPES[name](name, saved, tmp_path)
    written = json.loads((tmp_path / f"{name}.json").read_text())
    assert written["command"] == f"python -m course_lib pretrained regenerate {name}"
    assert sha256(tmp_path / f"{name}.npz") == written["sha256"]
    assert sha256(PRETRAINED_DIR / f"{name}.npz") == shipped
