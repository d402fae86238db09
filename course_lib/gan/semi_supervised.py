"""The semi-supervised GAN against the classifier alone, over independent draws of the few
labels: the error bar of their difference.

Which 100 digits are labelled moves a classifier trained on so few more than the test set's
binomial error says, so a ranking of the two rests on several draws. Draw ``s`` keeps the
labels :func:`.steps.labelled_indices` chooses with seed ``s`` and trains both arms from seed
``s`` (initialisation, batches, noise, dropout); draw 0 is the single run the notebook ships
as weights, bit for bit. The draws train side by side in one compiled program
(:func:`course_lib.train.train_ensemble`): each carries its labelled examples as state, since
the members of an ensemble share one sampler.

One draw alone, and week16_gans' digit judge, are a :class:`Training` that the notebook and
the shipped file's recipe both hand to :func:`course_lib.pretrained.fit_training`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib import nets
from course_lib.data import Dataset
from course_lib.gan.models import Discriminator, GANConfig, init_semi_supervised
from course_lib.gan.steps import classifier_loss, labelled_indices, semi_supervised_step
from course_lib.train import TrainConfig, step_from_loss, train, train_ensemble


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


_classifier_step = step_from_loss(classifier_loss)


def _semi_supervised_step(G, D, opt_G, opt_D, examples, batch, key):
    """:func:`.steps.semi_supervised_step` on the labelled examples ``batch`` indexes."""
    i, x_unlabelled = batch
    return semi_supervised_step(G, D, opt_G, opt_D,
                                ((examples.x[...][i], examples.y[...][i]), x_unlabelled), key)


def _classifier_alone_step(model, optimizer, examples, i, key):
    return _classifier_step(model, optimizer, (examples.x[...][i], examples.y[...][i]), key)


def _arm(arm: str, config: GANConfig, dataset: Dataset, labels: int, seed: int):
    """(model, objects, train step, batches) of one arm of draw ``seed``, its labelled
    examples among the objects. "sgan": the semi-supervised GAN, its discriminator the model,
    on batches of labelled and as many unlabelled examples; "classifier": the same network
    and its Adam(lr_d) (default betas) on the labelled examples alone."""
    classes = int(dataset.labels.max()) + 1
    examples = LabelledExamples(dataset, labelled_indices(dataset, labels, seed))
    indices = lambda key, n: jax.random.randint(key, (n,), 0, labels)  # of labelled examples
    if arm == "sgan":
        G, D, opt_G, opt_D = init_semi_supervised(config, classes, seed)

        def batch(key, n):
            k1, k2 = jax.random.split(key)
            return indices(k1, n), dataset.sample(k2, n).reshape(n, -1)

        return D, (G, D, opt_G, opt_D, examples), _semi_supervised_step, batch
    if arm != "classifier":
        raise ValueError(f"arm must be 'sgan' or 'classifier', got {arm!r}")
    model = Discriminator(config, rngs=nnx.Rngs(seed), outputs=classes)
    optimizer = nnx.Optimizer(model, optax.adam(config.lr_d), wrt=nnx.Param)
    return model, (model, optimizer, examples), _classifier_alone_step, indices


class Training(NamedTuple):
    """A model, ``train()`` that trains it in place and returns :func:`course_lib.train.train`'s
    history, and the record of how (what a shipped file's sidecar keeps)."""
    model: nnx.Module
    train: Callable[[], dict]
    record: dict


def classifier_training(sizes, lr: float, dataset: Dataset, train_config: TrainConfig) -> Training:
    """An MLP of layer sizes ``sizes`` (inputs, hidden..., classes), initialised from
    ``train_config.seed``, trained by Adam(lr) on :func:`classifier_loss` over labelled batches
    of all of ``dataset``: week16_gans' judge of generated digits."""
    model = nets.MLP(sizes[0], list(sizes[1:-1]), sizes[-1], rngs=nnx.Rngs(train_config.seed))
    optimizer = nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)
    return Training(model, lambda: train(_classifier_step, (model, optimizer),
                                         dataset.sample_with_labels, train_config),
                    {"mlp": list(sizes), "lr": lr, "train": train_config})


def few_labels_training(arm: str, config: GANConfig, dataset: Dataset, labels: int,
                        train_config: TrainConfig) -> Training:
    """Arm "sgan" (the semi-supervised GAN's discriminator) or "classifier" (the same network
    on the labels alone) of the comparison with ``labels`` rows of ``dataset`` labelled:
    draw ``train_config.seed`` of :func:`fit_label_draws`, trained alone."""
    model, objects, step, batches = _arm(arm, config, dataset, labels, train_config.seed)
    return Training(model, lambda: train(step, objects, batches, train_config),
                    {"gan": config, "labels": labels, "train": train_config})


def fit_label_draws(config: GANConfig, dataset: Dataset, labels: int,
                    train_config: TrainConfig, seeds) -> list[tuple]:
    """``[(D, classifier, chosen), ...]``, one per seed: the semi-supervised GAN's
    discriminator and the same network trained on the labels alone (``train_config``'s
    steps, with the draw's seed), on the ``labels`` rows ``chosen`` with that seed. Draw ``s``
    ends bit for bit as :func:`few_labels_training` with seed ``s`` trains it alone (the
    notebook's run of seed 0)."""
    seeds = list(seeds)
    configs = [replace(train_config, seed=s) for s in seeds]
    models = []
    for arm in ("sgan", "classifier"):
        runs = [_arm(arm, config, dataset, labels, s) for s in seeds]
        train_ensemble(runs[0][2], [objects for _, objects, _, _ in runs], runs[0][3], configs)
        models.append([model for model, *_ in runs])
    return [(D, model, labelled_indices(dataset, labels, s))
            for D, model, s in zip(*models, seeds)]


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
