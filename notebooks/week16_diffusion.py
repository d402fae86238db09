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
#
# Every Monte Carlo number below is printed with its standard error and, where an exact value
# exists, its z-score $z = (\text{estimate} - \text{exact})/\text{standard error}$: an
# unbiased estimate has $|z| < 2$ about 95% of the time, and $|z| > 3$ about once in 370.

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
from course_lib import data, diagrams, plots
from course_lib import diffusion as dm
from course_lib.theory.hvae import LinearGaussianHVAE

print("devices:", jax.devices())


def z_score(values, exact):
    """(sample mean - exact) / its standard error, over independent samples."""
    values = np.asarray(values, np.float64)
    return (values.mean() - exact) / (values.std(ddof=1) / np.sqrt(len(values)))


def estimate(values, exact=None, digits=4):
    """'mean +- standard error (z = ...)' of independent samples."""
    values = np.asarray(values, np.float64)
    out = f"{values.mean():.{digits}f} +- {values.std(ddof=1) / np.sqrt(len(values)):.{digits}f}"
    return out if exact is None else out + f" (z = {z_score(values, exact):+.1f})"


def variance(values, digits=3):
    """'sample variance +- its standard error' of independent samples: the error is
    sqrt((m4 - var^2) / n), m4 the fourth central moment (no Gaussian assumption)."""
    values = np.asarray(values, np.float64)
    var, m4 = values.var(ddof=1), np.mean((values - values.mean()) ** 4)
    return f"{var:.{digits}f} +- {np.sqrt(max(m4 - var**2, 0.0) / len(values)):.{digits}f}"


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
# held-out samples, in bits per example, and the most any model can score on *this* roll:
# the roll's density is known (`data.swiss_roll_log_prob`), and $\mathbb{E}[\log_2 p(x)]$,
# minus its entropy, is the ceiling.

# %% tags=["nbval-check-output"]
roll = data.get("swiss_roll")
train_x = np.asarray(roll.sample(jax.random.key(0), 50_000), np.float64)
test_x = np.asarray(roll.sample(jax.random.key(1), 50_000), np.float64)
mu, cov = train_x.mean(0), np.cov(train_x.T)
diff = test_x - mu
log_lik = -0.5 * (np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
                  + np.linalg.slogdet(2 * np.pi * cov)[1])
gaussian_bits = log_lik / np.log(2)
# 2,000 points along the curve (spacing ~0.04 against noise 0.5) give the same mean as
# 20,000 to 1e-4 bits, ten times faster
ceiling_bits = data.swiss_roll_log_prob(test_x[:4000], points=2_000) / np.log(2)
gain = ceiling_bits.mean() - gaussian_bits.mean()
print(f"best Gaussian on the roll:         {estimate(gaussian_bits, digits=3)} bits per example")
print(f"N(0, I) on unit-variance 2D data:  {-np.log2(2 * np.pi * np.e):.3f} bits "
      "(minus its entropy)")
print(f"the roll's own density (ceiling):  {estimate(ceiling_bits, digits=3)} bits per example")
print(f"the most any model can gain over the Gaussian on this roll: {gain:.2f} bits "
      f"(Sohl-Dickstein et al.: 6.45 on their roll)")

# %% [markdown]
# The best Gaussian is almost exactly the standard normal (the data are scaled to unit
# variance, so $-\log_2(2\pi e) = -4.094$ bits is its expected log-likelihood, minus the
# Gaussian's entropy). The comparison with the paper needs a caveat: Sohl-Dickstein et al.
# (2015, Table 1) report their diffusion model 6.45 bits above an isotropic Gaussian, but
# on their own roll, whose thickness they do not publish; their bound of 2.35 bits means
# their roll was much thinner than ours. **On this roll no model, however flexible, can gain
# more than the gain printed above** over the Gaussian; a 6.45-bit gain is physically impossible
# here, and week 17 compares its trained model with this ceiling, not with the paper's gain.

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
# ## From week 15: the VAE and its ELBO
#
# A VAE has one latent $h$: a prior $p(h)$ and a decoder $p_\theta(x\mid h)$ define
# $p(x) = \int p(h)\,p_\theta(x\mid h)\,dh$, which we cannot integrate; an encoder
# $q_\phi(h\mid x)$ stands in for the intractable posterior. Jensen's inequality
# ($\log$ is concave, so $\log\mathbb{E}[Y] \ge \mathbb{E}[\log Y]$) gives the evidence lower
# bound:
#
# $$\log p(x) = \log \mathbb{E}_{q_\phi(h\mid x)}\left[\frac{p(h)\,p_\theta(x\mid h)}{q_\phi(h\mid x)}\right]
# \;\ge\; \underbrace{\mathbb{E}_{q_\phi(h\mid x)}\log p_\theta(x\mid h)}_{\text{reconstruction}}
# \;-\; \underbrace{\mathrm{KL}\big(q_\phi(h\mid x)\,\|\,p(h)\big)}_{\text{prior matching}}
# = \mathrm{ELBO}(x),$$
#
# and the gap is exactly $\mathrm{KL}(q_\phi(h\mid x)\,\|\,p(h\mid x))$ (write
# $p(x, h) = p(x)\,p(h\mid x)$ inside the expectation). A *hierarchical* VAE stacks $T$ of
# these: the latent $h_1$ of the first VAE is the "data" of a second VAE with latent $h_2$,
# and so on. In general every layer could depend on all the others; a *Markovian* HVAE lets
# each layer talk only to its neighbours. Encoder arrows in red, decoder arrows in green:

