# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,slideshow,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (course)
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Week 15: a first GAN, and the numbers it should reach
#
# The week-16 lecture refers back to "the code from last week": the multilayer-perceptron GAN
# of Raschka et al. (*Machine Learning with PyTorch and Scikit-Learn*, ch. 17), trained on
# MNIST for 100 epochs, about an hour on a Colab GPU. Its log ended at $D(x) = 0.52$,
# $D(G(z)) = 0.48$, a discriminator loss of 1.35 and a generator loss of 0.75, and the course
# notebook left it there. Here is the same network on the 8x8 digits, trained in seconds on a
# CPU, with each of those four numbers put next to the value theory says it should approach.

# %% [markdown] slideshow={"slide_type": "notes"}
# The next cell installs `course_lib` when the notebook runs on Colab and turns on JAX's
# compile cache, kept in `$JAX_COMPILATION_CACHE_DIR` or else `~/.cache/course_lib/jax`,
# so that a second run skips compiling (`COURSE_LIB_NO_CACHE=1` turns it off).

# %% slideshow={"slide_type": "skip"}
# Colab and the compile cache (course_lib.enable_compile_cache)
import subprocess
import sys

if "google.colab" in sys.modules:  # a fresh Colab machine: install course_lib
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib[notebooks] @ git+https://github.com/fys5429/generative-models-companion"],
                   check=True)

import course_lib

compile_cache = course_lib.enable_compile_cache()

# %%
import jax
import matplotlib.pyplot as plt
import numpy as np

from course_lib import data, gan, plots
from course_lib.train import TrainConfig, train
from IPython.display import Markdown

print("devices:", jax.devices())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The networks
#
# Raschka's GAN, with the image size changed from 784 to 64 pixels:
#
# - noise $z$: 20 numbers uniform on $[-1, 1]$;
# - generator: Linear(20, 100) -> LeakyReLU(0.01) -> Linear(100, 64) -> tanh (pixels in $[-1, 1]$);
# - discriminator: Linear(64, 100) -> LeakyReLU(0.01) -> Dropout(0.5) -> Linear(100, 1) ->
#   sigmoid (the original's first layer has no bias; ours has one);
# - losses: binary cross-entropy, the discriminator on data (label 1) and samples (label 0)
#   summed, the generator with the non-saturating loss $-\log D(G(z))$;
# - Adam, learning rate $10^{-3}$, default $\beta$s, batch 64.

# %%
digits = data.digits("train")
config = gan.GANConfig(data_dim=64, latent_dim=20, hidden=(100,), act="leaky_relu",
                       out_act="tanh", d_dropout=0.5, latent="uniform",
                       lr_g=1e-3, lr_d=1e-3, b1=0.9, b2=0.999)
G, D, opt_G, opt_D = gan.init(config, seed=1)
fixed_z = jax.random.uniform(jax.random.key(0), (16, 20), minval=-1, maxval=1)
snapshots = {}


def snapshot(step):
    """Samples from the same noise, every 500 steps as training goes on."""
    snapshots[step] = np.asarray(G(fixed_z)).reshape(16, 8, 8)


history = train(gan.train_step, (G, D, opt_G, opt_D), gan.batches(digits, config),
                TrainConfig(steps=8000, batch_size=64, steps_per_call=500, progress=False),
                callback=snapshot)
print(f"8000 steps = {8000 * 64 / len(digits.data):.0f} epochs of the {len(digits.data)} "
      "training digits")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What the four numbers should approach
#
# If the generator reproduces the data, $p_g = p_r$, the best discriminator is
# $D^*(x) = p_r/(p_r + p_g) = 1/2$ everywhere (derived in week 16). Then
#
# - $D(x)$ and $D(G(z))$ both approach $1/2$;
# - the discriminator's loss $-\mathbb{E}\log D(x) - \mathbb{E}\log(1 - D(G(z)))$ approaches
#   $2\ln 2 = 1.386$;
# - the generator's loss $-\mathbb{E}\log D(G(z))$ approaches $\ln 2 = 0.693$.
#
# Single batches are noisy, so we average the last 1000 steps. Consecutive steps are not
# independent (the two networks change a little per step), so the error of that average comes
# from *batch means*: cut the 1000 steps into 10 blocks of 100, average each block, and take
# the standard error of the 10 block means. If the blocks are longer than the correlation time,
# the block means are nearly independent; the naive $\sigma/\sqrt{1000}$ of single steps,
# printed beside it, shows how much the correlation matters.

# %% tags=["nbval-check-output"]
last = slice(-1000, None)


def batch_means(values, blocks=10):
    """Mean of the last 1000 values and its standard error from `blocks` block means."""
    means = np.asarray(values[last]).reshape(blocks, -1).mean(1)
    return means.mean(), means.std(ddof=1) / np.sqrt(blocks)


