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
# # Week 17: training diffusion models, and measuring them in bits
#
# Last week ended with the ELBO of a variational diffusion model written as denoising
# matching terms. This week we turn it into training objectives, train DDPM and VDM models on
# two-dimensional data, digits and Ising configurations, and report what the papers report:
# the negative ELBO on *held-out* data, in bits. We also reproduce the two likelihood results
# of Sohl-Dickstein et al. (2015), the paper the lecture's diffusion half is built on.
#
# Training every model here takes a few minutes on a laptop CPU, so the notebook loads the
# trained weights from `data/pretrained/week17_diffusion/` (checked against their sha256). To
# train them yourself, start Jupyter with `COURSE_RETRAIN=1` in the environment, or run
# `COURSE_RETRAIN=1 make notebook NB=notebooks/week17_diffusion.py`: JAX on a CPU is
# bit-reproducible, so you get the same numbers.

# %%
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx
from IPython.display import HTML
from matplotlib import animation

from course_lib import data, ising
from course_lib import diffusion as dm
from course_lib.pretrained import RETRAIN, train_or_load
from course_lib.train import TrainConfig, train

notebook_start = time.perf_counter()
print("devices:", jax.devices())
print("models:", "trained from scratch (COURSE_RETRAIN=1)" if RETRAIN else
      "pre-trained weights from data/pretrained/week17_diffusion/")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The closed forms we train with
#
# From week 16: $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\epsilon$ (Eq. 69),
# and the posterior $q(x_{t-1}\mid x_t, x_0) = \mathcal N(\tilde\mu_t, \tilde\sigma_t^2 I)$ with
#
# $$\tilde\mu_t = \frac{\sqrt{\alpha_t}(1 - \bar\alpha_{t-1})\, x_t + \sqrt{\bar\alpha_{t-1}}(1 - \alpha_t)\, x_0}{1 - \bar\alpha_t},
# \qquad \tilde\sigma_t^2 = \frac{(1 - \alpha_t)(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}
# \qquad \text{(Eq. 84)}.$$
#
# Choose the model's reverse step with the same variance and the same form of mean, with the
# unknown $x_0$ replaced by a network's guess $\hat x_\theta(x_t, t)$. The KL between two
# Gaussians of equal variance is the squared distance of the means over $2\tilde\sigma_t^2$,
# and the means differ only through $x_0 - \hat x_\theta$, so each denoising term becomes
#
# $$\mathrm{KL}\big(q(x_{t-1}\mid x_t, x_0)\,\|\,p_\theta(x_{t-1}\mid x_t)\big)
#   = \tfrac12\big(\mathrm{SNR}(t-1) - \mathrm{SNR}(t)\big)\, \|x_0 - \hat x_\theta(x_t, t)\|^2,
# \qquad \mathrm{SNR}(t) = \frac{\bar\alpha_t}{1 - \bar\alpha_t} \quad \text{(Eqs. 108-110)}.$$
#
# `DDPM.loss_terms` returns this ELBO by name: `reconstruction` $-\log p_\theta(x_0\mid x_1)$,
# `prior` $\mathrm{KL}(q(x_T\mid x_0)\,\|\,\mathcal N(0, I))$ and `diffusion`, the sum over
# $t = 2..T$ estimated as $(T-1)$ times the term at one uniformly drawn $t$.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Three equivalent objectives
#
# The network can predict $x_0$ directly; or the noise $\epsilon$, since Eq. 69 gives
# $x_0 = (x_t - \sqrt{1 - \bar\alpha_t}\,\epsilon)/\sqrt{\bar\alpha_t}$ (Eq. 130); or the score
# $\nabla \log p(x_t)$, since Tweedie's formula gives
# $\sqrt{\bar\alpha_t}\,x_0 = x_t + (1 - \bar\alpha_t)\nabla\log p(x_t)$ (Eq. 133), with the
# score of $q(x_t\mid x_0)$ equal to $-\epsilon/\sqrt{1 - \bar\alpha_t}$ (Eq. 151). All three
# give the same ELBO once converted to $\hat x_\theta$; they differ in how the network's errors
# are weighted during training. We train each on the two moons with the ELBO itself as the
# loss, and score them on held-out points.

