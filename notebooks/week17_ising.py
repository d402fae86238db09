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
# # Week 17: Ising configurations from a diffusion model, checked against exact physics
#
# A generative model of a physical system can be checked in a way few image models can: the
# right answer is known. For the two-dimensional Ising model on a periodic $L \times L$
# lattice, $H(s) = -\sum_{\langle ij \rangle} s_i s_j$ with $s_i = \pm 1$, configurations
# should follow the Boltzmann distribution $p(s) = e^{-H(s)/T}/Z$, and we know
#
# - Onsager's exact energy and spontaneous magnetisation of the infinite lattice,
# - Kaufman's exact partition function of the *finite* periodic lattice (so the exact
#   energy, specific heat and entropy of our $16 \times 16$ lattice),
# - a Metropolis sampler that is slow but correct, for everything else.
#
# We train a binomial diffusion model (Sohl-Dickstein et al. 2015, the lecture's paper) whose
# denoiser respects the lattice, first at the critical temperature $T_c = 2/\ln(1+\sqrt 2)
# \approx 2.269$, then conditioned on the temperature, and compare what it generates with
# the physics: energy, magnetisation, their histograms, the spin-spin correlation function,
# the specific heat and susceptibility from the fluctuations, and the held-out bits per spin
# against the entropy, which no model can beat.
#
# Class mode loads the trained weights from `data/pretrained/week17_ising/`. They were
# trained on a GPU (about 100 s each on an H200; hours on a laptop CPU):
# `python -m course_lib pretrained regenerate week17_ising/critical` (or `.../conditional`)
# rebuilds one with the recorded data, configuration and seed.

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
import math

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx
from IPython.display import Markdown

from course_lib import ising, ising_sets
from course_lib.cli.run_folder import write_run_folder
from course_lib.diffusion import lattice
from course_lib.pretrained import PRETRAINED_DIR, RETRAIN, cached_spins, fit
from course_lib.train import TrainConfig

T_C = ising.T_CRITICAL
print("models:", "trained from scratch (COURSE_RETRAIN=1)" if RETRAIN else
      "pre-trained weights from data/pretrained/week17_ising/")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What is known exactly
#
# **Onsager (1944), infinite lattice.** With $K = 1/T$ and $k = 2\sinh 2K/\cosh^2 2K$,
# $$\frac{E}{N} = -\coth 2K\left[1 + \frac{2}{\pi}\,(2\tanh^2 2K - 1)\,\mathbf K(k)\right],
# \qquad m_0 = \left(1 - \sinh^{-4} 2K\right)^{1/8}\ (T < T_c),$$
# with $\mathbf K$ the complete elliptic integral; at $T_c$ the energy is $-\sqrt 2$ and the
# entropy per spin $s_c = \tfrac12\ln 2 + 2G/\pi - \sqrt 2/T_c = 0.3065$ nats $= 0.442$ bits
# ($G$ Catalan's constant).
#
# **Kaufman (1949), the finite torus.** $Z$ of an $m \times n$ periodic lattice is a sum of four
# products over $n$ modes (`ising.log_partition_function`, checked against brute-force
# enumeration of every state up to $4 \times 4$ in the tests). Its derivatives in $K$ give the
# exact $E/N = -\partial_K \ln Z/N$, $C/N = K^2\partial_K^2 \ln Z/N$ and the entropy
# $S/N = \ln Z/N + (E/N)/T$ of *our* $16 \times 16$ lattice.
#
# The entropy is the floor for the bits per spin: a model $p_\theta$ of data from $p$ has
# cross-entropy $H(p) + \mathrm{KL}(p\,\|\,p_\theta) \ge H(p)$, and a diffusion model's
# negative ELBO lies above its cross-entropy.

# %% tags=["nbval-check-output"]
exact_16 = ising.exact_finite_lattice(16, T_C)
print(f"16x16 torus at T_c (Kaufman): E/N = {exact_16['energy']:.4f}, "
      f"C/N = {exact_16['specific_heat']:.4f}, S/N = {exact_16['entropy_nats']:.4f} nats "
      f"= {exact_16['entropy_bits']:.4f} bits")
print(f"infinite lattice at T_c (Onsager): E/N = {float(ising.onsager_energy(T_C)):.4f}, "
      f"S/N = {ising.ENTROPY_TC_NATS:.4f} nats = {ising.ENTROPY_TC_BITS:.4f} bits")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The Metropolis reference, checked first
#
# Training data and reference come from the checkerboard Metropolis sampler of
# `course_lib.ising`: independent chains, each run 1000 sweeps from a random start (below
# $T_c$ from an ordered one), one configuration kept per chain, so the configurations are
# independent and every error bar below is a spread over independent configurations. The
# specific heat and susceptibility come from the fluctuations,
# $C/N = N(\langle e^2\rangle - \langle e\rangle^2)/T^2$ and
# $\chi/N = N(\langle m^2\rangle - \langle |m|\rangle^2)/T$ ($e = E/N$, $m$ per spin), with
# jackknife errors. Is 1000 sweeps enough at $T_c$, where Metropolis is slowest? Kaufman's
# exact energy and specific heat of the same lattice say. (Sampling the 2048 reference
# chains takes longer than a lecture has, so they are stored in
# `data/pretrained/week17_ising/`, as packed bits; `COURSE_RETRAIN=1` samples them again.)

