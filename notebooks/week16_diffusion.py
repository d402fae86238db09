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
# # Week 16, part 2: diffusion models as stacked VAEs, checked exactly
#
# The second half of the lecture builds diffusion models from hierarchical variational
# autoencoders, following Luo (2022, arXiv 2208.11970; equation numbers below are his). We
# derive each step and check it with a model small enough that every quantity is exact: a
# chain of one-dimensional linear-Gaussian layers, where $\log p(x)$, the ELBO and the true
# posterior are all available in closed form. Then we look at what the three restrictions of
# a *variational diffusion model* do to real data: digits and Ising configurations.

# %%
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from course_lib import data
from course_lib import diffusion as dm
from course_lib.theory.hvae import LinearGaussianHVAE

notebook_start = time.perf_counter()
print("devices:", jax.devices())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Tractability against flexibility
#
# A *tractable* model such as a Gaussian can be fitted and evaluated exactly, but it cannot
# describe structured data. A *flexible* model $p(x) = \phi(x)/Z$ with any non-negative
# $\phi$ can take any shape, but its normaliser $Z = \int \phi(x)\,dx$ is an integral over the
# whole data space, hopeless in high dimension. Diffusion models get both: each step of a long
# Markov chain is a small, tractable Gaussian (or binomial) perturbation, and the chain as a
# whole can turn noise into any smooth distribution.
#
# How far is "tractable" from the data? The best Gaussian for the swiss roll, scored on
# held-out samples, in bits per example (the lecture's central paper, Sohl-Dickstein et al.
# 2015, scores its diffusion model 6.45 bits better than this on the roll):

# %%
# NBVAL_CHECK_OUTPUT
roll = data.get("swiss_roll")
train_x = np.asarray(roll.sample(jax.random.key(0), 50_000), np.float64)
test_x = np.asarray(roll.sample(jax.random.key(1), 50_000), np.float64)
mu, cov = train_x.mean(0), np.cov(train_x.T)
diff = test_x - mu
log_lik = -0.5 * (np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
                  + np.linalg.slogdet(2 * np.pi * cov)[1])
print(f"best Gaussian on the swiss roll: {log_lik.mean() / np.log(2):.3f} bits per example "
      f"(unit-variance 2D Gaussian entropy: {-np.log2(2 * np.pi * np.e):.3f})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The Markov chain idea
#
# Sohl-Dickstein et al. start from the data and apply a fixed *diffusion*: many small steps
# that each blur the distribution a little, until nothing of the data is left but noise.
# Learning means estimating the reverse of each small step. Here is the forward chain on the
# swiss roll, with the Gaussian steps introduced below.

# %%
betas = dm.linear_betas(40, 1e-4, 0.3)  # T = 40 steps, as in Sohl-Dickstein et al.
x = jnp.asarray(train_x[:2000], jnp.float32)
fig, axes = plt.subplots(1, 5, figsize=(14, 2.9))
shown = {0, 5, 10, 20, 40}
for t in range(41):
    if t in shown:
        ax = axes[sorted(shown).index(t)]
        ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4)
        ax.set_title(f"t = {t}")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
    if t < 40:
        x = dm.q_step(x, 1 - betas[t], jax.random.normal(jax.random.key(t), x.shape))
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Chains of VAEs: the Markovian hierarchical VAE
#
# A VAE has one latent layer $h$. A *hierarchical* VAE stacks $T$ of them, and a *Markovian*
# one lets each layer talk only to its neighbours. Generation runs down the chain, inference up:
#
# $$p(x, h_{1:T}) = p(h_T)\, p_\theta(x \mid h_1) \prod_{t=2}^{T} p_\theta(h_{t-1} \mid h_t),
# \qquad
# q_\phi(h_{1:T} \mid x) = q_\phi(h_1 \mid x) \prod_{t=2}^{T} q_\phi(h_t \mid h_{t-1})
# \qquad \text{(Eqs. 23, 24)}.$$
#
# (In the lecture's slide "Equation for the Markovian hierarchical VAE" the decoder factors
# appear as $p_\theta(h_t \mid h_{t-1})$; they are $p_\theta(h_{t-1} \mid h_t)$, as here.)
#
# **The ELBO.** For any $q$, multiply and divide by it inside the marginal and use Jensen's
# inequality ($\log$ is concave, so $\log \mathbb{E}[Y] \ge \mathbb{E}[\log Y]$):
#
# $$\log p(x) = \log \int q_\phi(h_{1:T}\mid x)\, \frac{p(x, h_{1:T})}{q_\phi(h_{1:T}\mid x)}\, dh_{1:T}
#   \;\ge\; \mathbb{E}_{q_\phi(h_{1:T}\mid x)}\left[\log \frac{p(x, h_{1:T})}{q_\phi(h_{1:T}\mid x)}\right]
#   = \mathrm{ELBO}(x).$$
#
# How much is lost? Write $p(x, h) = p(x)\, p(h \mid x)$ inside the expectation:
#
# $$\mathrm{ELBO}(x) = \log p(x) - \mathrm{KL}\big(q_\phi(h_{1:T}\mid x) \,\|\, p(h_{1:T}\mid x)\big),$$
#
# so the gap is exactly the KL divergence from the encoder to the true posterior, and it
# vanishes only when the encoder *is* the posterior.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Checking the ELBO exactly
#
# Take the chain one-dimensional and linear-Gaussian, with the encoder a diffusion model will
# use, $q(h_t \mid h_{t-1}) = \mathcal N(\sqrt{a_t}\, h_{t-1}, 1 - a_t)$, and a decoder
# $p(h_{t-1} \mid h_t) = \mathcal N(c_t h_t, s_t^2)$, $p(h_T) = \mathcal N(0, 1)$. Every
# joint is Gaussian, so `course_lib.hvae` computes $\log p(x)$, the ELBO and
# $\mathrm{KL}(q\,\|\,p(h\mid x))$ in closed form, and the ELBO also by Monte Carlo. We use
# $T = 8$ layers and a decoder that does *not* quite match the encoder.