rows = [("D(x)", history["d_real"], 0.5, 0.52), ("D(G(z))", history["d_fake"], 0.5, 0.48),
        ("D loss", history["d_loss"], 2 * np.log(2), 1.35),
        ("G loss", history["g_loss"], np.log(2), 0.75)]
print(f"{'':8s} {'ours, last 1000 steps':>22s} {'naive s.e.':>11s} {'theory':>7s} {'z':>6s} "
      f"{'Raschka, MNIST':>15s}")
for name, values, theory, book in rows:
    mean, err = batch_means(values)
    naive = np.std(values[last], ddof=1) / np.sqrt(1000)
    print(f"{name:8s} {mean:12.4f} +- {err:.4f} {naive:11.4f} {theory:7.3f} "
          f"{(mean - theory) / err:+6.1f} {book:15.2f}")

# %% [markdown]
# (The batch-means errors are larger than the naive ones: consecutive steps are correlated. An
# error estimated from 10 block means is itself uncertain by about a quarter, and blocks of 100
# steps are short against the slow drift of the game, so read the $\pm$ as a lower bound. It
# is enough for what the $z$ column says: the values sit near the limits, but tens of errors
# away from them. The game is still being played, and $D$ keeps finding small differences.)
#
# What these four numbers do and do not show: they are *necessary* for $p_g = p_r$, not
# sufficient. A discriminator that has learned nothing, the constant $D = 1/2$, also gives
# $D(x) = D(G(z)) = 1/2$ and a loss of exactly $2\ln 2$, whatever the generator draws; and
# the losses here are measured against the $D$ of the game, not the best one. Week 16 makes
# this precise: the loss of *any* $D$ only bounds the distance between $p_g$ and $p_r$ from
# below, so it measures that distance from samples instead. The samples below are the other
# half of the evidence.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))


def smooth(v, k=100):
    return np.convolve(v, np.ones(k) / k, mode="valid")


axes[0].plot(smooth(history["d_real"]), label="$D(x)$")
axes[0].plot(smooth(history["d_fake"]), label="$D(G(z))$")
axes[0].axhline(0.5, color="k", ls="--", label="1/2")
axes[0].set_xlabel("step")
axes[0].legend()
axes[1].plot(smooth(history["d_loss"]), label="D loss")
axes[1].plot(smooth(history["g_loss"]), label="G loss")
axes[1].axhline(2 * np.log(2), color="C0", ls="--", label="$2\\ln 2$")
axes[1].axhline(np.log(2), color="C1", ls="--", label="$\\ln 2$")
axes[1].set_xlabel("step")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Samples across training
#
# The same 16 noise vectors after 500, 2000 and 8000 steps:

# %%
plots.image_grid(np.stack([snapshots[step] for step in (500, 2000, 8000)]),
                 row_titles=["step 500", "step 2000", "step 8000"], size=0.75)
plt.show()

# %% [markdown]
# The same 16 noise vectors every 500 steps, as an animation (press play). Blobs turn into
# strokes within the first thousand steps; after that the digits sharpen and some change class
# as the discriminator keeps moving the target.