# %%
moons = data.get("moons")
held_out = moons.sample(jax.random.key(123), 2000)


def load_or_train(name, model, train_step, tx, dataset, train_config, config):
    """Load week17_diffusion/<name> from data/pretrained, or train it with COURSE_RETRAIN=1."""

    def fit():
        optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
        return train(train_step, (model, optimizer), dataset.sample, train_config)

    return train_or_load(f"week17_diffusion/{name}", (model,), fit,
                         config={"model": config, "train": train_config, "data": dataset.name})


def train_ddpm(name, config, dataset, steps, batch_size=256, seed=0):
    model = dm.DDPM(config, rngs=nnx.Rngs(seed))
    train_config = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, progress=False)
    history = load_or_train(name, model, dm.ddpm_train_step, optax.adam(config.lr), dataset,
                            train_config, config)
    return model, history


parameterization_bits = {}
for p in ("noise", "x0", "score"):
    cfg = dm.DDPMConfig(data_dim=2, T=100, beta_1=1e-3, beta_T=0.2, parameterization=p,
                        loss="elbo", hidden=(128, 128, 128))
    model, _ = train_ddpm(f"moons_{p}", cfg, moons, steps=4000)
    parameterization_bits[p] = dm.evaluate_model_bits(model, held_out, jax.random.key(1),
                                                       repeats=20)

