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
# # Week 0: setting up, and the data of the course
#
# This notebook checks that the installation works, shows which devices JAX computes on, and
# introduces every data set the GAN and diffusion weeks use. Nothing here is trained. To
# install, from the repository's root, with Python 3.12 or newer (any system; the README's
# section "macOS and Windows" has the Windows spelling):
#
# ```bash
# python3.12 -m venv .venv && source .venv/bin/activate
# pip install -e ".[notebooks]"
# ```
#
# or, where `make` is available, `make setup` (the same into `.venv/`, every package at the
# version and hash of `requirements.lock`).
#
# `python -m course_lib doctor` then says whether everything works, and what to fix if not.
#
# Every number in these notebooks comes from running them, or is a constant or a paper's
# value listed with its source at the end of the notebook. Cells tagged `nbval-check-output`
# (the tag shows in JupyterLab's property inspector) print rounded key numbers, and the test
# suite (`make test`) re-runs each notebook and fails if one of those numbers changes.

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

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The installation
#
# The course pins the versions it was tested with (`pyproject.toml`). JAX compiles each
# function once per input shape with XLA; `course_lib` keeps the compiled programs on disk,
# so the second time you run a notebook the compilation is skipped.

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import course_lib
from course_lib import data, ising

print("course_lib", course_lib.__version__, "| jax", jax.__version__)
print("devices:", jax.devices())
print("backend:", jax.default_backend())

# %% [markdown]
# A first check that the numerics work: a jitted function gives the same answer as NumPy.