# %%
plots.chain_animation(np.stack([snapshots[step] for step in sorted(snapshots)]),
                      titles=[f"step {step}" for step in sorted(snapshots)], interval_ms=300)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each has a worked solution in the full notebook (the student version, `make student`, leaves
# them out); both solutions train on a CPU in a minute or two.
#
# 1. **The minimax generator loss** (about 30 minutes). Train with `loss="minimax"` (in
#    `gan.GANConfig`). What happens to the generator's loss and to the samples early in
#    training? *Compare with* the non-saturating run from the same seed: $D(G(z))$, the
#    generator's loss and its gradient norm over the first 200 steps (`history["g_grad_norm"]`),
#    and the samples' distance to real digits (`metrics.mmd`) as training goes on. *Hint:*
#    `train(..., callback=f)` calls `f(step)` every `steps_per_call` steps; in $D$'s logit the
#    slope of $\log(1 - D)$ is $-D$, that of $-\log D$ is $-(1 - D)$.
# 2. **No dropout in $D$** (about 15 minutes). Train with `d_dropout=0.0`. Does $D(x)$ still
#    approach 1/2? *Compare with* the table above: the same 8000 steps, the same batch means.
#    *Hint:* `gan.GANConfig(**{**config.__dict__, "d_dropout": 0.0})` copies the configuration
#    with one change.

# %% tags=["solution", "nbval-check-output"]
# Solution 1. Both losses from the same start (seed 1; step i draws the same batch and noise in
# both runs), 2000 steps. Early on D(G(z)) is small, where the minimax loss log(1 - D(G(z))) is
# flat (its slope in D's logit is D(G(z))) and the non-saturating -log D(G(z)) is steep.
# What it does to the samples: every 250 steps, the MMD^2 of 500 samples to 500 real digits
# (0 for a perfect generator; metrics.mmd, kernel widths 2, 5, 10) and the same 16 noise vectors.
from course_lib import metrics

real_500 = digits.data[:500].reshape(500, 64)
early = {}
for loss in ("non_saturating", "minimax"):
    cfg = gan.GANConfig(**{**config.__dict__, "loss": loss})
    objects = gan.init(cfg, seed=1)
    curve, pictures = [], {}

    def measure(step, G=objects[0]):
        x = G(jax.random.uniform(jax.random.key(2), (500, 20), minval=-1, maxval=1))
        curve.append((step, metrics.mmd(x, real_500, (2.0, 5.0, 10.0))))
        pictures[step] = np.asarray(G(fixed_z)).reshape(16, 8, 8)

    h = train(gan.train_step, objects, gan.batches(digits, cfg),
              TrainConfig(steps=2000, batch_size=64, steps_per_call=250, progress=False),
              callback=measure)
    early[loss] = (h, np.array(curve), pictures)

print(f"{'':15s} {'D(G(z)), steps 1-200':>21s} {'G loss, steps 1-200':>20s} "
      f"{'|grad G|, steps 1-200':>22s}")
for loss, (h, _, _) in early.items():
    print(f"{loss:15s} {h['d_fake'][:200].mean():21.3f} {h['g_loss'][:200].mean():20.3f} "
          f"{h['g_grad_norm'][:200].mean():22.3f}")
print("MMD^2 of the samples to real digits at steps", early["minimax"][1][:, 0].astype(int).tolist())
for loss, (_, curve, _) in early.items():
    print(f"  {loss:15s}", np.round(curve[:, 1], 3).tolist())

fig, axes = plt.subplots(2, 9, figsize=(11, 2.8))
for row, (loss, (_, _, pictures)) in enumerate(early.items()):
    for col, step in enumerate((250, 500, 1000)):
        for j in range(3):
            ax = axes[row, 3 * col + j]
            ax.imshow(pictures[step][j], cmap="gray_r", vmin=-1, vmax=1)
            ax.axis("off")
        axes[row, 3 * col].set_title(f"{loss}, step {step}", loc="left", fontsize=8)
plt.tight_layout()
plt.show()

# %% tags=["solution", "nbval-check-output"]
# One seed cannot say "the same pace". Three more pairs of runs (seeds 2-4 for the networks and
# the data stream, shared by the two losses), measured by the early gradient and the final MMD^2.
per_seed = {loss: [(h["g_grad_norm"][:200].mean(), curve[-1, 1])]
            for loss, (h, curve, _) in early.items()}
for seed in (2, 3, 4):
    for loss in early:
        cfg = gan.GANConfig(**{**config.__dict__, "loss": loss})
        objects = gan.init(cfg, seed=seed)
        h = train(gan.train_step, objects, gan.batches(digits, cfg),
                  TrainConfig(steps=2000, batch_size=64, seed=seed, progress=False))
        x = objects[0](jax.random.uniform(jax.random.key(2), (500, 20), minval=-1, maxval=1))
        per_seed[loss].append((h["g_grad_norm"][:200].mean(),
                               float(metrics.mmd(x, real_500, (2.0, 5.0, 10.0)))))
seeds = {loss: np.array(v) for loss, v in per_seed.items()}
mmd_gap = seeds["minimax"][:, 1] - seeds["non_saturating"][:, 1]  # paired by seed
print(f"{'4 seeds':15s} {'|grad G|, steps 1-200':>24s} {'MMD^2 at step 2000':>22s}")
for loss, v in seeds.items():
    (g, m), (g_err, m_err) = v.mean(0), v.std(0, ddof=1) / 2
    print(f"{loss:15s} {g:14.2f} +- {g_err:.2f} {m:14.3f} +- {m_err:.3f}")
print(f"MMD^2, minimax - non-saturating, paired by seed: {mmd_gap.mean():+.3f} +- "
      f"{mmd_gap.std(ddof=1) / 2:.3f}")

# %% tags=["solution", "nbval-check-output"]
(ns, ns_curve, _), (mm, mm_curve, _) = early["non_saturating"], early["minimax"]
first = slice(0, 200)
Markdown(
    f"**Answer.** The generator's loss changes meaning: the minimax loss is "
    f"$\\mathbb{{E}}\\log(1 - D(G(z)))$, negative and heading *down* towards "
    f"$\\ln\\frac12 = {np.log(0.5):.3f}$ at the equilibrium (here {mm['g_loss'][first].mean():.3f} "
    f"over the first 200 steps), where the non-saturating $-\\mathbb{{E}}\\log D(G(z))$ heads "
    f"down towards ${np.log(2):.3f}$ (here {ns['g_loss'][first].mean():.3f}). What it does *not* "
    f"do in this network is stall: with dropout in $D$, $D(G(z))$ stays near "
    f"{mm['d_fake'][first].mean():.2f} from the start, where $\\log(1 - D)$ is far from flat "
    f"(its slope in the logit is $D(G(z)) = {mm['d_fake'][first].mean():.2f}$ against "
    f"$1 - D(G(z)) = {1 - mm['d_fake'][first].mean():.2f}$ for the non-saturating loss). So the "
    f"gradients are of the same order: over the first 200 steps the minimax one is "
    f"{seeds['minimax'][:, 0].mean():.2f} $\\pm$ {seeds['minimax'][:, 0].std(ddof=1) / 2:.2f} "
    f"against {seeds['non_saturating'][:, 0].mean():.2f} $\\pm$ "
    f"{seeds['non_saturating'][:, 0].std(ddof=1) / 2:.2f} (4 seeds), "
    f"{1 - seeds['minimax'][:, 0].mean() / seeds['non_saturating'][:, 0].mean():.0%} smaller, "
    f"not orders of magnitude. The samples improve at a similar pace: in the seed-1 runs the "
    f"MMD$^2$ to real digits falls from {ns_curve[0, 1]:.2f} and {mm_curve[0, 1]:.2f} at step "
    f"{int(ns_curve[0, 0])} to {ns_curve[-1, 1]:.2f} and {mm_curve[-1, 1]:.2f} at step "
    f"{int(ns_curve[-1, 0])}, and the pictures are alike; over 4 seeds the final MMD$^2$ of the "
    f"minimax runs is higher by {mmd_gap.mean():+.3f} $\\pm$ {mmd_gap.std(ddof=1) / 2:.3f} "
    f"(paired by seed), a difference these seeds do not resolve. The minimax loss saturates "
    f"only when "
    f"$D$ wins decisively, $D(G(z)) \\to 0$, because its gradient is proportional to "
    f"$D(G(z))$ itself.")

# %% [markdown] tags=["solution"]
# Week 16 builds that case, a generator far from the data, and measures it: there $D(G(z))$
# falls by about four orders of magnitude, the minimax generator's gradient by 2.7 orders, while
# the non-saturating gradient stays large.

# %% tags=["solution", "nbval-check-output"]
# Solution 2
nd_config = gan.GANConfig(**{**config.__dict__, "d_dropout": 0.0})
objects = gan.init(nd_config, seed=1)
h = train(gan.train_step, objects, gan.batches(digits, nd_config),
          TrainConfig(steps=8000, batch_size=64, progress=False))
for name, key in (("D(x)", "d_real"), ("D(G(z))", "d_fake")):
    (mean, err), (with_dropout, err_dropout) = batch_means(h[key]), batch_means(history[key])
    print(f"{name:8s} no dropout {mean:.4f} +- {err:.4f} (z = {(mean - 0.5) / err:+.1f} from 1/2);"
          f" with dropout {with_dropout:.4f} +- {err_dropout:.4f}")

# %% [markdown] tags=["solution"]
# **Answer.** No: without dropout the discriminator separates real digits from samples more
# sharply, $D(x)$ sits further above 1/2 and $D(G(z))$ further below it than with dropout, many
# batch-means errors away (the $z$ above). Dropout handicaps $D$, which keeps the game closer to
# its equilibrium values; it does not make the generator better, and the four numbers alone
# cannot say which generator is closer to the data (week 16).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quoted numbers and their sources
#
# Every other number in the text is printed by the code beside it. These are Raschka's logged
# values, settings of the networks, and constants:
#
# | number | what it is | source |
# | --- | --- | --- |
# | 0.52 | $D(x)$ at epoch 100, MNIST | Raschka et al. 2022, ch. 17, the GAN's training log |
# | 0.48 | $D(G(z))$ at epoch 100 | the same log |
# | 1.35 | the discriminator's loss at epoch 100 | the same log |
# | 0.75 | the generator's loss at epoch 100 | the same log |
# | 0.01 | LeakyReLU's negative slope | setting, as in Raschka et al. 2022 |
# | 0.5 | dropout rate in $D$ | setting, as in Raschka et al. 2022 |
# | 10^{-3} | Adam's learning rate | setting, as in Raschka et al. 2022 |
# | 1.386 | $2\ln 2$ | `2 * log(2)` |
# | 0.693 | $\ln 2$ | `log(2)` |
# | 2.7 | orders of magnitude the minimax gradient falls for a generator far from the data | week16_gans, the saturation experiment (printed there) |