# %%
# NBVAL_CHECK_OUTPUT
for p, r in parameterization_bits.items():
    print(f"{p:6s} prediction: {r['bits_per_example']:.2f} +- {20 * r['stderr_bits_per_dim'] / 10:.2f}"
          f" bits per example (held-out negative ELBO)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Sohl-Dickstein et al. (2015): the swiss roll with T = 40
#
# The paper's 2D example: the swiss roll scaled to unit variance, a Gaussian diffusion of
# only $T = 40$ steps, and a bound $K$ on the held-out log-likelihood of 2.35 bits, 6.45 bits
# above the best isotropic Gaussian. The paper does not publish how thick its roll was, and
# that decides how high a log-likelihood is possible at all. Our roll's density is known, so
# we can compute the ceiling exactly: $\mathbb{E}[\log p(x)]$, the negative entropy of the
# data (`data.swiss_roll_log_prob` averages the noise kernel along the curve).
#
# With so few steps each reverse step has to undo a lot of noise, and a Gaussian with the
# *posterior's* variance $\tilde\sigma_t^2$ is then too confident. Sohl-Dickstein et al.
# learned the variance of each reverse step along with its mean; so do we
# (`learn_variance=True`: the network also outputs $v$, and
# $\log\sigma_t^2 = v\log\beta_t + (1 - v)\log\tilde\sigma_t^2$). The KL terms then
# compare Gaussians of different variances, and we train on the ELBO itself.

# %%
roll = data.get("swiss_roll")
roll_test = roll.sample(jax.random.key(7), 5000)
roll_config = dm.DDPMConfig(data_dim=2, T=40, beta_1=1e-3, beta_T=0.3, loss="elbo",
                            hidden=(256, 256, 256), learn_variance=True)
roll_model, roll_history = train_ddpm("roll_ddpm", roll_config, roll, steps=8000)
roll_bits = dm.evaluate_model_bits(roll_model, roll_test, jax.random.key(2), repeats=20)

x_np = np.asarray(roll.sample(jax.random.key(8), 50_000), np.float64)
mu, cov = x_np.mean(0), np.cov(x_np.T)
d = np.asarray(roll_test, np.float64) - mu
gauss_bits = float(np.mean(-0.5 * (np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
                                    + np.linalg.slogdet(2 * np.pi * cov)[1]))) / np.log(2)
true_bits = float(data.swiss_roll_log_prob(roll_test).mean()) / np.log(2)

# %%
# NBVAL_CHECK_OUTPUT
K = -roll_bits["bits_per_example"]
print(f"prior term KL(q(x_T|x_0) || N(0, I)): {float(roll_history['prior'][-500:].mean()):.4f} nats")
print(f"bound K on held-out log-likelihood: {K:.2f} +- {2 * roll_bits['stderr_bits_per_dim']:.2f} bits"
      " (paper, on its own roll: 2.35)")
print(f"exact E log p(x) of our roll: {true_bits:.2f} bits; K is {true_bits - K:.2f} bits below it")
print(f"best Gaussian: {gauss_bits:.2f} bits; K is {K - gauss_bits:.2f} bits above it (paper: 6.45)")

# %% [markdown]
# Sampling runs the learned reverse chain from noise, $x_T \sim \mathcal N(0, I)$, through
# $p_\theta(x_{t-1}\mid x_t)$ for $t = T, \dots, 1$, all 40 steps inside one `lax.scan`:

# %%
x0, chain = roll_model.sample(jax.random.key(3), 2000, return_chain=True)
chain = np.asarray(chain)
fig, ax = plt.subplots(figsize=(3.6, 3.6), dpi=60)
scatter = ax.scatter(chain[0, :, 0], chain[0, :, 1], s=2, alpha=0.5)
ax.set_xlim(-3, 3)
ax.set_ylim(-3, 3)
ax.set_aspect("equal")
title = ax.set_title("")


def frame(i):
    scatter.set_offsets(chain[i])
    title.set_text(f"t = {roll_config.T - i}")
    return scatter, title


reverse_chain = animation.FuncAnimation(fig, frame, frames=range(0, roll_config.T + 1, 2),
                                        interval=150)
html = reverse_chain.to_jshtml(default_mode="once")
plt.close(fig)
HTML(html)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Continuous time: the variational diffusion model (VDM)
#
# Kingma et al. (2021) let $T \to \infty$. Parameterise the schedule by
# $\gamma(t) = -\log \mathrm{SNR}(t)$ on $t \in [0, 1]$, so that $\sigma_t^2 = \mathrm{sigmoid}(\gamma(t))$
# and $\alpha_t^2 = \mathrm{sigmoid}(-\gamma(t))$. The diffusion part of the negative ELBO
# becomes
#
# $$\mathcal L_\infty = \tfrac12\, \mathbb{E}_{t\sim U[0,1],\,\epsilon}\big[\gamma'(t)\, \|\epsilon - \hat\epsilon_\theta(z_t, t)\|^2\big],$$
#
# which depends on the schedule only through its end points $\gamma(0), \gamma(1)$; in between,
# learning $\gamma$ (a monotone network, `LearnedGamma`) only changes the *variance* of the
# estimator, and VDM learns it to minimise that variance. The times of a batch are drawn
# *antithetically* (evenly spaced, one random offset), another variance reduction.

# %%
def train_vdm(name, config, dataset, steps, batch_size=256, seed=0):
    model = dm.VDM(config, rngs=nnx.Rngs(seed))
    train_config = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, progress=False)
    history = load_or_train(name, model, dm.vdm_train_step, optax.adamw(config.lr), dataset,
                            train_config, config)
    return model, history


vdm_roll, _ = train_vdm("roll_vdm", dm.VDMConfig(data_dim=2, hidden=(256, 256, 256), lr=3e-3),
                        roll, steps=8000)
vdm_roll_bits = dm.evaluate_model_bits(vdm_roll, roll_test, jax.random.key(4), repeats=20)

# %%
# NBVAL_CHECK_OUTPUT
print(f"VDM on the swiss roll: K = {-vdm_roll_bits['bits_per_example']:.2f} bits "
      f"(DDPM with T = 40: {K:.2f}; exact E log p(x): {true_bits:.2f})")
