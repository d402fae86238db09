"""The semi-supervised GAN over label draws (issue 27): the draws are independent (each its own
labels and seed), each is its seed's single run bit for bit, and the shipped results agree
with the shipped single run of draw 0."""

import json

import jax
import numpy as np
from flax import nnx

from course_lib import data, gan
from course_lib.config import from_dict
from course_lib.pretrained import PRETRAINED_DIR, fit_training, train_or_load
from course_lib.train import TrainConfig

CFG = gan.GANConfig(data_dim=64, latent_dim=4, hidden=(32,), out_act="tanh", d_dropout=0.3,
                    lr_g=2e-4, lr_d=2e-4)
RUN = TrainConfig(steps=6, batch_size=16, steps_per_call=3, progress=False)
SEEDS = [0, 3]


def bits(model) -> list[bytes]:
    return [np.asarray(x).tobytes() for x in jax.tree.leaves(nnx.state(model, nnx.Param))]


def single_run(digits, labels, seed):
    """Draw ``seed`` trained alone, the way week16_gans trains (and ships) its draw 0."""
    run = TrainConfig(**{**RUN.__dict__, "seed": seed})
    return [fit_training(gan.few_labels_training(arm, CFG, digits, labels, run))[0]
            for arm in ("sgan", "classifier")]


def test_each_draw_is_its_own_seeds_single_run_and_the_draws_differ():
    digits, test = data.digits("train"), data.digits("test")
    results = gan.LabelDraws(len(SEEDS), 20, len(test.labels))
    gan.label_draws(results, CFG, digits, test, 20, RUN, SEEDS)
    chosen = np.asarray(results.chosen[...])
    # other labelled digits in each draw (two per class), not one draw repeated
    assert len(set(chosen[0]) & set(chosen[1])) < 5
    for row in chosen:
        np.testing.assert_array_equal(np.bincount(digits.labels[row], minlength=10), 2)
    for i, seed in enumerate(SEEDS):
        np.testing.assert_array_equal(chosen[i], gan.labelled_indices(digits, 20, seed))
        D, model = single_run(digits, 20, seed)
        np.testing.assert_array_equal(results.sgan[...][i], gan.predicted_classes(D, test.data))
        np.testing.assert_array_equal(results.classifier[...][i],
                                      gan.predicted_classes(model, test.data))
    fitted = gan.fit_label_draws(CFG, digits, 20, RUN, SEEDS)
    for (D, model, _), seed in zip(fitted, SEEDS):  # the networks themselves, to the last bit
        D_alone, model_alone = single_run(digits, 20, seed)
        assert bits(D) == bits(D_alone) and bits(model) == bits(model_alone)
    assert bits(fitted[0][0]) != bits(fitted[1][0])


def test_the_shipped_draws_hold_the_shipped_single_run_as_draw_0():
    """The results file (trained side by side) against the two shipped networks of draw 0
    (trained alone, by another recipe): the same predicted class for every test digit."""
    name = "week16_gans/digits_sgan_label_draws"
    saved = json.loads((PRETRAINED_DIR / f"{name}.json").read_text())["config"]
    config, run = from_dict(gan.GANConfig, saved["gan"]), from_dict(TrainConfig, saved["train"])
    digits, test = data.digits("train"), data.digits("test")
    results = gan.LabelDraws(len(saved["seeds"]), saved["labels"], len(test.labels))
    record = {"gan": config, "labels": saved["labels"], "train": run}
    train_or_load(name, (results,), dict, retrain=False, config=record | {"seeds": saved["seeds"]})
    assert saved["seeds"][0] == 0 and len(set(saved["seeds"])) == len(saved["seeds"]) >= 5
    chosen = np.asarray(results.chosen[...])
    for row, seed in zip(chosen, saved["seeds"]):
        np.testing.assert_array_equal(row, gan.labelled_indices(digits, saved["labels"], seed))
    assert len({tuple(sorted(row)) for row in chosen}) == len(chosen)
    D, model = (fit_training(gan.few_labels_training(arm, config, digits, saved["labels"], run),
                             name=f"week16_gans/{name}", retrain=False)[0]
                for arm, name in (("sgan", "digits_sgan_discriminator"),
                                  ("classifier", "digits_100_labels_classifier")))
    np.testing.assert_array_equal(results.sgan[...][0], gan.predicted_classes(D, test.data))
    np.testing.assert_array_equal(results.classifier[...][0],
                                  gan.predicted_classes(model, test.data))
    # the draws are trained networks, not copies of one: every arm above chance, draws differ
    accuracy = {arm: (np.asarray(getattr(results, arm)[...]) == test.labels).mean(1)
                for arm in ("sgan", "classifier")}
    assert all(a.min() > 0.5 and np.unique(a).size > 1 for a in accuracy.values())