# %%
fig, axes = plt.subplots(2, 1, figsize=(10, 4.6), gridspec_kw={"height_ratios": [1, 1.3]})
diagrams.vae(axes[0])
diagrams.markovian_hvae(axes[1])
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The Markovian hierarchical VAE and its ELBO (Eqs. 23-29)
#
# Generation runs down the chain, inference up:
#
# $$p(x, h_{1:T}) = p(h_T)\, p_\theta(x \mid h_1) \prod_{t=2}^{T} p_\theta(h_{t-1} \mid h_t),
# \qquad
# q_\phi(h_{1:T} \mid x) = q_\phi(h_1 \mid x) \prod_{t=2}^{T} q_\phi(h_t \mid h_{t-1})
# \qquad \text{(Eqs. 23, 24)}.$$
#
# (In the lecture's slide "Equation for the Markovian hierarchical VAE" the decoder factors
# appear as $p_\theta(h_t \mid h_{t-1})$; they are $p_\theta(h_{t-1} \mid h_t)$, as here.)
#
# **The ELBO** (Eqs. 25-28): multiply and divide by $q_\phi$ inside the marginal and use Jensen,
#
# $$\log p(x) = \log \int q_\phi(h_{1:T}\mid x)\, \frac{p(x, h_{1:T})}{q_\phi(h_{1:T}\mid x)}\, dh_{1:T}
#   \;\ge\; \mathbb{E}_{q_\phi(h_{1:T}\mid x)}\left[\log \frac{p(x, h_{1:T})}{q_\phi(h_{1:T}\mid x)}\right]
#   = \mathrm{ELBO}(x).$$
#
# **Substituting the joint and the posterior** (Eq. 29), the log of the products is a sum of
# logs, and each term's expectation needs only the variables it contains:
#
# $$\begin{aligned}
# \mathrm{ELBO}(x) &= \mathbb{E}_{q_\phi(h_{1:T}\mid x)}\left[\log
#   \frac{p(h_T)\, p_\theta(x\mid h_1) \prod_{t=2}^T p_\theta(h_{t-1}\mid h_t)}
#        {q_\phi(h_1\mid x) \prod_{t=2}^T q_\phi(h_t\mid h_{t-1})}\right] \\
# &= \mathbb{E}_{q_\phi(h_1\mid x)} \log p_\theta(x\mid h_1)
#  + \mathbb{E}_{q_\phi(h_T\mid x)} \log p(h_T)
#  + \sum_{t=2}^{T} \mathbb{E}_{q_\phi(h_{t-1}, h_t\mid x)} \log p_\theta(h_{t-1}\mid h_t) \\
# &\quad - \mathbb{E}_{q_\phi(h_1\mid x)} \log q_\phi(h_1\mid x)
#  - \sum_{t=2}^{T} \mathbb{E}_{q_\phi(h_{t-1}, h_t\mid x)} \log q_\phi(h_t\mid h_{t-1}).
# \end{aligned}$$
#
# For $T = 1$ the first, second and fourth terms are the VAE's reconstruction and prior
# matching. How much is lost? As for one latent,
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
# joint is Gaussian, so `course_lib.theory.hvae` computes $\log p(x)$, the ELBO and
# $\mathrm{KL}(q\,\|\,p(h\mid x))$ in closed form, and the ELBO also by plain Monte Carlo:
# the average of $\log p(x, h) - \log q(h\mid x)$ over chains drawn from the encoder. We use
# $T = 8$ layers and a decoder that does *not* quite match the encoder.

# %% tags=["nbval-check-output"]
a = np.linspace(0.95, 0.6, 8)
hvae = LinearGaussianHVAE(a, c=np.sqrt(a) * 0.9, s2=1 - 0.8 * a)
rng = np.random.default_rng(0)
print("    x    log p(x)      ELBO   log p(x) - ELBO   KL(q || p(h|x))   ELBO by MC (n = 100,000)")
for x in (-2.0, 0.0, 1.3, 3.0):
    mc = hvae.elbo_monte_carlo(x, 100_000, rng)
    log_px, elbo = hvae.log_px(x), hvae.elbo(x)
    print(f"{x:5.1f}  {log_px:9.5f}  {elbo:9.5f}  {log_px - elbo:16.10f}"
          f"  {hvae.posterior_kl(x):16.10f}   {estimate(mc, elbo)}")

# %% [markdown]
# The gap and the KL agree to ten digits (two independent computations: one from the
# marginal of the decoder's joint, one from the two $T$-dimensional Gaussians), the ELBO is
# always below $\log p(x)$, and the Monte Carlo estimates land on the exact ELBO within the
# few standard errors of their $z$-scores (last column). If the decoder retraces the encoder ($c_t = \sqrt{a_t}$,
# $s_t^2 = 1 - a_t$), the encoder is the exact posterior and the bound is tight:

# %% tags=["nbval-check-output"]
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
# reverse steps are learned (dashed: fixed):

# %%
diagrams.vdm_chain()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Two notational slips to read past.** The lecture's slide "Parameterizing Gaussian
# encoder" (Luo's Eq. 30) writes the encoder's mean as $\mu_t(x_t) = \sqrt{\alpha_t}\,x_{t-1}$
# and its variance as $\Sigma_t(x_t)$; both are functions of the *previous* latent: read
# $\mu_t(x_{t-1}) = \sqrt{\alpha_t}\, x_{t-1}$, $\Sigma_t(x_{t-1}) = (1-\alpha_t) I$.
# And $\alpha_t$ means one thing in this notebook and in week 17's DDPM sections: the
# fraction of the *variance* one step keeps, $\alpha_t = 1 - \beta_t$, so that after $t$
# steps the signal is scaled by $\sqrt{\bar\alpha_t}$. **Week 17's section "Continuous time:
# the variational diffusion model" switches to Kingma et al.'s notation**, where $\alpha_t$ is
# the signal *scale* of $q(z_t\mid x) = \mathcal N(\alpha_t x, \sigma_t^2 I)$: their
# $\alpha_t$ is our $\sqrt{\bar\alpha_t}$, their $\alpha_t^2 = \bar\alpha_t$ and
# $\sigma_t^2 = 1 - \bar\alpha_t$.
#
# **Restriction 1** means the encoder cannot compress: each $x_t$ is a noisy copy of the data,
# with the data's shape.