g = jax.vmap(vdm_roll.gamma)(jnp.array([0.0, 0.5, 1.0]))
print(f"learned schedule gamma(0), gamma(0.5), gamma(1): {float(g[0]):.2f}, {float(g[1]):.2f}, "
      f"{float(g[2]):.2f} (initial: -13.30, -4.15, 5.00)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Binary data: the heartbeat and binomial diffusion
#
# For binary sequences Sohl-Dickstein et al. replace the Gaussian steps with binomial ones:
# each bit keeps its value with probability $1 - \beta_t$ and is otherwise redrawn from
# Bernoulli(0.2). With $\beta_t = 1/(T - t + 1)$ and $T = 2000$, the probability of keeping the
# original bit until step $t$ is $\prod_{s \le t}(1 - \beta_s) = 1 - t/T$, so at $t = T$ the
# data are forgotten exactly and the prior term of the ELBO is zero. Each reverse step predicts,
# per bit, the probability that the clean bit is 1, and reuses the exact binomial posterior.
#
# The data have exactly 5 equally likely sequences, so the true log-likelihood is
# $\log_2 (1/5) = -2.322$ bits per sequence; the paper's bound was $-2.414$.

# %%
heartbeat = data.get("heartbeat")


def train_binomial(name, config, dataset, steps, batch_size):
    model = dm.BinomialDiffusion(config, rngs=nnx.Rngs(0))
    load_or_train(name, model, dm.binomial_train_step, optax.adam(1e-3), dataset,
                  TrainConfig(steps=steps, batch_size=batch_size, progress=False), config)
    return model


binomial = train_binomial("heartbeat_binomial", dm.BinomialConfig(T=2000), heartbeat,
                          steps=12_000, batch_size=256)
sequences = np.unique(np.asarray(heartbeat.sample(jax.random.key(0), 1000)), axis=0)
heartbeat_bits = dm.evaluate_model_bits(binomial, np.repeat(sequences, 4000, axis=0),
                                        jax.random.key(5), repeats=5)

# %%
# NBVAL_CHECK_OUTPUT
bound = -heartbeat_bits["bits_per_example"]
err = heartbeat_bits["stderr_bits_per_dim"] * 20
samples = np.asarray(binomial.sample(jax.random.key(6), 1000))
valid = np.isin(samples.dot(2 ** np.arange(20)), sequences.dot(2 ** np.arange(20))).mean()
print(f"bound on log-likelihood: {bound:.3f} +- {err:.3f} bits per sequence")
print(f"paper: -2.414, true: -2.322; our gap to the truth: {-2.322 - bound:.3f} bits")
print(f"fraction of 1000 samples that are one of the 5 heartbeats: {valid:.3f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Digits, in bits per dimension
#
# Image likelihoods are reported in bits per dimension, the negative ELBO divided by the
# number of pixels and by $\ln 2$. The digits take 17 grey levels, so the decoder
# $p(x_0\mid x_1)$ must be a distribution over those levels: DDPM integrates its Gaussian over
# each level's bin, VDM normalises over the levels. Coding each pixel uniformly would cost
# $\log_2 17 = 4.09$ bits.

# %%
digits_train, digits_test = data.digits("train"), data.digits("test")
ddpm_digits, _ = train_ddpm("digits_ddpm",
                            dm.DDPMConfig(data_dim=64, T=1000, levels=17, loss="hybrid",
                                          learn_variance=True, hidden=(512, 512, 512)),
                            digits_train, steps=6000, batch_size=128)
vdm_digits, _ = train_vdm("digits_vdm",
                          dm.VDMConfig(data_dim=64, levels=17, hidden=(512, 512, 512), lr=1e-3),
                          digits_train, steps=6000, batch_size=128)
digit_bits = {name: dm.evaluate_model_bits(model, digits_test.data, jax.random.key(9),
                                           repeats=20)
              for name, model in [("DDPM (T = 1000, hybrid loss)", ddpm_digits),
                                  ("VDM (continuous time, learned schedule)", vdm_digits)]}

# %%
# NBVAL_CHECK_OUTPUT
print("held-out digits (300), negative ELBO:")
for name, r in digit_bits.items():
    print(f"  {name:42s} {r['bits_per_dim']:.3f} +- {r['stderr_bits_per_dim']:.3f} bits/dim")
print(f"  {'uniform over 17 levels':42s} {np.log2(17):.3f} bits/dim")

# %% [markdown]
# DDPM's bound is worse than coding every pixel uniformly, although its samples look fine.
# Its first step adds noise of standard deviation $\sqrt{\beta_1} = 0.01$, far below the
# spacing 0.125 of the 17 grey levels, and the terms of the smallest $t$ then ask the network
# for an exact $x_0$: every residual error is multiplied by an SNR drop of order $10^4$. This
# also makes the estimator noisy (the large $\pm$). VDM *learns* where its schedule starts
# ($\gamma(0)$) and so avoids paying for precision the data do not have.

# %%
fig, axes = plt.subplots(2, 10, figsize=(10, 2.3))
for row, model in enumerate([ddpm_digits, vdm_digits]):
    x = np.asarray(model.sample(jax.random.key(10), 10)).reshape(10, 8, 8)
    for j in range(10):
        axes[row, j].imshow(x[j], cmap="gray_r", vmin=-1, vmax=1)
        axes[row, j].axis("off")
axes[0, 0].set_title("DDPM", loc="left")
axes[1, 0].set_title("VDM", loc="left")
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Physics: Ising configurations at the critical temperature
#
# A generated Ising configuration should not only look right; its energy and magnetisation
# should follow the Boltzmann distribution. Spins are binary, so the natural diffusion is the
# binomial one from the heartbeat, now on 256 bits with $p_T = 1/2$: each spin is forgotten
# towards a fair coin. (A Gaussian diffusion with an MLP on the same data produced samples
# with far too little order; a periodic convolutional denoiser, `VDMConfig(image_shape=...)`,
# is the better Gaussian choice but takes minutes on a CPU.) We train on 2048 Metropolis
# configurations of the 16x16 model at $T_c$, draw 1024 samples, and compare the histograms of
# $E/N$ and $|m|$ with fresh Metropolis samples.

# %%
ising_config = dm.BinomialConfig(data_dim=256, T=500, p_T=0.5, hidden=(512, 512))
ising_model = dm.BinomialDiffusion(ising_config, rngs=nnx.Rngs(0))
ising_train_config = TrainConfig(steps=6000, batch_size=128, progress=False)


def train_ising():  # what COURSE_RETRAIN=1 runs; the training set is only needed here
    ising_train = data.ising(L=16, T=2.269, n=2048, sweeps=1000, seed=0)

    def to_bits(key, n):
        return (ising_train.sample(key, n).reshape(n, 256) + 1) / 2

    optimizer = nnx.Optimizer(ising_model, optax.adam(1e-3), wrt=nnx.Param)
    return train(dm.binomial_train_step, (ising_model, optimizer), to_bits, ising_train_config)


train_or_load("week17_diffusion/ising_binomial", (ising_model,), train_ising,
              config={"model": ising_config, "train": ising_train_config,
                      "data": "ising L=16 T=2.269 n=2048 sweeps=1000 seed=0"})
ising_ref = data.ising(L=16, T=2.269, n=2048, sweeps=1000, seed=1)
generated = 2 * np.asarray(ising_model.sample(jax.random.key(11), 1024)).reshape(-1, 16, 16) - 1
ising_bits = dm.evaluate_model_bits(ising_model, (ising_ref.data.reshape(-1, 256) + 1) / 2,
                                    jax.random.key(12), repeats=3)

# %%
# NBVAL_CHECK_OUTPUT
e_gen, e_ref = np.asarray(ising.energy_per_site(generated)), np.asarray(ising.energy_per_site(ising_ref.data))
m_gen = np.abs(np.asarray(ising.magnetization_per_site(generated)))
m_ref = np.abs(np.asarray(ising.magnetization_per_site(ising_ref.data)))


def se(v):
    return v.std(ddof=1) / np.sqrt(len(v))


print(f"E/N:  generated {e_gen.mean():.3f} +- {se(e_gen):.3f}, Metropolis {e_ref.mean():.3f} +- {se(e_ref):.3f}")
print(f"|m|:  generated {m_gen.mean():.3f} +- {se(m_gen):.3f}, Metropolis {m_ref.mean():.3f} +- {se(m_ref):.3f}")
print(f"held-out negative ELBO: {ising_bits['bits_per_dim']:.3f} bits per spin "
      f"(a fair coin per spin: 1 bit)")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
bins = np.linspace(-2, 0, 41)
axes[0].hist(e_ref, bins, alpha=0.5, density=True, label="Metropolis")
axes[0].hist(e_gen, bins, alpha=0.5, density=True, label="binomial diffusion")
axes[0].set_xlabel("$E/N$")
axes[0].legend()
axes[1].hist(m_ref, np.linspace(0, 1, 41), alpha=0.5, density=True, label="Metropolis")
axes[1].hist(m_gen, np.linspace(0, 1, 41), alpha=0.5, density=True, label="binomial diffusion")
axes[1].set_xlabel("$|m|$")
axes[2].imshow(np.concatenate([generated[0], np.zeros((16, 1)), generated[1]], 1),
               cmap="gray", vmin=-1, vmax=1)
axes[2].set_title("two generated configurations")
axes[2].axis("off")
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The table
#
# Every number is a held-out negative ELBO (an upper bound on the negative log-likelihood)
# from this notebook's runs.

# %%
# NBVAL_CHECK_OUTPUT
rows = [("swiss roll, exact entropy", -true_bits, "bits/example", "(the floor for this roll)"),
        ("swiss roll, DDPM T = 40", -K, "bits/example", "-2.35 (Sohl-Dickstein, own roll)"),
        ("swiss roll, VDM", vdm_roll_bits["bits_per_example"], "bits/example", ""),
        ("heartbeat, binomial T = 2000", -bound, "bits/sequence", "2.414 (paper), 2.322 true"),
        *[(f"digits, {name.split(' (')[0]}", r["bits_per_dim"], "bits/dim", "")
          for name, r in digit_bits.items()],
        ("Ising 16x16 at T_c, binomial", ising_bits["bits_per_dim"], "bits/spin", "1 (fair coin)")]
for name, value, unit, ref in rows:
    print(f"{name:30s} {value:7.3f} {unit:14s} {ref}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# 1. **Fixed variances.** Train the swiss-roll DDPM with `learn_variance=False` (the reverse
#    steps take the posterior's variance). How much worse is the bound with $T = 40$?
# 2. **Fewer steps.** Train the heartbeat model with $T = 200$. How does the bound change?
# 3. **Temperature.** Train the Ising model at $T = 3.0$ and compare $\langle |m| \rangle$.

# %% tags=["solution"]
# Solution 1: with big steps the true reverse kernel is much wider than the posterior's
# variance; a too-narrow Gaussian pays heavily in every KL term.
fixed_config = dm.DDPMConfig(**{**roll_config.__dict__, "learn_variance": False})
fixed_model, _ = train_ddpm("roll_ddpm_fixed_variance", fixed_config, roll, steps=8000)
r = dm.evaluate_model_bits(fixed_model, roll_test, jax.random.key(2), repeats=20)
print(f"fixed variances: K = {-r['bits_per_example']:.2f} bits (learned: {K:.2f})")

# %% tags=["solution"]
# Solution 2
short = train_binomial("heartbeat_binomial_T200", dm.BinomialConfig(T=200), heartbeat,
                       steps=12_000, batch_size=256)
r = dm.evaluate_model_bits(short, np.repeat(sequences, 4000, axis=0), jax.random.key(5), repeats=5)
print(f"T = 200: bound {-r['bits_per_example']:.3f} bits per sequence (T = 2000: {bound:.3f})")

# %% tags=["solution"]
# Solution 3 (the Metropolis reference only; training works as above)
hot = data.ising(L=16, T=3.0, n=512, sweeps=500)
print(f"<|m|> at T = 3.0: {np.abs(hot.data.mean((1, 2))).mean():.3f} "
      f"(at T_c: {m_ref.mean():.3f})")

# %%
print(f"this notebook ran in {time.perf_counter() - notebook_start:.0f} s")
