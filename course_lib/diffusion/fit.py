"""Build a diffusion model with its optimizer, and train it (or load its pretrained weights).

The optimizer has one owner: :func:`init` builds it from the config's ``lr`` (Adam, AdamW for
VDM as in google-research/vdm). Notebooks and the command line both go through here.
"""

from __future__ import annotations

import optax
from flax import nnx

from course_lib.data import Dataset
from course_lib.diffusion.binomial import BinomialConfig, BinomialDiffusion, binomial_train_step
from course_lib.diffusion.ddpm import DDPM, DDPMConfig, ddpm_train_step
from course_lib.diffusion.vdm import VDM, VDMConfig, vdm_train_step
from course_lib.pretrained import train_or_load
from course_lib.train import TrainConfig, train

# config class -> (model class, optimizer of a learning rate, train step)
FAMILIES = {
    DDPMConfig: (DDPM, optax.adam, ddpm_train_step),
    VDMConfig: (VDM, optax.adamw, vdm_train_step),
    BinomialConfig: (BinomialDiffusion, optax.adam, binomial_train_step),
}


def _family(config):
    """The family of a config or config class."""
    cls = config if isinstance(config, type) else type(config)
    family = next((c for c in cls.__mro__ if c in FAMILIES), None)  # LevelsDDPMConfig: DDPM's
    if family is None:
        raise ValueError(f"not a diffusion config: {cls.__name__}; accepted: "
                         f"{', '.join(c.__name__ for c in FAMILIES)}")
    return FAMILIES[family]


def init(config, seed: int = 0):
    """(model, optimizer) for a DDPMConfig, VDMConfig or BinomialConfig; the network is
    initialised from ``nnx.Rngs(seed)``."""
    model_class, optimizer, _ = _family(config)
    model = model_class(config, rngs=nnx.Rngs(seed))
    return model, nnx.Optimizer(model, optimizer(config.lr), wrt=nnx.Param)


def train_step_of(config):
    """The training step for ``config``'s model (a config or its class): DDPM's own
    (L_simple, ELBO or hybrid, as ``config.loss`` says), the ELBO for VDM and binomial."""
    return _family(config)[2]


def fit(config, dataset: Dataset, train_config: TrainConfig, *, seed: int = 0,
        name: str | None = None, retrain: bool | None = None, directory=None):
    """(model, history): the model of ``config`` trained on ``dataset`` for ``train_config``.

    With ``name`` ("<notebook>/<model>") it goes through :func:`course_lib.pretrained.
    train_or_load`: in class the weights are loaded from ``data/pretrained/<name>.npz``, with
    COURSE_RETRAIN=1 the model is trained and the file rewritten. The sidecar records the
    model's config, the training config and the data set's name, and the command that rebuilds
    the file alone: ``python -m course_lib pretrained regenerate <name>``. ``retrain``: as in
    train_or_load (default: COURSE_RETRAIN=1); ``directory``: where the file is read or
    written (default data/pretrained; ``make retrain`` passes a scratch folder).
    """
    model, optimizer = init(config, seed)

    def run():
        return train(train_step_of(config), (model, optimizer), dataset.sample, train_config)

    if name is None:
        return model, run()
    history = train_or_load(name, (model,), run, retrain=retrain,
                            config={"model": config, "train": train_config, "data": dataset.name},
                            command=f"python -m course_lib pretrained regenerate {name}",
                            directory=directory)
    return model, history