# %%
PRETRAINED = PRETRAINED_DIR / "week17_ising"
reference = cached_spins(
    PRETRAINED / "metropolis_tc.npz", remake=RETRAIN,
    description="Metropolis key 1, 2048 chains, 1000 sweeps from random, 16x16 at T_c",
    make=lambda: ising.metropolis(jax.random.key(1), L=16, T=T_C, n_chains=2048, sweeps=1000))
ref_thermo = ising.thermodynamics(reference, T_C)

# %% tags=["nbval-check-output"]
for name, exact in (("energy", exact_16["energy"]), ("specific_heat", exact_16["specific_heat"])):
    value, err = ref_thermo[name]
    print(f"Metropolis {name:14s} {value:.3f} +- {err:.3f}   exact {exact:.3f}   "
          f"z = {(value - exact) / err:+.1f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Binomial diffusion on the torus
#
# With $x = (s + 1)/2 \in \{0, 1\}$, the forward process of Sohl-Dickstein et al. (2015)
# replaces each spin, at step $t$ with probability $\beta_t = 1/(T - t + 1)$, by a fair coin:
# $$q(x_t = 1 \mid x_{t-1}) = x_{t-1}(1 - \beta_t) + \tfrac12\beta_t
# \quad\Rightarrow\quad q(x_t = 1 \mid x_0) = \bar\alpha_t x_0 + \tfrac12(1 - \bar\alpha_t),
# \qquad \bar\alpha_t = \prod_{s \le t}(1 - \beta_s) = 1 - t/T,$$
# (the product telescopes: $\prod_{s=1}^{t} \frac{T-s}{T-s+1} = \frac{T-t}{T}$), so at $t = T$
# every spin is a fair coin and the prior term of the ELBO vanishes. The reverse step is a
# product over sites of
# $$p_\theta(x_{t-1} = 1 \mid x_t) = \sum_{x_0 \in \{0,1\}} q(x_{t-1} = 1 \mid x_t, x_0)\,
# \pi_\theta(x_0 \mid x_t),$$
# where $q(x_{t-1} \mid x_t, x_0) \propto q(x_t \mid x_{t-1})\,q(x_{t-1} \mid x_0)$ is Bayes'
# rule on the chain and $\pi_\theta(x_0 = 1 \mid x_t)$ is the network's guess of the clean spin.
# The ELBO is the week-16 one, $-\log p(x_0 \mid x_1) + \sum_{t \ge 2}
# \mathrm{KL}(q(x_{t-1} \mid x_t, x_0)\,\|\,p_\theta(x_{t-1} \mid x_t))$, each KL a sum of
# Bernoulli KLs; the tests check our estimator against the exact ELBO of a $2 \times 2$ lattice.
#
# **The network respects the lattice.** The MLP of week 17's first attempt saw 256 unrelated
# inputs; here every layer is a $3 \times 3$ convolution with *periodic* padding, dilated
# 1, 2, 4, 8 so that four layers see the whole torus, plus the lattice average of the features
# ("which way is the lattice magnetised"). A translation of the torus then translates the
# output, exactly as it leaves $H$ unchanged; the global spin flip $s \to -s$ is taught by
# flipping half of every training batch. Eight such layers of 32 channels (dilations
# 1, 2, 4, 8 twice) and $T = 200$ steps: with $T$ steps about $N/T$ of the $N = 256$ spins are
# redrawn per reverse step (half of them flip; counted below), and spins redrawn in the *same*
# step are drawn independently, so a small $T$ cannot place neighbouring spins jointly (see
# "what made the difference" below).
# Training: 4000 Adam steps of 256 lattices, the learning rate falling from $10^{-3}$ to 0
# along a cosine, on 8192 Metropolis configurations at $T_c$.

# %% tags=["nbval-check-output"]
# The forward process redraws a spin at step t with probability beta_t = 1/(T - t + 1); the
# fraction redrawn at least once by step t, 1 - abar_t = t/T, grows by the same 1/T every step.
# A redrawn spin is a fair coin, so it differs from the clean spin with probability 1/2.
N = 16 * 16
for steps in (50, 200):
    t = np.arange(1, steps + 1)
    abar = np.cumprod(1 - 1 / (steps - t + 1))
    redrawn = N * np.diff(np.r_[0.0, 1 - abar])  # spins redrawn for the first time at step t
    print(f"T = {steps:3d}: {redrawn.mean():.2f} spins redrawn per step (N/T = {N / steps:.2f}, "
          f"the same at every step to {np.ptp(redrawn):.0e}), {redrawn.mean() / 2:.2f} of them "
          "flipped")

# %%
CRITICAL = lattice.LatticeDiffusionConfig(T=200, features=32, dilations=(1, 2, 4, 8) * 2,
                                          lr=1e-3, decay_steps=4000)
CRITICAL_TRAINING = TrainConfig(steps=4000, batch_size=256, progress=False, steps_per_call=1000)
CRITICAL_DATA = {"temperatures": [T_C], "seed": 0, "n_chains": 8192, "sweeps": 1000}
# the 8192 Metropolis configurations are made only when the model is retrained
(critical_model, _), critical_history = fit(CRITICAL, ising_sets.ising_at(**CRITICAL_DATA),
                                            CRITICAL_TRAINING, name="week17_ising/critical")
x, t = (jnp.asarray(reference[:8]) + 1) / 2, jnp.full(8, 20.0)
shifted_output = critical_model.x0_logit(jnp.roll(x, (5, 11), (1, 2)), t)
output_shifted = jnp.roll(critical_model.x0_logit(x, t), (5, 11), (1, 2))
n_parameters = sum(v.size for v in jax.tree.leaves(nnx.state(critical_model, nnx.Param)))
print(f"{n_parameters} parameters; translation equivariance: max |f(shifted x) - shifted f(x)| "
      f"= {float(jnp.abs(shifted_output - output_shifted).max()):.1e}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1000 generated configurations at $T_c$ against Metropolis
#
# Each number is a mean over independent configurations with its standard error (the
# fluctuations with jackknife errors); $z$ is the difference over the combined error. The
# specific heat and susceptibility are the strict tests: they are *variances* of the energy
# and magnetisation across configurations, so a model that gets every configuration's
# energy about right but with the wrong spread fails them. (Sampling 1000 configurations,
# 200 network calls each, takes 2 s on a GPU and many minutes on a laptop CPU, so they are
# stored beside the weights; `COURSE_RETRAIN=1` samples them again, and the command line
# below samples your own.)

# %%
generated = cached_spins(
    PRETRAINED / "generated_tc.npz", remake=RETRAIN,
    make=lambda: lattice.generate(critical_model, jax.random.key(10), 1000, chunk=500),
    description="1000 configurations from week17_ising/critical: "
                "lattice.generate(model, key(10), 1000, chunk=500)")
gen_thermo = ising.thermodynamics(generated, T_C)
critical_bits = lattice.bits_per_spin(critical_model, reference[:512], jax.random.key(3),
                                      repeats=20)

# %% tags=["nbval-check-output"]
print(f"{'':16s} {'generated':>16s} {'Metropolis':>16s} {'difference':>11s} {'z':>6s}")
for name in ("energy", "abs_m", "specific_heat", "susceptibility"):
    (g, ge), (r, re) = gen_thermo[name], ref_thermo[name]
    print(f"{name:16s} {g:9.3f} +- {ge:.3f} {r:9.3f} +- {re:.3f} {g - r:+11.3f} "
          f"{(g - r) / np.hypot(ge, re):+6.1f}")
print(f"held-out negative ELBO {critical_bits['bits_per_spin']:.3f} +- "
      f"{critical_bits['stderr']:.3f} bits/spin; entropy floor {exact_16['entropy_bits']:.3f} "
      f"(16x16, Kaufman), {ising.ENTROPY_TC_BITS:.3f} (infinite lattice); "
      f"gap {critical_bits['bits_per_spin'] - exact_16['entropy_bits']:.3f} bits/spin")

# %%
e_gen, e_ref = (-(s * (np.roll(s, 1, 1) + np.roll(s, 1, 2))).sum((1, 2)) / 256
                for s in (generated, reference))
m_gen, m_ref = (np.abs(s.mean((1, 2))) for s in (generated, reference))
c_gen, c_gen_err = ising.correlation_function(generated)
c_ref, c_ref_err = ising.correlation_function(reference)
r = np.arange(len(c_gen))

fig, axes = plt.subplots(1, 4, figsize=(15, 3.3))
bins = np.linspace(-2, -0.8, 31)
axes[0].hist(e_ref, bins, density=True, alpha=0.5, label="Metropolis")
axes[0].hist(e_gen, bins, density=True, histtype="step", lw=2, label="diffusion")
axes[0].axvline(exact_16["energy"], color="k", ls=":", label="exact mean (Kaufman)")
axes[0].set(xlabel="$E/N$", ylabel="density", title="energy")
axes[0].legend(fontsize=8)
bins = np.linspace(0, 1, 26)
axes[1].hist(m_ref, bins, density=True, alpha=0.5, label="Metropolis")
axes[1].hist(m_gen, bins, density=True, histtype="step", lw=2, label="diffusion")
axes[1].set(xlabel="$|m|$", title="magnetisation")
axes[2].errorbar(r, c_ref, 2 * c_ref_err, marker="o", ms=4, capsize=3, label="Metropolis")
axes[2].errorbar(r + 0.1, c_gen, 2 * c_gen_err, marker="s", ms=4, capsize=3, label="diffusion")
axes[2].set(xlabel="distance $r$", ylabel=r"$C(r) = \langle s_i s_{i+r}\rangle$",
            title="spin-spin correlation (2 s.e.)")
axes[2].legend(fontsize=8)
axes[3].imshow(np.concatenate([generated[0], np.zeros((16, 1)), generated[1], np.zeros((16, 1)),
                               reference[0]], 1), cmap="gray", vmin=-1, vmax=1)
axes[3].set_title("two generated | one Metropolis")
axes[3].axis("off")
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## One model for every temperature
#
# The same network, now also told the temperature (through the same kind of per-layer
# embedding as the time step), trained on 1024 Metropolis configurations at each of the 21
# temperatures $T = 1.5, 1.6, \dots, 3.5$ (4000 steps of 256, as at $T_c$): ordered, critical
# and disordered lattices in one model. We then ask it for 400 configurations at each of the
# 21 temperatures and measure them against an independent Metropolis reference (256 other
# chains per temperature), Kaufman's exact energy and specific heat of the $16 \times 16$
# torus, and Onsager's infinite lattice.

# %%
CONDITIONAL_DATA = {"temperatures": [round(1.5 + 0.1 * i, 2) for i in range(21)], "seed": 100,
                    "n_chains": 1024, "sweeps": 1000}
TEMPERATURES = np.array(CONDITIONAL_DATA["temperatures"])
CONDITIONAL = lattice.LatticeDiffusionConfig(T=200, features=32, dilations=(1, 2, 4, 8) * 2,
                                             lr=1e-3, decay_steps=4000, conditional=True)
CONDITIONAL_TRAINING = TrainConfig(steps=4000, batch_size=256, progress=False,
                                   steps_per_call=1000)
(conditional_model, _), conditional_history = fit(
    CONDITIONAL, ising_sets.ising_at(**CONDITIONAL_DATA, with_temperatures=True),
    CONDITIONAL_TRAINING, name="week17_ising/conditional")
references_t = cached_spins(
    PRETRAINED / "metropolis_temperatures.npz", remake=RETRAIN,
    description="Metropolis keys 200+i, 256 chains at T = 1.5, 1.6, ..., 3.5, 1000 sweeps",
    make=lambda: ising.metropolis_at(TEMPERATURES, seed=200, n_chains=256))
references_t = references_t.reshape(len(TEMPERATURES), 256, 16, 16)

PER_TEMPERATURE, SAMPLED = 400, TEMPERATURES
generated_t = cached_spins(
    PRETRAINED / "generated_temperatures.npz", remake=RETRAIN,
    make=lambda: np.concatenate([lattice.generate(conditional_model, jax.random.key(20 + i),
                                                  400, T, chunk=400)
                                 for i, T in enumerate(TEMPERATURES)]),
    description="400 configurations at each of T = 1.5, 1.6, ..., 3.5 from "
                "week17_ising/conditional: lattice.generate(model, key(20 + i), 400, T_i, "
                "chunk=400)")
generated_t = generated_t.reshape(len(SAMPLED), PER_TEMPERATURE, 16, 16)
OBSERVABLES = ("energy", "abs_m", "specific_heat", "susceptibility")


def curves(configs, temps):  # {observable: array (len(temps), 2) of value, error}
    thermo = [ising.thermodynamics(c, T) for c, T in zip(configs, temps)]
    return {k: np.array([t[k] for t in thermo]) for k in OBSERVABLES}


gen_curves, ref_curves = curves(generated_t, SAMPLED), curves(references_t, TEMPERATURES)

# %%
fine = np.linspace(1.5, 3.5, 201)
exact_t = [ising.exact_finite_lattice(16, T) for T in fine]
fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
titles = {"energy": "$E/N$", "abs_m": r"$\langle |m| \rangle$", "specific_heat": "$C/N$",
          "susceptibility": r"$\chi/N$"}
for ax, k in zip(axes, OBSERVABLES):
    ax.errorbar(TEMPERATURES, ref_curves[k][:, 0], 2 * ref_curves[k][:, 1], fmt="o", ms=4,
                capsize=2, color="C0", label="Metropolis 16x16")
    ax.errorbar(SAMPLED + 0.02, gen_curves[k][:, 0], 2 * gen_curves[k][:, 1], fmt="s",
                ms=4, capsize=2, color="C3", label="diffusion, conditioned on T")
    ax.axvline(T_C, color="gray", lw=0.8, ls=":")
    ax.set(xlabel="temperature $T$", title=titles[k])
axes[0].plot(fine, ising.onsager_energy(fine), "k-", lw=1, label="Onsager, infinite")
axes[0].plot(fine, [e["energy"] for e in exact_t], "k--", lw=1, label="Kaufman, 16x16")
axes[1].plot(fine, ising.onsager_magnetization(fine), "k-", lw=1, label="Onsager $m_0$")
axes[2].plot(fine, [e["specific_heat"] for e in exact_t], "k--", lw=1, label="Kaufman, 16x16")
for ax in axes[:3]:
    ax.legend(fontsize=7)
plt.suptitle("One diffusion model for all temperatures (error bars: 2 s.e.)", y=1.02)
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(f"{'':16s} {'largest |generated - Metropolis|':>34s} {'largest |z|':>14s}")
for k in OBSERVABLES:
    ref = ref_curves[k][[int(np.argmin(np.abs(TEMPERATURES - T))) for T in SAMPLED]]
    diff = gen_curves[k][:, 0] - ref[:, 0]
    z = diff / np.hypot(gen_curves[k][:, 1], ref[:, 1])
    i, j = np.argmax(np.abs(diff)), np.argmax(np.abs(z))
    print(f"{k:16s} {diff[i]:+10.3f} at T = {SAMPLED[i]:.1f}{'':13s} {z[j]:+6.1f} at T = "
          f"{SAMPLED[j]:.1f}")

# %% tags=["nbval-check-output"]
energy_miss = np.abs(gen_curves["energy"][:, 0] - ref_curves["energy"][:, 0])
z_all = {k: (gen_curves[k][:, 0] - ref_curves[k][:, 0]) / np.hypot(gen_curves[k][:, 1],
                                                                   ref_curves[k][:, 1])
         for k in OBSERVABLES}
worst = {k: int(np.argmax(np.abs(z_all[k]))) for k in ("energy", "specific_heat")}
n_tests = len(OBSERVABLES) * len(TEMPERATURES)
p_four = 1 - (1 - math.erfc(4 / math.sqrt(2))) ** n_tests  # P(some |z| > 4) from noise alone
Markdown(
    f"Across all {len(TEMPERATURES)} temperatures the one conditional model follows the physics, "
    f"ordered at {TEMPERATURES[0]}, critical near $T_c$, disordered at {TEMPERATURES[-1]}: its "
    f"energy is within {energy_miss.max():.3f} of Metropolis everywhere. Its largest misses sit "
    f"just around $T_c$, where the correlation length reaches the lattice size: $E/N$ "
    f"{gen_curves['energy'][worst['energy'], 0] - ref_curves['energy'][worst['energy'], 0]:+.3f} "
    f"at $T = {TEMPERATURES[worst['energy']]:.1f}$ ($z = {z_all['energy'][worst['energy']]:+.1f}$), "
    f"the specific heat "
    f"{gen_curves['specific_heat'][worst['specific_heat'], 0] - ref_curves['specific_heat'][worst['specific_heat'], 0]:+.2f} "
    f"at {TEMPERATURES[worst['specific_heat']]:.1f} "
    f"($z = {z_all['specific_heat'][worst['specific_heat']]:+.1f}$). Among {n_tests} independent "
    f"comparisons a few $|z|$ near 3 come from noise alone, but some $|z| > 4$ only with "
    f"probability {p_four:.3f}: near $T_c$ this model is measurably off. It spends the same "
    "4000 training steps as the $T_c$ model on 21 temperatures.")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Which scales are right: the correlation function at $T_c$
#
# A generated lattice can have the right energy (nearest neighbours, $r = 1$) and still get the
# long-range order wrong, which is what $\langle |m| \rangle$ and $\chi$ measure. The
# correlation function separates the scales: below, the difference between generated and
# Metropolis $C(r)$ at $T_c$ in units of its standard error, for every distance on the torus.
# Points inside the band are consistent with sampling noise.
#
# The model's numbers at $T_c$ are in the table above; what they say, and what the bits per
# spin cannot say, is in the next cell, computed from that table.

# %% tags=["nbval-check-output"]
z_r = np.r_[0.0, (c_gen - c_ref)[1:] / np.hypot(c_gen_err, c_ref_err)[1:]]  # C(0) = 1 exactly
(e_g, e_ge), (e_r, e_re) = gen_thermo["energy"], ref_thermo["energy"]
(m_g, _), (m_r, _) = gen_thermo["abs_m"], ref_thermo["abs_m"]
(c_g, c_ge), (c_r, c_re) = gen_thermo["specific_heat"], ref_thermo["specific_heat"]
(x_g, x_ge), (x_r, x_re) = gen_thermo["susceptibility"], ref_thermo["susceptibility"]
bits, bits_err = critical_bits["bits_per_spin"], critical_bits["stderr"]
# A model that is Boltzmann in everything but the width of its (nearly Gaussian) energy
# distribution, whose variance is C T^2 / N: KL(p || q) between N(mu, v) and N(mu, v (1 + d))
# is (1/(1 + d) - 1 + ln(1 + d)) / 2 nats per lattice; spread over N spins, in bits.
excess = c_g / exact_16["specific_heat"] - 1
kl_bits = 0.5 * (1 / (1 + excess) - 1 + np.log1p(excess)) / np.log(2) / N
Markdown(
    f"At $T_c$ the model passes every first-moment test: $E/N$ within {abs(e_g - e_r):.3f} "
    f"($z = {(e_g - e_r) / np.hypot(e_ge, e_re):+.1f}$), $\\langle|m|\\rangle$ within "
    f"{abs(m_g - m_r):.3f}, and $C(r)$ within {np.abs(z_r).max():.1f} standard errors at every "
    f"distance (below). The fluctuations are the harder test. The specific heat is "
    f"$C/N = {c_g:.3f} \\pm {c_ge:.3f}$, {c_g - c_r:.2f} above Metropolis "
    f"($z = {(c_g - c_r) / np.hypot(c_ge, c_re):+.1f}$) and "
    f"{(c_g - exact_16['specific_heat']) / c_ge:.1f} standard errors above Kaufman's exact "
    f"{exact_16['specific_heat']:.4f}: the energy distribution is {excess:.0%} too wide in "
    f"variance, which the histogram above cannot show at this resolution; $\\chi$ agrees "
    f"($z = {(x_g - x_r) / np.hypot(x_ge, x_re):+.1f}$).\n\n"
    f"**What the bits per spin can and cannot say.** The held-out negative ELBO, "
    f"{bits:.4f} $\\pm$ {bits_err:.4f} bits/spin (20 repeats of the estimator on 512 "
    f"Metropolis lattices), lies {bits - exact_16['entropy_bits']:.4f} $\\pm$ {bits_err:.4f} "
    f"above the entropy floor {exact_16['entropy_bits']:.4f}: on the floor within its error. "
    f"That does not certify the physics. A model that is exact in everything but a "
    f"{excess:.0%} too wide energy distribution is off by "
    f"$\\mathrm{{KL}} = \\tfrac12[1/(1+\\delta) - 1 + \\ln(1+\\delta)]$ nats per lattice "
    f"($\\delta = {excess:.2f}$, Gaussian energies), that is {kl_bits:.1e} bits per spin: "
    f"{bits_err / kl_bits:.0f} times smaller than the error bar of the bits. The width of the "
    f"energy distribution is one collective coordinate of {N} spins; a per-spin likelihood "
    f"averages it away, and only a test of that coordinate itself, the specific heat, sees it.")

# %% [markdown]
# **What made the difference.** The first version of this model ($T = 50$ steps, 16 channels,
# four layers, 1500 Adam steps of 32 lattices on a CPU) made lattices that were measurably too
# disordered: its energy many standard errors too high, $C(r)$ low at every distance, and its
# bits per spin clearly above the floor. Two things changed: the step count $T = 200$ (each
# reverse step is a product over sites, so spins redrawn in the same step are drawn
# independently; the cell after the model's description counts them for $T = 50$ and
# $T = 200$), and 20 times more training on a GPU (4000 steps of 256 lattices, twice as many
# layers and channels). Exercise 1 measures what fewer steps do to the same network.

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.axhspan(-2, 2, color="0.9", label="|z| < 2")
ax.plot(r[1:], z_r[1:], "o-", color="C3")
ax.axhline(0, color="k", lw=0.8)
ax.set(xlabel="distance $r$", ylabel="$z$ of $C_{gen}(r) - C_{Metropolis}(r)$",
       title="C(r) at $T_c$: which scales are off")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print("r:          " + " ".join(f"{v:6d}" for v in r[1:]))
print("generated:  " + " ".join(f"{v:6.3f}" for v in c_gen[1:]))
print("Metropolis: " + " ".join(f"{v:6.3f}" for v in c_ref[1:]))
print("z:          " + " ".join(f"{v:+6.1f}" for v in z_r[1:]))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Your own check, from the command line
#
# The model is the command line's `lattice` model, whose default network is this notebook's,
# so the same recipe trains from a shell (on a GPU: the 4000 steps of 256 take about 100 s
# there and hours on a laptop CPU; `--steps 300 --batch-size 32` is a quick try). The shipped
# $T_c$ model and the conditional one are also stored as run folders that `sample` reads
# (the conditional one at the `--temperature` you ask for). Samples are spins in
# $\{-1, +1\}$ of shape $(n, L, L)$: measure them with your own code.
#
# ```bash
# python -m course_lib train lattice --data ising --out runs/ising --steps 4000 \
#     --batch-size 256 --decay-steps 4000
# python -m course_lib sample runs/ising --n 1000 --out mine.npy
# python -m course_lib sample data/runs/ising_critical --n 1000 --out shipped.npy
# python -m course_lib sample data/runs/ising_conditional --n 1000 --temperature 2.0 --out t2.npy
# ```
#
# (`--data ising` is the built-in data set: 2048 Metropolis configurations at $T = 2.269$; the
# notebook's model saw 8192 at $T_c$. `--data FILE.npy` takes any array of $\pm 1$ lattices.)

# %%
for run_name, model, training in (("ising_critical", critical_model, CRITICAL_TRAINING),
                                  ("ising_conditional", conditional_model, CONDITIONAL_TRAINING)):
    run = PRETRAINED_DIR.parent / "runs" / run_name  # a command-line run folder
    if RETRAIN or not (run / "checkpoint.npz").is_file():
        write_run_folder(model, run, training, "ising", [model.config.L] * 2)
    print(run_name, sorted(p.name for p in run.iterdir()))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each has a worked solution in the full notebook (the student version, `make student`, leaves
# them out). The solutions use the shipped weights and the stored samples: training a new
# lattice model takes hours on a laptop CPU.
#
# 1. **Fewer steps, same network** (about 40 minutes). The network predicts the clean spins
#    $\pi_\theta(x_0 \mid x_t)$ at any $t$, so a sampler may jump from $t$ straight to any
#    $s < t$ with $p(x_s \mid x_t) = \sum_{x_0} q(x_s \mid x_t, x_0)\,\pi_\theta(x_0 \mid x_t)$.
#    Sample 400 lattices in 50, 20 and 10 jumps. Which observable suffers first: $E/N$,
#    $\langle|m|\rangle$, $C/N$, $\chi/N$ or $C(r)$ at the largest distance? Why?
#    *Compare with* the 200-step samples and Metropolis, as $z$-scores (`ising.thermodynamics`,
#    `ising.correlation_function`). *Hint:* $q(x_s \mid x_0)$ keeps $x_0$ with weight
#    $\bar\alpha_s$ and is a fair coin otherwise; $q(x_t \mid x_s)$ keeps $x_s$ with weight
#    $\bar\alpha_t/\bar\alpha_s$; Bayes' rule is then the model's `posterior_prob` with these
#    two weights. Check that one jump of one step is the model's own reverse step.
# 2. **Is the spin-flip symmetry learned?** (about 15 minutes). $H(s) = H(-s)$, but the network
#    is not built to know it: training flips half of every batch. Is the sign of $m$ of the
#    1000 stored samples a fair coin? How far is the network's output for $-x_t$ from minus its
#    output for $x_t$, measured against the size of that output? *Compare with* the binomial
#    error of a fair coin, $\tfrac12/\sqrt n$. *Hint:* in the $\{0, 1\}$ variables the flip is
#    $x \to 1 - x$, and `critical_model.x0_logit(x_t, t)` is the network's output.
# 3. **Entropy by thermodynamic integration** (about 20 minutes). The bits per spin are bounded
#    below by the entropy. Check the $16 \times 16$ floor without Kaufman's entropy: integrate
#    $C/T$, $S(T_c) = S(\infty) - \int_{T_c}^{\infty} C(T)/T\,dT$ with $S(\infty) = \ln 2$.
#    *Compare with* Kaufman's entropy printed at the top. *Hint:* `np.trapezoid` on a grid
#    dense near $T_c$ (`np.geomspace`), with the exact specific heat
#    `ising.exact_finite_lattice(16, T)["specific_heat"]`; far above $T_c$ the high-temperature
#    series $C/N \approx 2/T^2$ (two bonds per spin) closes the integral.

# %% tags=["solution", "nbval-check-output"]
# Solution 1. From x_t to x_s, s < t: q(x_s = 1 | x_0) = abar_s x_0 + (1 - abar_s)/2 and q(x_t | x_s)
# keeps x_s with weight abar_t / abar_s (else a fair coin); Bayes' rule gives q(x_s | x_t, x_0).
x0_logit = jax.jit(critical_model.x0_logit)


def jump_posterior(x_t, x0, t, s, T):
    """q(x_s = 1 | x_t, x_0) for s < t, elementwise."""
    abar_s, kept = 1 - s / T, (1 - t / T) / (1 - s / T)
    like1 = jnp.where(x_t == 1, kept + (1 - kept) / 2, (1 - kept) / 2)  # q(x_t | x_s = 1)
    prior = abar_s * x0 + (1 - abar_s) / 2  # q(x_s = 1 | x_0)
    return prior * like1 / (prior * like1 + (1 - prior) * (1 - like1))


def sample_in_jumps(model, key, n, jumps):
    """n lattices in `jumps` reverse steps of the same network, t = T, ..., 0 evenly spaced."""
    T, L = model.config.T, model.config.L
    times = np.linspace(T, 0, jumps + 1).round().astype(int)
    x = jax.random.bernoulli(jax.random.fold_in(key, 0), 0.5, (n, L, L)).astype(jnp.float32)
    for i, (t, s) in enumerate(zip(times[:-1], times[1:]), start=1):
        pi = jax.nn.sigmoid(x0_logit(x, jnp.full((n,), float(t))))  # pi(x_0 = 1 | x_t)
        p = pi if s == 0 else (pi * jump_posterior(x, 1.0, t, s, T)
                               + (1 - pi) * jump_posterior(x, 0.0, t, s, T))
        x = jax.random.bernoulli(jax.random.fold_in(key, i), p).astype(jnp.float32)
    return np.asarray(2 * x - 1)


x_t = (jnp.asarray(reference[:4]) + 1) / 2  # a jump of one step is the model's reverse step
print("one jump of one step = the model's step:", bool(jnp.allclose(
    jump_posterior(x_t, 1.0, 120, 119, 200),
    critical_model.posterior_prob(x_t, jnp.ones_like(x_t), jnp.full(4, 120.0)), atol=1e-6)))
names = ("energy", "abs_m", "specific_heat", "susceptibility")
print(f"{'steps':>5s} " + " ".join(f"{k:>20s}" for k in names) + f" {'C(8)':>14s}  (z: Metropolis)")
for jumps in (200, 50, 20, 10):
    s = generated if jumps == 200 else sample_in_jumps(critical_model, jax.random.key(30 + jumps),
                                                       400, jumps)
    th, (c, c_err) = ising.thermodynamics(s, T_C), ising.correlation_function(s)
    z = [(th[k][0] - ref_thermo[k][0]) / np.hypot(th[k][1], ref_thermo[k][1]) for k in names]
    z8 = (c[8] - c_ref[8]) / np.hypot(c_err[8], c_ref_err[8])
    print(f"{jumps:5d} " + " ".join(f"{th[k][0]:12.3f} ({zk:+5.1f})" for k, zk in zip(names, z))
          + f" {c[8]:6.3f} ({z8:+5.1f})")

# %% [markdown] tags=["solution"]
# **Answer.** Fifty jumps are as good as 200 within the errors. With 20 only the *energy* is
# clearly off; with 10 every observable is, the energy most of all.
# The long-range order is decided early, at large $t$, where many spins are still noise and the
# network's guess $\pi_\theta(x_0 \mid x_t)$ carries the lattice's magnetisation whatever the
# step size. The *bonds* are decided late, when the last spins are fixed: in a big jump
# neighbouring spins are drawn at once and independently, each from its own marginal, so pairs
# that should agree disagree more often than they should. That is the energy, a sum over
# nearest-neighbour bonds, and its fluctuations.

# %% tags=["solution", "nbval-check-output"]
# Solution 2. The sign of m over the stored samples, and the network's flip symmetry on noisy
# Metropolis lattices: |f(1 - x_t) + f(x_t)| against |f(x_t)| (zero if f were exactly odd).
m = generated.mean((1, 2))
print(f"m > 0 in {np.mean(m > 0):.3f} of {len(m)} generated lattices "
      f"(a symmetric model: 0.5 +- {0.5 / np.sqrt(len(m)):.3f})")
x_clean = (jnp.asarray(reference[:256]) + 1) / 2
for t in (20, 100, 180):
    tt = jnp.full(256, float(t))
    x_t = jax.random.bernoulli(jax.random.key(t), critical_model.q_prob(x_clean, tt))
    x_t = x_t.astype(jnp.float32)
    f, f_flipped = x0_logit(x_t, tt), x0_logit(1 - x_t, tt)
    print(f"t = {t:3d}: mean |f(x) + f(flipped x)| = {float(jnp.abs(f + f_flipped).mean()):.3f}, "
          f"mean |f(x)| = {float(jnp.abs(f).mean()):.3f}")

# %% [markdown] tags=["solution"]
# **Answer.** The sign of $m$ is a fair coin within its binomial error, so the samples respect
# the symmetry as far as 1000 of them can tell. The network itself is only approximately odd:
# flipping the input changes its output by a few per cent to a tenth of that output's size, the
# error left by learning the symmetry from flipped batches instead of building it in (an odd
# network, $f(x) = g(x) - g(-x)$, would make it exact at twice the cost per call). The training
# set is itself symmetric in distribution (its chains start from random spins), so without the
# flips the model would still see both signs, only not exactly equally often.

# %% tags=["solution", "nbval-check-output"]
# Solution 3 (on the exact 16 x 16 specific heat; with Metropolis points the integral carries
# their error bars): S(T_c) = ln 2 - integral of C/T from T_c to infinity; above T = 50 the
# high-temperature expansion C/N ~ 2/T^2 closes the integral.
hot = np.geomspace(T_C, 50, 600)  # dense near T_c, where C/T changes fastest
heat = np.array([ising.exact_finite_lattice(16, T)["specific_heat"] for T in hot])
entropy = np.log(2) - np.trapezoid(heat / hot, hot) - 2 / (2 * 50**2)
print(f"S/N at T_c by integration: {entropy / np.log(2):.4f} bits "
      f"(Kaufman: {exact_16['entropy_bits']:.4f})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quoted numbers and their sources
#
# Every other number in the text is printed by the code beside it. These are constants, or
# settings of the experiments:
#
# | number | what it is | source |
# | --- | --- | --- |
# | 2.269 | Onsager's critical temperature $T_c = 2/\ln(1 + \sqrt 2)$ | `2 / log(1 + sqrt(2))` |
# | 0.3065 | entropy per spin at $T_c$, infinite lattice (Onsager 1944), nats | `log(2) / 2 + 2 * 0.915965594177219 / pi - sqrt(2) * log(1 + sqrt(2)) / 2` |
# | 0.442 | the same in bits | `(log(2) / 2 + 2 * 0.915965594177219 / pi - sqrt(2) * log(1 + sqrt(2)) / 2) / log(2)` |
# | 10^{-3} | Adam's learning rate | setting: `LatticeDiffusionConfig.lr` |
# | 1.5 | lowest temperature of the conditional model | setting: `CONDITIONAL_DATA` |
# | 1.6 | its second temperature (steps of 0.1) | setting: `CONDITIONAL_DATA` |
# | 3.5 | its highest temperature | setting: `CONDITIONAL_DATA` |