# %% tags=["nbval-check-output"]
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
# **Check:** run the chain step by step 100,000 times from $x_0 = 1.5$ and compare its mean
# and variance with Eq. 69. The standard error of a mean is $\sqrt{\mathrm{var}/n}$, that of a
# Gaussian sample variance $\mathrm{var}\sqrt{2/(n-1)}$; the rows share one chain, so their
# errors are correlated.

# %% tags=["nbval-check-output"]
betas = dm.linear_betas(1000)
n, x_start, checked = 100_000, 1.5, (10, 100, 300, 1000)
x = jnp.full((n,), x_start)
snapshots = {}
print("   t   mean (chain)  Eq. 69      z    var (chain)  Eq. 69      z")
for t in range(1, 1001):
    noise = jax.random.normal(jax.random.fold_in(jax.random.key(1), t), (n,))
    x = dm.q_step(x, 1 - betas[t - 1], noise)
    if t in checked:
        snapshots[t] = xt = np.asarray(x, np.float64)
        mean, var = np.sqrt(ab[t - 1]) * x_start, 1 - ab[t - 1]
        z_var = (xt.var(ddof=1) - var) / (var * np.sqrt(2 / (n - 1)))
        print(f"{t:4d}   {xt.mean():11.4f}  {mean:7.4f}  {z_score(xt, mean):+5.1f}"
              f"   {xt.var(ddof=1):11.4f}  {var:7.4f}  {z_var:+5.1f}")

