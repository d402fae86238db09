"""A bound is a bound: the negative ELBO of any model, trained or not, averaged over the data,
is never below the data's exact entropy where that is known (Sohl-Dickstein et al. 2015's
two examples): the binary heartbeat, 5 equally likely sequences, H = log2 5 = 2.322 bits per
sequence, and the swiss roll, whose exact density course_lib.data computes (H = -E log p).

-E[ELBO] >= -E[log p_model(x)] >= H(p_data): the first step is Jensen, the second Gibbs'
inequality. A KL written with the wrong sign, a term dropped or a weight too small lets a
model dip below H, which no training can do. The shipped models are evaluated with the
current code: they come close to H, so these bounds are tight enough to bite."""

import json

import jax
import numpy as np
import pytest
from flax import nnx

from course_lib import data
from course_lib import diffusion as dm
from course_lib.pretrained import PRETRAINED_DIR, train_or_load
from course_lib.train import TrainConfig

HEARTBEAT_BITS = np.log2(5)  # 2.3219 bits per sequence


def shipped(name, make):
    """The model of data/pretrained/<name>, built from the config in its sidecar."""
    config = json.loads((PRETRAINED_DIR / f"{name}.json").read_text())["config"]
    model_config = {k: tuple(v) if isinstance(v, list) else v
                    for k, v in config["model"].items()}
    model = make(model_config)
    train_or_load(name, (model,), lambda: pytest.fail("must load, not train"), retrain=False,
                  config={"model": type(model.config)(**model_config),
                          "train": TrainConfig(**config["train"]), "data": config["data"]})
    return model


def bound_bits(model, x, repeats):
    r = dm.evaluate_model_bits(model, x, jax.random.key(1), repeats=repeats)
    return r["bits_per_example"], r["stderr_bits_per_dim"] * x.reshape(len(x), -1).shape[1]


@pytest.mark.parametrize("source", ["shipped", "untrained"])
def test_heartbeat_bound_is_never_below_log2_5(source):
    """Bits per sequence over 4000 x 5 draws (5 standard errors below H allowed for the
    estimator's noise; the shipped model sits about 0.1 bit above H, the untrained one far)."""
    x = np.asarray(data.get("heartbeat").sample(jax.random.key(0), 4000))
    if source == "shipped":
        model = shipped("week17_diffusion/heartbeat_binomial",
                        lambda c: dm.BinomialDiffusion(dm.BinomialConfig(**c),
                                                       rngs=nnx.Rngs(0)))
    else:
        model = dm.BinomialDiffusion(dm.BinomialConfig(T=200), rngs=nnx.Rngs(0))
    bits, se = bound_bits(model, x, repeats=5)
    assert bits > HEARTBEAT_BITS - 5 * se, (bits, se)
    if source == "shipped":  # and close to it: the bound is a useful one
        assert bits < HEARTBEAT_BITS + 0.5, bits


@pytest.mark.parametrize("name", ["roll_ddpm", "roll_vdm"])
def test_swiss_roll_bound_is_never_below_the_exact_entropy(name):
    """Nats per example of the shipped models against H = -E log p(x) on the same 4000
    samples (the roll's exact density, by quadrature along the roll). Both are means over
    the samples; 5 standard errors of their difference is the allowance."""
    x = np.asarray(data.get("swiss_roll").sample(jax.random.key(2), 4000))
    make = {"roll_ddpm": lambda c: dm.DDPM(dm.DDPMConfig(**c), rngs=nnx.Rngs(0)),
            "roll_vdm": lambda c: dm.VDM(dm.VDMConfig(**c), rngs=nnx.Rngs(0))}[name]
    model = shipped(f"week17_diffusion/{name}", make)
    nelbo = jax.jit(lambda k, xb: dm.negative_elbo(model, xb, k))
    bound = np.mean([np.asarray(nelbo(jax.random.fold_in(jax.random.key(3), r), x))
                     for r in range(5)], axis=0)  # per example, averaged over 5 draws
    neg_log_p = -data.swiss_roll_log_prob(x)
    diff = bound - neg_log_p
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert diff.mean() > -5 * se, (bound.mean(), neg_log_p.mean(), se)
    assert diff.mean() < 1.0  # within a nat: the model is a good one, the check has teeth