# %% tags=["nbval-check-output"]
x = np.linspace(-3, 3, 1001)
log_normal = jax.jit(lambda x: -0.5 * x**2 - 0.5 * jnp.log(2 * jnp.pi))
riemann = float(jnp.sum(jnp.exp(log_normal(x))) * (x[1] - x[0]))
print(f"integral of N(0,1) over [-3, 3]: {riemann:.4f} (exact 0.9973)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Data sets are samplers
#
# A data set in `course_lib.data` is a *function* `sample(key, n)` that returns `n` fresh
# examples. It is pure JAX, so a training loop can draw each batch inside one compiled
# program without ever returning to Python. The same key always gives the same examples.

# %%
for name, line in data.describe().items():
    print(f"{name:12s} {line}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The toy sets in two dimensions
#
# The **ring** (8 Gaussians on the unit circle, std 0.01) and the **grid** (25 Gaussians at
# $\{-4,-2,0,2,4\}^2$, std 0.05) are the standard tests of *mode collapse* (VEEGAN, PacGAN):
# we know every mode, so we can count how many a generator reaches. The **swiss roll** is the
# example of Sohl-Dickstein et al. (2015), the paper that introduced diffusion models, and
# **moons** is a small two-class set.

# %%
key = jax.random.key(0)
fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
for ax, name in zip(axes, ["ring", "grid", "swiss_roll", "moons"]):
    ds = data.get(name)
    x = np.asarray(ds.sample(key, 2500))
    ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5)
    if ds.means is not None:
        ax.scatter(ds.means[:, 0], ds.means[:, 1], marker="x", c="k", s=30)
    ax.set_title(f"{name} ({len(ds.means)} modes)" if ds.means is not None else name)
    ax.set_aspect("equal")
plt.tight_layout()
plt.show()

# %% [markdown]
# The mode metrics need the mixtures' means and their common standard deviation, which the
# data sets carry. A sample from the ring lies, to within a few standard deviations, on one
# of the eight means. For a 2D Gaussian the squared distance from the mean over $\sigma^2$ is
# $\chi^2$ with two degrees of freedom, so a fraction $1 - e^{-9/2} = 0.989$ lies within
# $3\sigma$: the "high-quality" threshold of the mode-collapse protocol.

# %% tags=["nbval-check-output"]
ring = data.get("ring")
x = np.asarray(ring.sample(key, 2500))
dist = np.linalg.norm(x[:, None] - ring.means[None], axis=-1)
print(f"modes: {len(ring.means)}, std: {ring.std}")
print(f"samples within 3 std of their nearest mean: {np.mean(dist.min(1) < 3 * ring.std):.3f}"
      f" (exact {1 - np.exp(-4.5):.3f})")
print(f"samples per mode: {np.bincount(dist.argmin(1), minlength=8).tolist()}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## One dimension: densities we can write down
#
# For the theory of GANs we need densities that are known in closed form, so that the optimal
# discriminator $D^*(x) = p_r(x) / (p_r(x) + p_g(x))$ can be computed exactly and compared with
# a trained one. `gaussian_1d` and `mixture_1d` are those.

# %%
xs = np.linspace(-5, 5, 400)
mix = data.mixture_1d(means=(-2.0, 2.0), std=0.5)
samples = np.asarray(mix.sample(key, 20_000))[:, 0]
density = sum(np.exp(-0.5 * ((xs - m) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))
              for m in (-2.0, 2.0)) / 2
plt.figure(figsize=(6, 3))
plt.hist(samples, bins=120, density=True, alpha=0.5, label="20,000 samples")
plt.plot(xs, density, "k", label="$p(x)$, exact")
plt.legend()
plt.xlabel("$x$")
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Binary sequences: the heartbeat
#
# Sohl-Dickstein et al. (2015) trained a *binomial* diffusion model on sequences of 20 bits
# with a 1 in every fifth bin; where the first pulse falls is uniform over the first five
# bins. There are exactly five possible sequences, each with probability 1/5, so the true
# log-likelihood is $\log_2(1/5) = -2.322$ bits per sequence: a number a trained model's bound
# can be held against.

# %% tags=["nbval-check-output"]
beats = np.asarray(data.get("heartbeat").sample(key, 10_000))
patterns, counts = np.unique(beats, axis=0, return_counts=True)
for p, c in zip(patterns, counts):
    print("".join(str(int(b)) for b in p), f"{c / len(beats):.3f}")
print(f"true log-likelihood: {np.log2(1 / 5):.3f} bits per sequence")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Images: the 8x8 digits
#
# The 1797 handwritten digits of the UCI optdigits set (shipped in `data/digits.npz`; see
# `data/README.md` for provenance and licence) are small enough to train on a laptop in
# seconds. Each pixel counts pen strokes in a 4x4 block, so it takes one of 17 values
# $0, \dots, 16$, which we map to $[-1, 1]$. A fixed split keeps 300 images for held-out
# likelihoods.

# %%
digits = data.digits()
fig, axes = plt.subplots(2, 10, figsize=(10, 2.3))
for ax, i in zip(axes.flat, range(20)):
    ax.imshow(digits.data[i], cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(int(digits.labels[i]), fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(f"images: {digits.data.shape}, classes: {digits.num_classes}, grey levels: {digits.levels}")
print(f"train: {len(data.digits('train').data)}, test: {len(data.digits('test').data)}")
print(f"images per class: {np.bincount(digits.labels).tolist()}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Physics: the 2D Ising model
#
# The Ising model puts a spin $s_i = \pm 1$ on each site of an $L \times L$ lattice (periodic
# boundaries) with energy $H(s) = -J \sum_{\langle ij \rangle} s_i s_j$ over nearest-neighbour
# pairs ($J = 1$, $k_B = 1$). At temperature $T$ a configuration has probability
# $p(s) \propto e^{-H(s)/T}$. Below Onsager's critical temperature
# $T_c = 2/\ln(1+\sqrt 2) \approx 2.269$ the spins align (large $|m|$); above it they are
# disordered. Near $T_c$ domains of every size appear, which makes these configurations a
# demanding test for a generative model: does it reproduce the energy and the magnetisation,
# not just the look?
#
# We draw configurations with the Metropolis algorithm: propose flipping spin $i$, which
# changes the energy by $\Delta E = 2 s_i \sum_{j \sim i} s_j$, and accept with probability
# $\min(1, e^{-\Delta E / T})$. The sites of a checkerboard's two colours have all their
# neighbours on the other colour, so each colour is updated at once, in one vectorised step.

# %% [markdown]
# First a check against the exact answer. On a 4x4 lattice there are $2^{16} = 65536$
# configurations, few enough to sum over all of them. The sampler's averages over 256
# independent chains should agree with the exact ones within a few standard errors (the
# error comes from the spread of the chains' own means).

# %% tags=["nbval-check-output"]
for T in (1.5, ising.T_CRITICAL, 3.5):
    exact = ising.exact_observables(4, T)
    obs = ising.observables(jax.random.key(1), 4, T, n_chains=256, burn_in=200,
                            measurements=200, thin=2)
    e, e_err = ising.mean_and_error(obs["energy"])
    m, m_err = ising.mean_and_error(obs["abs_m"])
    print(f"T = {T:.3f}  E/N: {e:.4f} +- {e_err:.4f} (exact {exact['energy']:.4f})   "
          f"|m|: {m:.4f} +- {m_err:.4f} (exact {exact['abs_m']:.4f})")

# %% [markdown] slideshow={"slide_type": "slide"}
# Now 16x16 configurations across the transition: ordered below $T_c$, domains of all sizes
# near it, noise above it.

# %%
temperatures = [1.5, 2.0, 2.269, 2.6, 3.5]
fig, axes = plt.subplots(1, len(temperatures), figsize=(13, 2.9))
for ax, T in zip(axes, temperatures):
    s = ising.metropolis(jax.random.key(2), L=16, T=T, n_chains=1, sweeps=1000)[0]
    ax.imshow(np.asarray(s), cmap="gray", vmin=-1, vmax=1)
    ax.set_title(f"T = {T}")
    ax.set_xticks([])  # keep the frame: an all-up lattice is a white square
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# The critical region shows in the averages: $|m|$ drops and the energy rises most steeply
# near $T_c$ (on a finite lattice the transition is smoothed out).

# %%
Ts = np.linspace(1.5, 3.5, 11)
curves = {"energy": [], "abs_m": []}
for T in Ts:
    obs = ising.observables(jax.random.key(3), 16, float(T), n_chains=64, burn_in=500,
                            measurements=50, thin=4)
    for k in curves:
        curves[k].append(ising.mean_and_error(obs[k]))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, (k, label) in zip(axes, [("energy", "$E/N$"), ("abs_m", "$\\langle|m|\\rangle$")]):
    mean, err = np.array(curves[k]).T
    ax.errorbar(Ts, mean, err, marker="o", ms=4)
    ax.axvline(ising.T_CRITICAL, color="gray", ls="--", label="$T_c$")
    ax.set_xlabel("$T$")
    ax.set_ylabel(label)
    ax.legend()
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
slope = np.gradient(np.array(curves["abs_m"])[:, 0], Ts)
print(f"|m| falls fastest at T = {Ts[np.argmin(slope)]:.1f} (T_c = {ising.T_CRITICAL:.3f})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Explore: heating a lattice through $T_c$
#
# The same sampler on a 32x32 lattice at 13 temperatures, one frame each: a configuration
# after 500 sweeps, and $\langle|m|\rangle$ and $E/N$ over 16 independent chains (error bars
# are standard errors over the chains). Move the slider: the picture and the numbers are
# stored in the page, so this works without Python and offline, on the course site and in
# the slides. In JupyterLab, `temperature.live()` gives a slider that reruns the sampler at
# any temperature.

# %%
from course_lib import explorables

temperature = explorables.ising_temperature()
temperature

# %% [markdown]
# The Ising data set used in the diffusion weeks is `data.ising(L, T)`: 2048 such
# configurations, drawn once from a seed.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quoted numbers and their sources
#
# Every other number in the text is printed by the code beside it. These are constants, or
# settings of the data sets taken from the papers:
#
# | number | what it is | source |
# | --- | --- | --- |
# | 0.01 | standard deviation of each ring mode | VEEGAN (Srivastava et al. 2017), PacGAN (Lin et al. 2018); `data.get("ring").std` |
# | 0.05 | standard deviation of each grid mode | the same papers; `data.get("grid").std` |
# | 0.989 | $P(\chi^2_2 < 9) = 1 - e^{-9/2}$ | `1 - exp(-4.5)` |
# | 2.322 | $-\log_2(1/5)$, the heartbeat's entropy in bits | `log2(5)` |
# | 2.269 | Onsager's $T_c = 2/\ln(1 + \sqrt 2)$ | `2 / log(1 + sqrt(2))` |
