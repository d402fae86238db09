"""The semi-supervised GAN against the classifier alone, over independent draws of the few
labels: the error bar of their difference.

Which 100 digits are labelled moves a classifier trained on so few more than the test set's
binomial error says, so a ranking of the two rests on several draws. Draw ``s`` keeps the
labels :func:`.steps.labelled_indices` chooses with seed ``s`` and trains both arms from seed
``s`` (initialisation, batches, noise, dropout); draw 0 is the single run the notebook ships
as weights, bit for bit. The draws train side by side in one compiled program
(:func:`course_lib.train.train_ensemble`): each carries its labelled examples as state, since
the members of an ensemble share one sampler.
"""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib.data import Dataset
from course_lib.gan.models import Discriminator, GANConfig, init_semi_supervised
from course_lib.gan.steps import classifier_loss, labelled_indices, semi_supervised_step
from course_lib.train import TrainConfig, step_from_loss, train_ensemble


class LabelledExamples(nnx.Module):
    """One draw's labelled examples (x flattened, y), as arrays a training step reads."""

    def __init__(self, dataset: Dataset, chosen: np.ndarray):
        self.x = nnx.Variable(jnp.asarray(dataset.data[chosen]).reshape(len(chosen), -1))
        self.y = nnx.Variable(jnp.asarray(dataset.labels[chosen]))


class LabelDraws(nnx.Module):
    """What is shipped of the draws (not their 2 x draws networks): per draw, the labelled
    rows of the training set and the class each arm predicts for every test example."""

    def __init__(self, draws: int, labels: int, n_test: int):
        self.chosen = nnx.Variable(jnp.zeros((draws, labels), jnp.int32))
        self.sgan = nnx.Variable(jnp.zeros((draws, n_test), jnp.int32))
        self.classifier = nnx.Variable(jnp.zeros((draws, n_test), jnp.int32))


def _semi_supervised_step(G, D, opt_G, opt_D, examples, batch, key):
    """:func:`.steps.semi_supervised_step` on the labelled examples ``batch`` indexes."""
    i, x_unlabelled = batch
    return semi_supervised_step(G, D, opt_G, opt_D,
                                ((examples.x[...][i], examples.y[...][i]), x_unlabelled), key)


_classifier_step = step_from_loss(classifier_loss)


def _classifier_alone_step(model, optimizer, examples, i, key):
    return _classifier_step(model, optimizer, (examples.x[...][i], examples.y[...][i]), key)


def classifier_alone(config: GANConfig, classes: int, seed: int):
    """(model, optimizer): the semi-supervised discriminator's network with ``classes``
    outputs and its Adam(lr_d) (default betas), to be trained on the labels alone."""
    model = Discriminator(config, rngs=nnx.Rngs(seed), outputs=classes)
    return model, nnx.Optimizer(model, optax.adam(config.lr_d), wrt=nnx.Param)


def fit_label_draws(config: GANConfig, dataset: Dataset, labels: int,
                    train_config: TrainConfig, seeds) -> list[tuple]:
    """``[(D, classifier, chosen), ...]``, one per seed: the semi-supervised GAN's
    discriminator and the same network trained on the labels alone (``train_config``'s
    steps, with the draw's seed), on the ``labels`` rows ``chosen`` with that seed. Draw ``s``
    ends bit for bit as ``train(semi_supervised_step, init_semi_supervised(config, K, s),
    ...)`` on ``labelled_subset(dataset, labels, s)`` would (the notebook's run of seed 0)."""
    seeds, classes = list(seeds), int(dataset.labels.max()) + 1
    chosen = [labelled_indices(dataset, labels, s) for s in seeds]
    examples = [LabelledExamples(dataset, c) for c in chosen]
    configs = [replace(train_config, seed=s) for s in seeds]

    def sgan_batch(key, n):  # indices into the labelled examples, and unlabelled data
        k1, k2 = jax.random.split(key)
        return (jax.random.randint(k1, (n,), 0, labels),
                dataset.sample(k2, n).reshape(n, -1))

    sgans = [init_semi_supervised(config, classes, s) for s in seeds]
    train_ensemble(_semi_supervised_step, [(*m, e) for m, e in zip(sgans, examples)],
                   sgan_batch, configs)
    alone = [classifier_alone(config, classes, s) for s in seeds]
    train_ensemble(_classifier_alone_step, [(*m, e) for m, e in zip(alone, examples)],
                   lambda key, n: jax.random.randint(key, (n,), 0, labels), configs)
    return [(sgan[1], model, c) for sgan, (model, _), c in zip(sgans, alone, chosen)]


def predicted_classes(model, x) -> np.ndarray:
    """The class ``model`` (in eval mode: no dropout) gives each row of ``x``."""
    model.eval()
    return np.asarray(model(jnp.asarray(x).reshape(len(x), -1)).argmax(-1), np.int32)


def label_draws(results: LabelDraws, config: GANConfig, dataset: Dataset, test: Dataset,
                labels: int, train_config: TrainConfig, seeds) -> dict:
    """Train the draws (:func:`fit_label_draws`) and write into ``results`` what the
    notebook reads of them; for :func:`course_lib.pretrained.train_or_load` (no history)."""
    fitted = fit_label_draws(config, dataset, labels, train_config, seeds)
    results.chosen[...] = jnp.asarray(np.stack([c for _, _, c in fitted]), jnp.int32)
    results.sgan[...] = jnp.asarray(np.stack([predicted_classes(D, test.data)
                                              for D, _, _ in fitted]))
    results.classifier[...] = jnp.asarray(np.stack([predicted_classes(m, test.data)
                                                    for _, m, _ in fitted]))
    return {}
