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

# %%
import time

import jax
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML
from matplotlib import animation

from course_lib import data, gan
from course_lib.train import TrainConfig, train

notebook_start = time.perf_counter()
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
# Single batches are noisy, so we average the last 1000 steps.

# %%
# NBVAL_CHECK_OUTPUT
last = slice(-1000, None)
rows = [("D(x)", history["d_real"], 0.5, 0.52), ("D(G(z))", history["d_fake"], 0.5, 0.48),
        ("D loss", history["d_loss"], 2 * np.log(2), 1.35),
        ("G loss", history["g_loss"], np.log(2), 0.75)]
print(f"{'':8s} {'ours (last 1000 steps)':>24s} {'theory':>8s} {'Raschka, MNIST':>15s}")
for name, values, theory, book in rows:
    v = values[last]
    print(f"{name:8s} {v.mean():14.3f} +- {v.std() / np.sqrt(len(v)):.3f} {theory:8.3f} {book:15.2f}")

# %% [markdown]
# (The $\pm$ is the standard error of a mean of 1000 correlated batch values, so it understates
# the uncertainty; what matters is that the values sit near, not on, the limits: the game is
# still being played, and $D$ keeps finding small differences.)

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
fig, axes = plt.subplots(3, 16, figsize=(13, 2.9))
for row, step in enumerate((500, 2000, 8000)):
    images = snapshots[step]
    for j in range(16):
        axes[row, j].imshow(images[j], cmap="gray_r", vmin=-1, vmax=1)
        axes[row, j].axis("off")
    axes[row, 0].set_title(f"step {step}", loc="left", fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# The same 16 noise vectors every 500 steps, as an animation (press play). Blobs turn into
# strokes within the first thousand steps; after that the digits sharpen and some change class
# as the discriminator keeps moving the target.

# %%
fig, axes = plt.subplots(4, 4, figsize=(3.6, 3.9))
pictures = [ax.imshow(snapshots[500][j], cmap="gray_r", vmin=-1, vmax=1)
            for j, ax in enumerate(axes.flat)]
for ax in axes.flat:
    ax.axis("off")
title = fig.suptitle("")


def frame(step):
    for picture, image in zip(pictures, snapshots[step]):
        picture.set_data(image)
    title.set_text(f"step {step}")
    return (*pictures, title)


across_training = animation.FuncAnimation(fig, frame, frames=sorted(snapshots), interval=300)
html = across_training.to_jshtml(default_mode="once")
plt.close(fig)
HTML(html)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# 1. Train with the *minimax* generator loss (`loss="minimax"`). What happens to the
#    generator's loss and to the samples early in training?
# 2. Remove the dropout from the discriminator. Does $D(x)$ still approach 1/2?

# %% tags=["solution"]
# Solution 1
mm_config = gan.GANConfig(**{**config.__dict__, "loss": "minimax"})
objects = gan.init(mm_config, seed=1)
h = train(gan.train_step, objects, gan.batches(digits, mm_config),
          TrainConfig(steps=2000, batch_size=64, progress=False))
print(f"minimax: D(G(z)) over the first 200 steps {h['d_fake'][:200].mean():.3f}, "
      f"generator gradient norm {h['g_grad_norm'][:200].mean():.3f} "
      f"(non-saturating: {history['g_grad_norm'][:200].mean():.3f})")

# %% tags=["solution"]
# Solution 2
nd_config = gan.GANConfig(**{**config.__dict__, "d_dropout": 0.0})
objects = gan.init(nd_config, seed=1)
h = train(gan.train_step, objects, gan.batches(digits, nd_config),
          TrainConfig(steps=8000, batch_size=64, progress=False))
print(f"no dropout: D(x) = {h['d_real'][-1000:].mean():.3f}, D(G(z)) = {h['d_fake'][-1000:].mean():.3f}")

# %%
print(f"this notebook ran in {time.perf_counter() - notebook_start:.0f} s")
