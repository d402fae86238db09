"""The recipes of `pretrained regenerate`: each kind runs on a few steps and writes where it is
told; the lattice recipe against the notebook's own calls, on small configs, since make retrain
cannot prove it on the shipped files here (week17_ising's lattice models were trained on a GPU:
a CPU rebuild cannot be identical to them)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from course_lib import data, ising, ising_sets
from course_lib.cli import regenerate as recipes
from course_lib.cli.regenerate import sidecar_path
from course_lib.diffusion import lattice
from course_lib.family import optimizer_for
from course_lib.pretrained import PRETRAINED_DIR, fit, sha256
from course_lib.train import TrainConfig, train

NAME = "week99_ising/model"


def notebook_file(folder, config, run, spec):
    """What week17_ising does: fit on ising_sets.ising_at(**spec), each configuration with its
    temperature when conditional."""
    fit(config, ising_sets.ising_at(**spec, with_temperatures=config.conditional), run, name=NAME,
        retrain=True, directory=folder)
    return json.loads((folder / f"{NAME}.json").read_text())["config"]


def test_fit_on_ising_at_is_the_old_lattice_fit(tmp_path):
    """The lattice models' one path (fit on a deferred Metropolis set) trains what the old
    lattice.fit did, to the last bit (the shipped GPU files cannot show it on a CPU): a
    LatticeDiffusion from nnx.Rngs(0), Adam at config.lr, configurations drawn with
    replacement with their temperatures, each flipped with probability 1/2."""
    config = lattice.LatticeDiffusionConfig(L=4, T=5, features=4, dilations=(1, 2),
                                            conditional=True)
    run = TrainConfig(steps=20, batch_size=8, progress=False, steps_per_call=10)
    spec = {"temperatures": [1.9, 2.6], "seed": 3, "n_chains": 16, "L": 4, "sweeps": 5}
    (model, _), _ = fit(config, ising_sets.ising_at(**spec, with_temperatures=True), run)
    spins = jnp.asarray(ising.metropolis_at(**spec), jnp.float32)
    temps = jnp.asarray(np.repeat(np.asarray(spec["temperatures"], np.float32), 16))

    def draw(key, n):
        i = jax.random.randint(key, (n,), 0, len(spins))
        return spins[i], temps[i]

    old = lattice.LatticeDiffusion(config, rngs=nnx.Rngs(0))
    train(lattice.train_step, (old, optimizer_for(old)), lattice.symmetrised(draw), run)
    for a, b in zip(jax.tree.leaves(nnx.state(model)), jax.tree.leaves(nnx.state(old))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert data.recorded(ising_sets.ising_at(**spec)) == spec  # what the sidecar records


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
         "week17_diffusion/ising_binomial", "week16_gans/ring_3k_seeds",
         "week16_gans/ring_3k_seed1_snapshots", "week16_gans/digits_classifier",
         "week16_gans/digits_sgan_discriminator", "week16_gans/digits_100_labels_classifier",
         "week16_gans/digits_sgan_label_draws"]


def test_the_kinds_of_recipe_cover_every_recipe():
    kinds = {recipes.RECIPES[name].__qualname__ for name in KINDS}
    assert kinds | {"lattice_model", "stored_spins"} == {
        r.__qualname__ for r in recipes.RECIPES.values()}


@pytest.mark.parametrize("name", KINDS)
def test_each_kind_of_recipe_writes_its_file_where_it_is_told(tmp_path, name):
    files = recipes.files_of(name)  # an ensemble writes each member's file
    saved = json.loads(sidecar_path(files[0]).read_text())["config"]
    for key in ("train", "run"):
        if isinstance(saved.get(key), dict) and "steps" in saved[key]:
            saved[key] |= {"steps": 4, "steps_per_call": 2}
    if "every" in saved:  # the snapshots: one every 2 steps
        saved["every"] = 2
    if "seeds" in saved:  # the label draws: two of them
        saved["seeds"] = saved["seeds"][:2]
    shipped = [sha256(PRETRAINED_DIR / f"{f}.npz") for f in files]
    recipes.RECIPES[name](name, saved, tmp_path)
    for i, (f, before) in enumerate(zip(files, shipped)):
        written = json.loads((tmp_path / f"{f}.json").read_text())
        assert written["command"] == f"python -m course_lib pretrained regenerate {name}"
        seed = {"seed": recipes.ENSEMBLES[name].seeds[i]} if name in recipes.ENSEMBLES else {}
        assert written["config"] == saved | {"train": saved["train"] | seed}  # as it was given
        assert sha256(tmp_path / f"{f}.npz") == written["sha256"]
        assert sha256(PRETRAINED_DIR / f"{f}.npz") == before