# %% [markdown]
# The whole distribution, not only its two moments: the chain's histogram at four steps
# against the density of Eq. 69.

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 2.8), sharey=False)
for ax, t in zip(axes, checked):
    mean, sd = np.sqrt(ab[t - 1]) * x_start, np.sqrt(1 - ab[t - 1])
    ax.hist(snapshots[t], bins=80, density=True, color="0.7", label="chain")
    grid = np.linspace(mean - 4 * sd, mean + 4 * sd, 200)
    density = np.exp(-0.5 * ((grid - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    ax.plot(grid, density, "tab:red", label="Eq. 69")
    ax.set_title(rf"$t = {t}$, $\bar\alpha_t = {ab[t - 1]:.3f}$")
    ax.set_xlabel(r"$x_t$")
axes[0].legend(frameon=False)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Explore.** Eq. 69 on the swiss roll: the same 1000 points $x_0$ and the same noise
# $\epsilon$, noised to $x_t$ for $t$ from 0 to $T = 1000$ with DDPM's linear schedule,
# beside $\bar\alpha_t$ and SNR$(t)$ with the current $t$ marked. By $t \approx 300$ the
# roll is gone; SNR$(t)$ falls by eight orders of magnitude over the chain. The frames are
# stored in the page, so the slider works on the course site and in the slides; in JupyterLab
# `forward.live()` recomputes at any $t$.

# %%
from course_lib import explorables  # noqa: E402

forward = explorables.diffusion_time()
forward

# %% [markdown] slideshow={"slide_type": "slide"}
# **Restriction 3: the last latent is (almost) pure noise.** How fast the signal goes is set
# by the schedule: $\bar\alpha_t$ and the signal-to-noise ratio
# $\mathrm{SNR}(t) = \bar\alpha_t/(1-\bar\alpha_t)$ of $q(x_t\mid x_0)$ (Eq. 108) for the DDPM
# linear schedule ($\beta_t$ from $10^{-4}$ to $0.02$, $T = 1000$) and the cosine schedule of
# Nichol and Dhariwal (2021), which destroys the signal more evenly in $\log\mathrm{SNR}$:

# %%
ab_cos = dm.alpha_bar(dm.cosine_betas(1000))
steps = np.arange(1, 1001)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for abar, name in ((ab, "linear (DDPM)"), (ab_cos, "cosine")):
    axes[0].plot(steps, abar, label=name)
    axes[1].semilogy(steps, dm.snr(abar), label=name)
axes[0].set_ylabel(r"$\bar\alpha_t$")
axes[1].set_ylabel(r"SNR$(t) = \bar\alpha_t / (1 - \bar\alpha_t)$")
for ax in axes:
    ax.set_xlabel("t")
    ax.legend(frameon=False)
plt.tight_layout()
plt.show()

# %% [markdown]
# The prior-matching term of the ELBO is $\mathrm{KL}(q(x_T\mid x_0)\,\|\,\mathcal N(0, I))$;
# for one dimension it is
# $\tfrac12(\bar\alpha_T x_0^2 + 1 - \bar\alpha_T - 1 - \log(1 - \bar\alpha_T))$, which goes to
# zero as $\bar\alpha_T \to 0$. For a digit (64 pixels) along the two schedules:

# %% tags=["nbval-check-output"]
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
eps = jax.random.normal(jax.random.key(3), x0.shape)
noisy = np.stack([x0[:3] if t == 0 else dm.q_sample(x0[:3], ab[t - 1], eps[:3]) for t in ts], 1)
plots.image_grid(noisy, col_titles=[f"t = {t}" for t in ts], vmin=-1.5, vmax=1.5, size=1.4)
plt.show()

# %% [markdown]
# And for the physics data: Ising configurations at $T_c$, where the noise washes out the
# domains.

# %%
ising16 = data.ising(L=16, T=2.269, n=256, sweeps=500)
s0 = jnp.asarray(ising16.data[:1])
noise = jax.random.normal(jax.random.key(4), s0.shape)
noisy = np.stack([s0 if t == 0 else dm.q_sample(s0, ab[t - 1], noise) for t in ts], 1)
plots.image_grid(noisy, col_titles=[f"t = {t}" for t in ts], cmap="gray", vmin=-1.5, vmax=1.5,
                 size=1.8)
plt.show()

# %% [markdown]
# **What the noise does to the energy.** Score a noisy configuration (spins now continuous)
# with the Ising energy per site, $E/N = -\frac1N\sum_{\langle ij\rangle} x_i x_j$. For a bond
# $i \ne j$, with $x = \sqrt{\bar\alpha_t}\,s + \sqrt{1-\bar\alpha_t}\,\epsilon$ and the noises
# independent with mean zero,
#
# $$\mathbb{E}[x_i x_j \mid s] = \bar\alpha_t\, s_i s_j
#   + \sqrt{\bar\alpha_t(1-\bar\alpha_t)}\,(s_i\,\mathbb{E}\epsilon_j + s_j\,\mathbb{E}\epsilon_i)
#   + (1-\bar\alpha_t)\,\mathbb{E}[\epsilon_i\epsilon_j] = \bar\alpha_t\, s_i s_j,$$
#
# so on average $E/N(t) = \bar\alpha_t\,E_0$, configuration by configuration: a prediction
# the measurement can miss. The error bar is over the 256 configurations, each with its own
# noise (the differences $E/N(t) - \bar\alpha_t E_0$ are independent given the
# configurations, whatever the correlations of the Markov chains that made them).

# %% tags=["nbval-check-output"]
from course_lib import ising  # noqa: E402  (the physics helpers, used only here)

s_all = jnp.asarray(ising16.data)
E0 = np.asarray(ising.energy_per_site(s_all), np.float64)
times = (100, 300, 1000)


def energy_error(eps):
    """E/N(t) - alpha_bar_t E_0 per configuration, for each t in `times`."""
    return [np.asarray(ising.energy_per_site(dm.q_sample(s_all, ab[t - 1], eps)), np.float64)
            - ab[t - 1] * E0 for t in times]


print(f"t =    0: E/N = {E0.mean():.4f}  (the Ising configurations themselves)")
for t, d in zip(times, energy_error(jax.random.normal(jax.random.key(5), s_all.shape))):
    measured = d + ab[t - 1] * E0
    print(f"t = {t:4d}: E/N = {estimate(measured, digits=4)}, predicted alpha_bar_t E_0 = "
          f"{ab[t - 1] * E0.mean():7.4f}, error {estimate(d, 0.0)}")

# %% [markdown]
# At $t = 100$ and $300$ this noise draw sits more than 3 standard errors low (an earlier
# version of this notebook printed these two measured energies without a prediction). A bug, or a fluke? The rows share one noise draw, so they are not independent
# evidence: the cross term $\sum_i \epsilon_i h_i$ (with $h_i$ the sum of the neighbouring
# spins) enters both. Repeat the measurement with 300 independent noise draws:

# %% tags=["nbval-check-output"]
# draw k uses key(k), as above for k = 5
z = np.array([[z_score(d, 0.0) for d in energy_error(jax.random.normal(jax.random.key(k),
                                                                         s_all.shape))]
              for k in range(300)])
for j, t in enumerate(times):
    print(f"t = {t:4d}: z over 300 noise draws: mean {z[:, j].mean():+.2f}, "
          f"std {z[:, j].std():.2f}; "
          f"|z| > 3 in {np.mean(np.abs(z[:, j]) > 3):.1%}; draw 5: z = {z[5, j]:+.1f}, "
          f"{int(np.sum(z[:, j] < z[5, j]))} of the 300 draws lower")

# %% [markdown]
# Over independent draws the z-scores have mean zero and unit spread, as they must if
# $\bar\alpha_t E_0$ is right and the error bars are honest (the spread of a standard
# deviation over 300 draws is $\pm 0.04$, i.e. $1/\sqrt{2 \cdot 300}$). $|z| > 3$ turns up in 3,
# 2 and 2 of the 300 draws, where a standard normal expects $300 \cdot P(|z| > 3) = 0.8$ (3 or more happens about 5% of the time). So the
# prediction holds, and draw 5 is a fluke: the lowest of the 300 at $t = 300$ (a one-in-a-few-hundred
# event; its $t = 100$ and $t = 300$ rows are one fluke, not two, since they share the noise).
# We keep that draw rather than pick a friendlier seed, and say so.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Two ways to write the ELBO (Luo, part 2)
#
# For the VDM the ELBO of the Markovian HVAE reads
# $\mathrm{ELBO} = \mathbb{E}_{q(x_{1:T}\mid x_0)}\big[\log p(x_{0:T}) - \log q(x_{1:T}\mid x_0)\big]$.
# There are two ways to group its terms, and they lead to estimators with different variances.
#
# **The consistency form (Eqs. 34-45).** Pair each decoder factor with the encoder factor that
# generates the *same* variable: $p_\theta(x_t\mid x_{t+1})$ with $q(x_t\mid x_{t-1})$,
#
# $$\begin{aligned}\mathrm{ELBO} = {}& \mathbb{E}_{q(x_1|x_0)}\log p_\theta(x_0\mid x_1)
#  + \mathbb{E}_{q(x_{T-1}, x_T|x_0)}\log\frac{p(x_T)}{q(x_T\mid x_{T-1})} \\
#  & + \sum_{t=1}^{T-1}\mathbb{E}_{q(x_{t-1}, x_t, x_{t+1}|x_0)}
#    \log\frac{p_\theta(x_t\mid x_{t+1})}{q(x_t\mid x_{t-1})}.\end{aligned}$$
#
# The middle term is a KL, $-\mathbb{E}_{q(x_{T-1}|x_0)}\mathrm{KL}(q(x_T\mid x_{T-1})\,\|\,p(x_T))$,
# because $x_T$ is the last variable: given everything before it, it is drawn from
# $q(x_T\mid x_{T-1})$. Luo's Eq. 45 writes the consistency terms as KLs too,
# $-\mathbb{E}_{q(x_{t-1}, x_{t+1}|x_0)}\mathrm{KL}(q(x_t\mid x_{t-1})\,\|\,p_\theta(x_t\mid x_{t+1}))$,
# and that step is wrong: given *both* neighbours, $x_t$ is not distributed as
# $q(x_t\mid x_{t-1})$, because $x_{t+1}$ was drawn from $x_t$ and carries information about
# it. Its true conditional is the *bridge*
#
# $$\begin{aligned}r_t(x_t) &= q(x_t\mid x_{t-1}, x_{t+1}) \propto q(x_t\mid x_{t-1})\, q(x_{t+1}\mid x_t),
# \\ \frac{1}{\mathrm{var}\, r_t} &= \frac{1}{1-\alpha_t} + \frac{\alpha_{t+1}}{1-\alpha_{t+1}},
# \qquad \mathbb{E}\,r_t = \mathrm{var}\, r_t\left(\frac{\sqrt{\alpha_t}\,x_{t-1}}{1-\alpha_t}
#   + \frac{\sqrt{\alpha_{t+1}}\,x_{t+1}}{1-\alpha_{t+1}}\right)\end{aligned}$$
#
# (a product of two Gaussians in $x_t$, `LinearGaussianHVAE.bridge`), and the correct
# consistency term is
# $\mathbb{E}_{q(x_{t-1}, x_{t+1}|x_0)}\big[\mathrm{KL}(r_t\,\|\,q(x_t\mid x_{t-1})) - \mathrm{KL}(r_t\,\|\,p_\theta(x_t\mid x_{t+1}))\big]$:
# Gaussian integrals over $x_t$ in closed form, two random variables per term.

# %% [markdown] slideshow={"slide_type": "slide"}
# **The denoising form (Eqs. 46-58), step by step.** Start again from the ELBO and split off
# the first step (Eq. 47-48):
#
# $$\mathrm{ELBO} = \mathbb{E}_{q(x_{1:T}|x_0)}\left[\log\frac{p(x_T)\,p_\theta(x_0\mid x_1)\prod_{t=2}^T p_\theta(x_{t-1}\mid x_t)}
#   {q(x_1\mid x_0)\prod_{t=2}^T q(x_t\mid x_{t-1})}\right].$$
#
# *Markov property* (Eq. 49): given $x_{t-1}$, the encoder's step does not look at $x_0$, so
# $q(x_t\mid x_{t-1}) = q(x_t\mid x_{t-1}, x_0)$ for $t \ge 2$. *Bayes' rule* (Eq. 46) then
# turns each encoder step around:
#
# $$q(x_t\mid x_{t-1}, x_0) = \frac{q(x_{t-1}\mid x_t, x_0)\, q(x_t\mid x_0)}{q(x_{t-1}\mid x_0)}.$$
#
# Substitute (Eq. 50) and split the logarithm (Eq. 51):
#
# $$\mathrm{ELBO} = \mathbb{E}\left[\log\frac{p(x_T)\,p_\theta(x_0\mid x_1)}{q(x_1\mid x_0)}
#  + \sum_{t=2}^T \log\frac{p_\theta(x_{t-1}\mid x_t)}{q(x_{t-1}\mid x_t, x_0)}
#  + \sum_{t=2}^T \log\frac{q(x_{t-1}\mid x_0)}{q(x_t\mid x_0)}\right].$$
#
# *Telescoping* (Eq. 52): the last sum is
# $\log q(x_1|x_0) - \log q(x_2|x_0) + \log q(x_2|x_0) - \dots - \log q(x_T|x_0)
# = \log q(x_1\mid x_0) - \log q(x_T\mid x_0)$; its first term cancels the
# $q(x_1\mid x_0)$ in the denominator (Eq. 53):
#
# $$\mathrm{ELBO} = \mathbb{E}\left[\log p_\theta(x_0\mid x_1) + \log\frac{p(x_T)}{q(x_T\mid x_0)}
#  + \sum_{t=2}^T \log\frac{p_\theta(x_{t-1}\mid x_t)}{q(x_{t-1}\mid x_t, x_0)}\right].$$
#
# Each term needs only the variables it contains (Eqs. 54-55): $x_1$; $x_T$; the pair
# $(x_{t-1}, x_t)$. Draw the pair as $x_t \sim q(x_t\mid x_0)$, then
# $x_{t-1}\sim q(x_{t-1}\mid x_t, x_0)$: that is the same joint, and now the inner expectation
# over $x_{t-1}$ *is* a KL divergence, with no approximation (Eqs. 56-58):
#
# $$\mathrm{ELBO} = \underbrace{\mathbb{E}_{q(x_1|x_0)}\log p_\theta(x_0\mid x_1)}_{\text{reconstruction}}
#  - \underbrace{\mathrm{KL}(q(x_T\mid x_0)\,\|\,p(x_T))}_{\text{prior matching}}
#  - \sum_{t=2}^{T} \underbrace{\mathbb{E}_{q(x_t\mid x_0)} \mathrm{KL}\big(q(x_{t-1}\mid x_t, x_0)\,\|\,p_\theta(x_{t-1}\mid x_t)\big)}_{\text{denoising matching}}.$$
#
# One random variable per term, and the prior term has none. The two kinds of matching,
# drawn as in Luo's Figs. 4 and 5:

# %%
diagrams.matching_terms()
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The posterior of one step, Eq. 84, by completing the square
#
# The denoising terms need $q(x_{t-1}\mid x_t, x_0)$. By Bayes' rule and the Markov property it
# is proportional to $q(x_t\mid x_{t-1})\, q(x_{t-1}\mid x_0)
# = \mathcal N(x_t; \sqrt{\alpha_t}\,x_{t-1}, 1-\alpha_t)\,
#   \mathcal N(x_{t-1}; \sqrt{\bar\alpha_{t-1}}\,x_0, 1-\bar\alpha_{t-1})$ (per coordinate).
# Write $y = x_{t-1}$ and keep only what depends on $y$ in the exponent:
#
# $$\begin{aligned}-\frac12\left[\frac{(x_t - \sqrt{\alpha_t}\,y)^2}{1-\alpha_t} + \frac{(y - \sqrt{\bar\alpha_{t-1}}\,x_0)^2}{1-\bar\alpha_{t-1}}\right]
#  &= -\frac12\left[A\,y^2 - 2B\,y\right] + \text{const}, \\
#  & \qquad A = \frac{\alpha_t}{1-\alpha_t} + \frac{1}{1-\bar\alpha_{t-1}},\quad
#  B = \frac{\sqrt{\alpha_t}\,x_t}{1-\alpha_t} + \frac{\sqrt{\bar\alpha_{t-1}}\,x_0}{1-\bar\alpha_{t-1}}.\end{aligned}$$
#
# Complete the square, $A y^2 - 2By = A(y - B/A)^2 - B^2/A$: a Gaussian with variance $1/A$
# and mean $B/A$. Over a common denominator, using $\alpha_t\bar\alpha_{t-1} = \bar\alpha_t$,
# $A = \frac{\alpha_t(1-\bar\alpha_{t-1}) + 1 - \alpha_t}{(1-\alpha_t)(1-\bar\alpha_{t-1})}
#    = \frac{1-\bar\alpha_t}{(1-\alpha_t)(1-\bar\alpha_{t-1})}$, so
#
# $$q(x_{t-1}\mid x_t, x_0) = \mathcal N\left(
#   \frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})\,x_t + \sqrt{\bar\alpha_{t-1}}(1-\alpha_t)\,x_0}{1-\bar\alpha_t},\;
#   \frac{(1-\alpha_t)(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\right) \qquad \text{(Eq. 84)}.$$
#
# **Check** against an independent computation: the encoder's joint distribution of
# $(x_1, \dots, x_T)$ given $x_0$ is one Gaussian (`encoder_posterior`), and conditioning it
# on $x_t$ by the textbook formula ($\mu_a + \Sigma_{ab}\Sigma_{bb}^{-1}(x_b - \mu_b)$,
# $\Sigma_{aa} - \Sigma_{ab}\Sigma_{bb}^{-1}\Sigma_{ba}$) must give Eq. 84; so must
# conditioning on all of $x_t, \dots, x_T$ (the Markov property). Forgetting $x_t$, i.e.
# using $q(x_{t-1}\mid x_0)$, shows what a wrong formula looks like in the same table.

# %% tags=["nbval-check-output"]
x_obs = 1.3
chains = hvae.sample_encoder(x_obs, 5, np.random.default_rng(4))
print(" t   x_t      Eq. 84 mean, var     given x_t           given x_t..x_T      q(x_{t-1}|x_0)")
worst = 0.0
for t in range(2, hvae.T + 1):
    m84, v84 = hvae.denoising_posterior(t, chains[:, t], x_obs)
    m1, v1 = hvae.encoder_conditional(x_obs, t - 1, {t: chains[:, t]})
    later = {k: chains[:, k] for k in range(t, hvae.T + 1)}
    mall, vall = hvae.encoder_conditional(x_obs, t - 1, later)
    m0, v0 = np.sqrt(np.prod(a[:t - 1])) * x_obs, 1 - np.prod(a[:t - 1])  # Eq. 69, x_t ignored
    worst = max(worst, np.abs(m84 - m1).max(), np.abs(m84 - mall).max(),
                abs(v84 - v1), abs(v84 - vall))
    print(f"{t:2d}  {chains[0, t]:6.3f}   {m84[0]:7.4f}, {v84:.4f}     {m1[0]:7.4f}, {v1:.4f}"
          f"     {mall[0]:7.4f}, {vall:.4f}     {m0:7.4f}, {v0:.4f}")
print(f"largest difference over all t and 5 chains: below 1e-12: {worst < 1e-12}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Three estimators of one ELBO, measured against the exact value
#
# All three average independent draws of the encoder chain, so all three are unbiased; they
# differ in how much of each term they integrate exactly.
#
# - **plain Monte Carlo**: $\log p(x_{0:T}) - \log q(x_{1:T}\mid x_0)$ on the sampled chain
#   (nothing integrated; the consistency grouping evaluated on the sampled $x_t$ is this same
#   number, sample by sample, only regrouped);
# - **consistency form** (Eq. 45, corrected): reconstruction on the sampled $x_1$, the prior
#   KL given $x_{T-1}$, each consistency term integrated over $x_t$ against the bridge $r_t$
#   (two random variables per term);
# - **denoising form** (Eq. 58): reconstruction on $x_1$, the prior KL exact, each denoising
#   KL given $x_t$ (one random variable per term).
#
# And, as a planted bug, Luo's Eq. 45 taken literally (each consistency term as
# $\mathrm{KL}(q(x_t\mid x_{t-1})\,\|\,p_\theta(x_t\mid x_{t+1}))$).

# %% tags=["nbval-check-output"]
x_obs, n = 1.3, 200_000
exact = hvae.elbo(x_obs)
estimators = {
    "plain Monte Carlo": hvae.elbo_monte_carlo(x_obs, n, np.random.default_rng(1)),
    "consistency (Eq. 45)": hvae.elbo_consistency(x_obs, n, np.random.default_rng(2)),
    "denoising (Eq. 58)": hvae.elbo_denoising(x_obs, n, np.random.default_rng(3)),
}
literal = hvae.consistency_kl_form(x_obs, n, np.random.default_rng(4))
print(f"exact ELBO at x = {x_obs}: {exact:.4f}   (n = {n:,} chains each)")
print("estimator                 mean +- standard error (z)     variance per sample (+- s.e.)")
for name, v in estimators.items():
    print(f"{name:24s}  {estimate(v, exact):30s}  {variance(v)}")
print(f"{'Eq. 45 as printed (KLs)':24s}  {estimate(literal, exact, digits=3):30s}  "
      f"{variance(literal)}")

# %% [markdown]
# The three unbiased estimators land within a few standard errors of the exact ELBO (the
# plain estimator's $z$, the largest, is examined below), while Eq. 45 as printed is off by two
# nats, hundreds of standard errors: it is not the ELBO. The variance per sample decides
# how many chains an estimate needs for a given error bar. Here, with this decoder, the
# corrected consistency form is the *least* noisy, the denoising form next, the plain
# estimator noisiest. Their distributions around the exact value, per chain (left) and as
# averages of batches of 1,000 chains (right):

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
colors = ("tab:gray", "tab:red", "tab:green")
for (name, v), color in zip(estimators.items(), colors):
    axes[0].hist(v, bins=np.linspace(exact - 5, exact + 3, 120), density=True, histtype="step",
                 color=color, lw=1.5, label=name)
    axes[1].hist(v.reshape(-1, 1000).mean(1), bins=25, density=True, histtype="step",
                 color=color, lw=1.5, label=name)
for ax, title in zip(axes, ("one chain", "mean of 1,000 chains")):
    ax.axvline(exact, color="k", ls="--", lw=1, label="exact ELBO")
    ax.set_title(title)
    ax.set_xlabel("estimate of the ELBO (nats)")
axes[0].legend(frameon=False, fontsize=9, loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Is a miss of more than two standard errors a bug?** An earlier version of this notebook
# printed the plain estimator (under the name "consistency") with the value of the first row
# above and no $z$-score, so nothing said that it lies well over two standard errors from the
# exact ELBO. The first row above is that very draw (seed 1), now with its $z$-score. An unbiased estimator with an honest error bar gives z-scores with
# mean 0 and standard deviation 1 over independent repetitions; so repeat each estimator 400
# times with independent seeds:

# %% tags=["nbval-check-output"]
methods = {"plain Monte Carlo": hvae.elbo_monte_carlo,
           "consistency (Eq. 45)": hvae.elbo_consistency,
           "denoising (Eq. 58)": hvae.elbo_denoising}
print("estimator                 z over 400 runs of 2,000 chains: mean, std, fraction |z| > 2.4")
for name, method in methods.items():
    z = np.array([z_score(method(x_obs, 2_000, np.random.default_rng(1_000 + k)), exact)
                  for k in range(400)])
    print(f"{name:24s}  {z.mean():+.2f}  {z.std():.2f}  {np.mean(np.abs(z) > 2.4):.3f}")
print(f"N(0, 1): P(|z| > 2.4) = {math.erfc(2.4 / math.sqrt(2)):.3f}")

# %% [markdown]
# The z-scores have mean zero (within $\pm 0.1$, twice the standard error $1/\sqrt{400}$ of a
# mean of 400) and unit spread, and $|z| > 2.4$ (the size of seed 1's miss) comes up about as
# often as for a standard normal: the miss of seed 1 was a fluke, not a bias. (The same statistics are unit tests in
# `tests/test_hvae.py`, which also plant the bugs: integrating $x_t$ against
# $q(x_t\mid x_{t-1})$ instead of the bridge, or a wrong Eq. 84, and check that the tests
# then fail.)
#
# **Which form has the smaller variance?** Luo argues that the denoising form wins because
# each of its terms has one random variable instead of two. Measured, the ranking depends on
# the decoder: the variance per chain of the three estimators for three decoders and three
# data points.

# %% tags=["nbval-check-output"]
decoders = {
    "notebook's (c = 0.9 sqrt a)": hvae,
    "matched (exact posterior)": LinearGaussianHVAE.matched(a),
    "poor (c = 0.5 sqrt a)": LinearGaussianHVAE(a, c=np.sqrt(a) * 0.5, s2=1 - 0.5 * a),
}
print("variance per chain +- its standard error, 20,000 chains each")
print(f"{'decoder':28s} {'x':>4s}  {'plain':>16s}  {'consistency':>16s}  {'denoising':>16s}")
for label, model in decoders.items():
    for x in (0.0, 1.3, 3.0):
        v = [variance(f(x, 20_000, np.random.default_rng(5))) for f in
             (model.elbo_monte_carlo, model.elbo_consistency, model.elbo_denoising)]
        print(f"{label:28s} {x:4.1f}  {v[0]:>16s}  {v[1]:>16s}  {v[2]:>16s}")

# %% [markdown]
# No form wins everywhere. With the matched decoder the plain estimator has *zero* variance
# ($\log p(x, h) - \log q(h\mid x) = \log p(x)$ for every chain when $q$ is the posterior),
# while both regrouped forms fluctuate: their terms cancel only in the sum. With a poor
# decoder the denoising form is best by far; with the notebook's decoder the corrected
# consistency form is best at $x = 1.3$ and $3$, the denoising form at $x = 0$, each time by
# many times the standard errors of the variances (the $\pm$). What the
# measurement supports is narrower than "denoising always has lower variance": the denoising form's terms are exact Gaussian KLs whose target
# $q(x_{t-1}\mid x_t, x_0)$ the decoder is trained to match, one $t$ at a time, and that is
# what diffusion training (week 17) uses.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each has a worked solution in the full notebook (the student version, `make student`, leaves
# them out).
#
# 1. **A tighter bound** (about 15 minutes). In the exact model, replace the decoder by
#    $c_t = \sqrt{a_t}$, $s_t^2 = 1 - a_t$ for all but the first layer. How large is the gap
#    now for $x = 1.3$? *Compare with* the gap of the notebook's decoder in the first table
#    ($\log p(x) - \mathrm{ELBO}$) and with the matched decoder's zero. *Hint:*
#    `LinearGaussianHVAE(a, c, s2)` takes the decoder's coefficients as arrays; copy the matched
#    ones and change the first entry.
# 2. **How many steps until noise?** (about 15 minutes). For the DDPM schedule, find the first
#    $t$ at which the prior-matching KL of a digit drops below 0.01 nats. *Compare with* the KL
#    table of "Restriction 3", which brackets it. *Hint:* `dm.kl_to_standard_normal(x0[:1],
#    ab[t])` for every $t$, then `np.argmax` of a boolean array finds the first `True`.
# 3. **Variance preservation** (about 20 minutes). Start the chain from data with variance 4
#    instead of 1. What is the variance of $x_t$ after $t$ steps? Check with `q_step`.
#    *Compare with* your formula, as a $z$-score with the standard error of a sample variance,
#    $\mathrm{var}\sqrt{2/(n-1)}$. *Hint:* Eq. 69 holds for any $x_0$; take the variance of
#    both sides, with $x_0$ and $\epsilon$ independent.

# %% tags=["solution", "nbval-check-output"]
# Solution 1
c, s2 = np.sqrt(a).copy(), 1 - a
c[0], s2[0] = 0.9 * np.sqrt(a[0]), 1 - 0.8 * a[0]
almost = LinearGaussianHVAE(a, c, s2)
print(f"gap: {almost.log_px(1.3) - almost.elbo(1.3):.5f} nats "
      f"(all layers mismatched: {hvae.log_px(1.3) - hvae.elbo(1.3):.5f})")

# %% tags=["solution", "nbval-check-output"]
# Solution 2
kls = np.array([float(dm.kl_to_standard_normal(x0[:1], ab[t])[0]) for t in range(1000)])
print(f"first t with KL < 0.01 nats: {int(np.argmax(kls < 0.01)) + 1}")

# %% tags=["solution", "nbval-check-output"]
# Solution 3: Var(x_t) = abar_t * 4 + (1 - abar_t) = 1 + 3 abar_t.
x = 2.0 * jax.random.normal(jax.random.key(8), (200_000,))
for t in range(100):
    noise = jax.random.normal(jax.random.fold_in(jax.random.key(9), t), x.shape)
    x = dm.q_step(x, 1 - betas[t], noise)
var, predicted = float(x.var()), 1 + 3 * ab[99]
# the standard error of a Gaussian sample variance is var sqrt(2 / (n - 1))
print(f"after 100 steps: {var:.3f}, predicted {predicted:.3f} "
      f"(z = {(var - predicted) / (predicted * np.sqrt(2 / (len(x) - 1))):+.1f})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Quoted numbers and their sources
#
# Every other number in the text is printed by the code beside it. These are the papers'
# values, settings of the checks, and constants:
#
# | number | what it is | source |
# | --- | --- | --- |
# | 4.094 | $-\log_2(2\pi e)$, expected log-likelihood of $\mathcal N(0, I)$ in 2D, bits | `-log2(2 * pi * e)` |
# | 6.45 | their diffusion model's gain over an isotropic Gaussian on the swiss roll, bits | Sohl-Dickstein et al. 2015, Table 1 |
# | 2.35 | their bound on the swiss roll's log-likelihood, bits | Sohl-Dickstein et al. 2015, Table 1 |
# | 1.5 | the chain's starting point $x_0$ | setting: `x_start` |
# | 10^{-4} | DDPM's first $\beta_t$ | Ho et al. 2020; `dm.linear_betas` |
# | 0.02 | DDPM's last $\beta_t$ | Ho et al. 2020; `dm.linear_betas` |
# | 0.04 | spread of a standard deviation estimated from 300 values, $1/\sqrt{2 \cdot 300}$ | `1 / sqrt(600)` |
# | 0.8 | expected count of $|z| > 3$ among 300 standard normals | `300 * erfc(3 / sqrt(2))` |
# | 0.1 | twice the standard error of a mean of 400 unit-variance values | `2 / sqrt(400)` |
# | 2.4 | the threshold of the repetition test, the size of seed 1's miss | setting: the code below it |
# | 1.3 | the data point $x$ of the exact checks | setting: `x_obs` |
# | 0.01 | the KL threshold of exercise 2, nats | setting |