# %%
# NBVAL_CHECK_OUTPUT
a = np.linspace(0.95, 0.6, 8)
hvae = LinearGaussianHVAE(a, c=np.sqrt(a) * 0.9, s2=1 - 0.8 * a)
rng = np.random.default_rng(0)
print("    x    log p(x)      ELBO   log p(x) - ELBO   KL(q || p(h|x))   ELBO by MC (n = 100,000)")
for x in (-2.0, 0.0, 1.3, 3.0):
    mc = hvae.elbo_monte_carlo(x, 100_000, rng)
    print(f"{x:5.1f}  {hvae.log_px(x):9.5f}  {hvae.elbo(x):9.5f}  {hvae.log_px(x) - hvae.elbo(x):16.10f}"
          f"  {hvae.posterior_kl(x):16.10f}   {mc.mean():8.4f} +- {mc.std() / np.sqrt(len(mc)):.4f}")

# %% [markdown]
# The gap and the KL agree to ten digits, the ELBO is always below $\log p(x)$, and the Monte
# Carlo estimate lands on the exact ELBO within its standard error. If the decoder retraces the
# encoder ($c_t = \sqrt{a_t}$, $s_t^2 = 1 - a_t$), the encoder is the exact posterior and the
# bound is tight:

# %%
# NBVAL_CHECK_OUTPUT
matched = LinearGaussianHVAE.matched(a)
# the gap is zero up to float64 round-off (~1e-15, whose sign and size vary with the BLAS)
print(f"matched decoder: |log p(x) - ELBO| = {abs(matched.log_px(1.3) - matched.elbo(1.3)):.12f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Variational diffusion models: three restrictions
#
# A variational diffusion model (VDM) is a Markovian hierarchical VAE with
#
# 1. latents of the same dimension as the data, so we write $x_t$ for $h_t$ and $x_0 = x$;
# 2. an encoder that is not learned but fixed and linear-Gaussian,
#    $q(x_t \mid x_{t-1}) = \mathcal N(\sqrt{\alpha_t}\, x_{t-1}, (1 - \alpha_t) I)$ (Eq. 31);
# 3. coefficients $\alpha_t$ chosen so that the last latent is a standard Gaussian,
#    $q(x_T \mid x_0) \approx \mathcal N(0, I)$, which becomes the model's prior $p(x_T)$.
#
# The joint is then $p(x_{0:T}) = p(x_T) \prod_{t=1}^T p_\theta(x_{t-1}\mid x_t)$ and only the
# reverse steps are learned.
#
# **Restriction 1** means the encoder cannot compress: each $x_t$ is a noisy copy of the data,
# with the data's shape.

# %%
# NBVAL_CHECK_OUTPUT
digits = data.digits("train")
x0 = jnp.asarray(digits.data[:16])
ab = dm.alpha_bar(dm.linear_betas(1000))
x_500 = dm.q_sample(x0, ab[499], jax.random.normal(jax.random.key(0), x0.shape))
print(f"x_0: {x0.shape}, x_500: {x_500.shape}")

# %% [markdown] slideshow={"slide_type": "slide"}
# **Restriction 2: a fixed linear-Gaussian encoder, and its closed form.** The step keeps the
# variance at one: if $x_{t-1}$ has unit variance, $\alpha_t \cdot 1 + (1 - \alpha_t) = 1$.
# Compose two steps: $x_t = \sqrt{\alpha_t}(\sqrt{\alpha_{t-1}}\, x_{t-2} + \sqrt{1-\alpha_{t-1}}\,\epsilon') +
# \sqrt{1 - \alpha_t}\,\epsilon$. The two noises are independent Gaussians, so their sum is
# Gaussian with variance $\alpha_t(1 - \alpha_{t-1}) + 1 - \alpha_t = 1 - \alpha_t\alpha_{t-1}$.
# By induction, with $\bar\alpha_t = \prod_{s\le t} \alpha_s$,
#
# $$q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\, x_0,\; (1 - \bar\alpha_t) I\big), \qquad
#   x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\,\epsilon \quad \text{(Eq. 69)}.$$
#
# **Check:** run the chain step by step 100,000 times from $x_0 = 1.5$ and compare with Eq. 69.

# %%
# NBVAL_CHECK_OUTPUT
betas = dm.linear_betas(1000)
n, x_start = 100_000, 1.5
x = jnp.full((n,), x_start)
print("   t   mean (chain)  mean (Eq. 69)   var (chain)  var (Eq. 69)")
for t in range(1, 1001):
    x = dm.q_step(x, 1 - betas[t - 1], jax.random.normal(jax.random.fold_in(jax.random.key(1), t), (n,)))
    if t in (10, 100, 300, 1000):
        print(f"{t:4d}   {float(x.mean()):11.4f}  {np.sqrt(ab[t - 1]) * x_start:13.4f}"
              f"   {float(x.var()):11.4f}  {1 - ab[t - 1]:12.4f}")
print(f"standard error of the chain's mean: about {1 / np.sqrt(n):.4f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# **Restriction 3: the last latent is (almost) pure noise.** The prior-matching term of the
# ELBO is $\mathrm{KL}(q(x_T\mid x_0)\,\|\,\mathcal N(0, I))$; for one dimension it is
# $\tfrac12(\bar\alpha_T x_0^2 + 1 - \bar\alpha_T - 1 - \log(1 - \bar\alpha_T))$, which goes to
# zero as $\bar\alpha_T \to 0$. For a digit (64 pixels) along the DDPM and cosine schedules:

# %%
# NBVAL_CHECK_OUTPUT
ab_cos = dm.alpha_bar(dm.cosine_betas(1000))
print("   t   KL linear (nats)   KL cosine (nats)")
for t in (1, 10, 100, 500, 900, 1000):
    kl_lin = float(dm.kl_to_standard_normal(x0[:1], ab[t - 1])[0])
    kl_cos = float(dm.kl_to_standard_normal(x0[:1], ab_cos[t - 1])[0])
    print(f"{t:4d}   {kl_lin:16.4f}   {kl_cos:16.4f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Noisification
#
# Together the three restrictions describe a steady noisification: the data are scaled down
# and mixed with more and more Gaussian noise until nothing else is left. For digits:

# %%
ts = [0, 50, 100, 200, 400, 700, 1000]
fig, axes = plt.subplots(3, len(ts), figsize=(11, 5))
eps = jax.random.normal(jax.random.key(3), x0.shape)
for j, t in enumerate(ts):
    xt = x0 if t == 0 else dm.q_sample(x0, ab[t - 1], eps)
    for i in range(3):
        axes[i, j].imshow(np.asarray(xt[i]), cmap="gray_r", vmin=-1.5, vmax=1.5)
        axes[i, j].axis("off")
    axes[0, j].set_title(f"t = {t}")
plt.tight_layout()
plt.show()

# %% [markdown]
# And for the physics data: Ising configurations at $T_c$, where the noise washes out the
# domains; the energy per site of the noisy configuration (spins now continuous) drifts from
# the Ising value towards zero.

# %%
ising16 = data.ising(L=16, T=2.269, n=256, sweeps=500)
s0 = jnp.asarray(ising16.data[:4])
fig, axes = plt.subplots(1, len(ts), figsize=(13, 2.2))
for j, t in enumerate(ts):
    st = s0 if t == 0 else dm.q_sample(s0, ab[t - 1], jax.random.normal(jax.random.key(4), s0.shape))
    axes[j].imshow(np.asarray(st[0]), cmap="gray", vmin=-1.5, vmax=1.5)
    axes[j].set_title(f"t = {t}")
    axes[j].axis("off")
plt.tight_layout()
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
from course_lib import ising  # noqa: E402  (the physics helpers, used only here)

s_all = jnp.asarray(ising16.data)
eps = jax.random.normal(jax.random.key(5), s_all.shape)
for t in (0, 100, 300, 1000):
    st = s_all if t == 0 else dm.q_sample(s_all, ab[t - 1], eps)
    print(f"t = {t:4d}: mean E/N of the noisy configurations = "
          f"{float(ising.energy_per_site(st).mean()):7.4f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Two ways to write the ELBO (Luo, part 2)
#
# With the VDM encoder the ELBO can be split in two ways. Grouping the ratio
# $p/q$ step by step gives reconstruction, *prior matching* and *consistency* terms (Eq. 45),
# $\log p_\theta(x_{t} \mid x_{t+1}) - \log q(x_t \mid x_{t-1})$, each depending on three
# random variables of the chain. Rewriting the encoder with Bayes' rule,
# $q(x_t \mid x_{t-1}, x_0) = q(x_{t-1}\mid x_t, x_0)\, q(x_t\mid x_0) / q(x_{t-1}\mid x_0)$,
# gives instead *denoising matching* terms (Eq. 58)
#
# $$\mathrm{ELBO} = \mathbb{E}_{q(x_1|x_0)}\log p_\theta(x_0\mid x_1) - \mathrm{KL}(q(x_T\mid x_0)\,\|\,p(x_T))
# - \sum_{t=2}^{T} \mathbb{E}_{q(x_t\mid x_0)} \mathrm{KL}\big(q(x_{t-1}\mid x_t, x_0)\,\|\,p_\theta(x_{t-1}\mid x_t)\big),$$
#
# where each KL is between Gaussians (the posterior of Eq. 84) and each expectation is over a
# single variable. Both are the same number in expectation; their Monte Carlo estimators
# differ in variance. We measure both on the exact model above.

# %%
# NBVAL_CHECK_OUTPUT
x_obs, n = 1.3, 200_000
consistency = hvae.elbo_consistency(x_obs, n, np.random.default_rng(1))
denoising = hvae.elbo_denoising(x_obs, n, np.random.default_rng(2))
literal = hvae.consistency_kl_form(x_obs, n, np.random.default_rng(3))
print(f"exact ELBO:                 {hvae.elbo(x_obs):.4f}")
for name, v in [("consistency (Eq. 45)", consistency), ("denoising (Eq. 58)", denoising)]:
    print(f"{name:26s}  {v.mean():.4f} +- {v.std() / np.sqrt(n):.4f}   variance per sample {v.var():.3f}")
print(f"variance ratio consistency / denoising: {consistency.var() / denoising.var():.2f}")
print(f"Eq. 45 with each term written as a KL: {literal.mean():.4f} +- {literal.std() / np.sqrt(n):.4f}")

# %% [markdown]
# The denoising form has about a third of the variance: this is why diffusion models are
# trained with it. The last line is a warning about Eq. 45 as it is usually printed, with each
# consistency term written as $\mathbb{E}_{q(x_{t-1}, x_{t+1}\mid x_0)}\,
# \mathrm{KL}(q(x_t\mid x_{t-1})\,\|\,p_\theta(x_t\mid x_{t+1}))$. That step integrates $x_t$
# as if it were drawn from $q(x_t \mid x_{t-1})$ *independently* of $x_{t+1}$, but in the chain
# $x_{t+1}$ is drawn from $x_t$. The exact model shows the difference is not small; the
# consistency terms must be evaluated as the log-ratio on the sampled chain (first line).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# 1. **A tighter bound.** In the exact model, replace the decoder by $c_t = \sqrt{a_t}$,
#    $s_t^2 = 1 - a_t$ for all but the first layer. How large is the gap now for $x = 1.3$?
# 2. **How many steps until noise?** For the DDPM schedule, find the first $t$ at which the
#    prior-matching KL of a digit drops below 0.01 nats.
# 3. **Variance preservation.** Start the chain from data with variance 4 instead of 1. What
#    is the variance of $x_t$ after $t$ steps? Check with `q_step`.

# %% tags=["solution"]
# Solution 1
c, s2 = np.sqrt(a).copy(), 1 - a
c[0], s2[0] = 0.9 * np.sqrt(a[0]), 1 - 0.8 * a[0]
almost = LinearGaussianHVAE(a, c, s2)
print(f"gap: {almost.log_px(1.3) - almost.elbo(1.3):.5f} nats "
      f"(all layers mismatched: {hvae.log_px(1.3) - hvae.elbo(1.3):.5f})")

# %% tags=["solution"]
# Solution 2
kls = np.array([float(dm.kl_to_standard_normal(x0[:1], ab[t])[0]) for t in range(1000)])
print(f"first t with KL < 0.01 nats: {int(np.argmax(kls < 0.01)) + 1}")

# %% tags=["solution"]
# Solution 3: Var(x_t) = abar_t * 4 + (1 - abar_t) = 1 + 3 abar_t.
x = 2.0 * jax.random.normal(jax.random.key(8), (200_000,))
for t in range(100):
    x = dm.q_step(x, 1 - betas[t], jax.random.normal(jax.random.fold_in(jax.random.key(9), t), x.shape))
print(f"after 100 steps: {float(x.var()):.3f}, predicted {1 + 3 * ab[99]:.3f}")

# %%
print(f"this notebook ran in {time.perf_counter() - notebook_start:.0f} s")
