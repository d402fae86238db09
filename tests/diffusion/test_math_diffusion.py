"""The diffusion models' ELBO and samplers, pinned with an exact denoiser on Gaussian data.

For data x_0 ~ N(0, s^2) the best denoiser is known in closed form,
E[x_0 | x_t] = s^2 sqrt(abar_t) / (abar_t s^2 + 1 - abar_t) x_t, and a DDPM that uses it is a
one-dimensional linear-Gaussian hierarchical VAE: p(x_{t-1} | x_t) = N(c_t x_t, s_t^2) with
c_t from Eq. 84 at x_0 = E[x_0 | x_t]. Its ELBO is then exact (course_lib.theory.hvae, checked
there against log p(x) - KL), so the DDPM's Monte-Carlo bound must average to it, and its
ancestral sampler must produce a Gaussian whose variance follows from the c_t and s_t^2.
The same holds for the VDM with E[eps | z_t] in continuous time, by quadrature over gamma.

The schedules here are computed by this file from the betas, never read from the model, so
that a model reading alpha_bar_{t-1} one index off, or storing a wrong beta_tilde, disagrees.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from course_lib import diffusion as dm
from course_lib.theory.hvae import LinearGaussianHVAE

DATA_VAR = 0.5  # s^2 of the Gaussian data


def elbo_terms(model, x, key) -> dict:
    """The negative ELBO's terms (dm.ELBOTerms) by name, per example."""
    terms = model.elbo_terms(x, key)
    return {k: getattr(terms, k) for k in ("reconstruction", "prior", "diffusion")}
T = 10
BETA_1, BETA_T = 0.05, 0.5  # few, large steps: every term of the bound is O(0.1) nats


def schedule():
    betas = np.linspace(BETA_1, BETA_T, T)
    ab = np.cumprod(1 - betas)
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    beta_tilde = betas * (1 - ab_prev) / (1 - ab)
    return betas, ab, ab_prev, beta_tilde


def denoiser_gain(ab):
    """k_t in E[x_0 | x_t] = k_t x_t for x_0 ~ N(0, s^2)."""
    return DATA_VAR * np.sqrt(ab) / (ab * DATA_VAR + 1 - ab)


class ExactDenoiserDDPM(dm.DDPM):
    """A DDPM whose prediction of x_0 is E[x_0 | x_t], from this file's own schedule; with
    ``v`` set, the learned-variance interpolation weight is the constant v."""

    def __init__(self, config, v=None):
        super().__init__(config, rngs=nnx.Rngs(0))
        self.gain = tuple(float(k) for k in denoiser_gain(schedule()[1]))
        self.v = v

    def predict(self, x_t, t):
        x0_hat = jnp.asarray(self.gain, jnp.float32)[t - 1][:, None] * x_t
        return x0_hat, (None if self.v is None else jnp.full_like(x_t, self.v))


def make_ddpm(v=None):
    cfg = dm.DDPMConfig(data_dim=1, T=T, beta_1=BETA_1, beta_T=BETA_T, hidden=(4,),
                        learn_variance=v is not None, loss="elbo")
    return ExactDenoiserDDPM(cfg, v)


def reference_hvae(v=None) -> LinearGaussianHVAE:
    """The linear-Gaussian HVAE that the exact-denoiser DDPM is, built from Eq. 84."""
    betas, ab, ab_prev, beta_tilde = schedule()
    a, k = 1 - betas, denoiser_gain(ab)
    # posterior mean = A_t x_t + B_t x_0 (Eq. 84), at x_0 = k_t x_t
    A = np.sqrt(a) * (1 - ab_prev) / (1 - ab)
    B = np.sqrt(ab_prev) * (1 - a) / (1 - ab)
    c = A + B * k  # at t = 1: A = 0, B = 1, so c_1 = k_1 (the reconstruction's mean)
    if v is None:
        s2 = beta_tilde.copy()
        s2[0] = 1 - ab[0]  # the continuous decoder p(x_0 | x_1) has variance 1 - abar_1
    else:  # learned: log s^2 = v log beta + (1 - v) log beta_tilde, beta_tilde_1 := beta_tilde_2
        bt = beta_tilde.copy()
        bt[0] = bt[1]
        s2 = np.exp(v * np.log(betas) + (1 - v) * np.log(bt))
    return LinearGaussianHVAE(a, c, s2)


@pytest.mark.parametrize("v", [None, 0.3], ids=["fixed_variance", "learned_variance"])
@pytest.mark.parametrize("x", [0.0, 1.1])
def test_ddpm_bound_averages_to_the_exact_elbo(x, v):
    """E[-ELBO(x)] of the DDPM's estimator (one t and one noise draw per example) equals the
    exact -ELBO of the equivalent HVAE. Tolerance: 5 standard errors of the mean over
    n = 4 x 50k independent draws (about 0.005 nats here), against the 0.1 - 1 nat changes
    that a wrong alpha_bar_{t-1}, beta_tilde, prior KL or Gaussian KL makes."""
    model = make_ddpm(v)
    x0 = jnp.full((50_000, 1), x)
    nelbo = jax.jit(lambda k: dm.negative_elbo(model, x0, k))
    draws = np.concatenate([np.asarray(nelbo(jax.random.key(i))) for i in range(4)])
    exact = -reference_hvae(v).elbo(x)
    se = draws.std() / np.sqrt(len(draws))
    assert abs(draws.mean() - exact) < 5 * se, (draws.mean(), exact, se)
    # and the bound is a bound: never below -log p(x) of that model
    assert exact > -reference_hvae(v).log_px(x)


def test_ddpm_terms_one_by_one():
    """The prior term is the exact KL(q(x_T | x_0) || N(0, 1)), the same for every draw; the
    reconstruction's mean is E_{x_1}[-log N(x_0; k_1 x_1, 1 - abar_1)] in closed form."""
    betas, ab, _, _ = schedule()
    model, x = make_ddpm(), 0.9
    terms = elbo_terms(model, jnp.full((100_000, 1), x), jax.random.key(1))
    prior = 0.5 * (ab[-1] * x**2 + (1 - ab[-1]) - 1 - np.log(1 - ab[-1]))
    np.testing.assert_allclose(np.asarray(terms["prior"]), prior, rtol=1e-5)
    k1, var1 = denoiser_gain(ab[0]), 1 - ab[0]
    # x_1 = sqrt(abar_1) x + sqrt(1 - abar_1) eps; residual x - k1 x_1 has mean m, var w
    m, w = x * (1 - k1 * np.sqrt(ab[0])), k1**2 * (1 - ab[0])
    recon = 0.5 * np.log(2 * np.pi * var1) + (m**2 + w) / (2 * var1)
    r = np.asarray(terms["reconstruction"])
    assert abs(r.mean() - recon) < 5 * r.std() / np.sqrt(len(r))


def test_reverse_step_is_eq84_at_the_predicted_x0_with_beta_tilde():
    """p(x_{t-1} | x_t) at every t against Eq. 84 evaluated here: the mean with alpha_bar_t
    and alpha_bar_{t-1} from this file's schedule, the variance beta_tilde_t (beta_tilde_2
    standing in at t = 1, where beta_tilde_1 = 0)."""
    betas, ab, ab_prev, beta_tilde = schedule()
    model = make_ddpm()
    t = jnp.arange(1, T + 1)
    x_t = jnp.linspace(-2, 2, T)[:, None]
    mean, var = model.p_mean_var(x_t, t)
    k = denoiser_gain(ab)
    expected = ((np.sqrt(1 - betas) * (1 - ab_prev) + np.sqrt(ab_prev) * betas * k)
                / (1 - ab) * np.asarray(x_t)[:, 0])
    np.testing.assert_allclose(np.asarray(mean)[:, 0], expected, rtol=1e-5, atol=1e-6)
    bt = beta_tilde.copy()
    bt[0] = bt[1]
    np.testing.assert_allclose(np.asarray(var)[:, 0], bt, rtol=1e-5)
    # learned variances interpolate log-linearly between beta_tilde_t and beta_t
    learned = make_ddpm(v=0.3)
    _, var_v = learned.p_mean_var(x_t, t)
    np.testing.assert_allclose(np.asarray(var_v)[:, 0],
                               np.exp(0.3 * np.log(betas) + 0.7 * np.log(bt)), rtol=1e-5)


def ddpm_sampler_variance(model_hvae: LinearGaussianHVAE) -> float:
    """Var x_0 of ancestral sampling x_T ~ N(0, 1), x_{t-1} = c_t x_t + s_t z (t >= 2), and
    x_0 = c_1 x_1 without noise (DDPM's last step returns the mean)."""
    var = 1.0
    for t in range(T, 1, -1):
        var = model_hvae.c[t - 1] ** 2 * var + model_hvae.s2[t - 1]
    return model_hvae.c[0] ** 2 * var


def test_ddpm_sampler_in_distribution_with_the_exact_denoiser():
    """n = 200k samples: their mean is 0 within 5 sqrt(V/n) and their variance is the
    predicted V within 5 sqrt(2/n) = 1.6 % relative (the sample variance of a Gaussian has
    relative standard error sqrt(2/n))."""
    n = 200_000
    x = np.asarray(make_ddpm().sample(jax.random.key(3), n))[:, 0]
    V = ddpm_sampler_variance(reference_hvae())
    assert abs(x.mean()) < 5 * np.sqrt(V / n)
    assert abs(x.var() / V - 1) < 5 * np.sqrt(2 / n)
    # the chain's first state is N(0, 1) and its length is T + 1
    _, chain = make_ddpm().sample(jax.random.key(4), 1000, return_chain=True)
    assert chain.shape == (T + 1, 1000, 1)
    assert abs(float(chain[0].var()) - 1) < 5 * np.sqrt(2 / 1000)


# ------------------------------------------------------------------------------------ VDM


class ExactDenoiserVDM(dm.VDM):
    """A VDM (fixed linear gamma) whose noise prediction is E[eps | z_t] for x ~ N(0, s^2):
    z = alpha x + sigma eps, so E[eps | z] = sigma / (alpha^2 s^2 + sigma^2) z."""

    def eps_hat(self, z, g):
        alpha2, sigma2 = jax.nn.sigmoid(-g)[:, None], jax.nn.sigmoid(g)[:, None]
        return jnp.sqrt(sigma2) / (alpha2 * DATA_VAR + sigma2) * z


GAMMA_MIN, GAMMA_MAX = -8.0, 4.0


def make_vdm():
    cfg = dm.VDMConfig(data_dim=1, hidden=(4,), learned_schedule=False, gamma_min=GAMMA_MIN,
                       gamma_max=GAMMA_MAX)
    return ExactDenoiserVDM(cfg, rngs=nnx.Rngs(0))


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def vdm_exact_nelbo(x: float) -> float:
    """-ELBO(x) of the exact-denoiser VDM, term by term (Kingma et al. 2021, Eq. 11, 17):
    diffusion 1/2 int gamma'(t) E||eps - eps_hat||^2 dt (by quadrature over gamma), prior
    KL(N(alpha_1 x, sigma_1^2) || N(0, 1)), reconstruction E -log N(x; z_0/alpha_0,
    sigma_0^2/alpha_0^2)."""
    g = np.linspace(GAMMA_MIN, GAMMA_MAX, 200_001)
    alpha2, sigma2 = sigmoid(-g), sigmoid(g)
    kappa = np.sqrt(sigma2) / (alpha2 * DATA_VAR + sigma2)
    # eps - kappa (alpha x + sigma eps) = (1 - kappa sigma) eps - kappa alpha x
    mse = (1 - kappa * np.sqrt(sigma2)) ** 2 + kappa**2 * alpha2 * x**2
    diffusion = 0.5 * np.trapezoid(mse, g)
    s1 = sigmoid(GAMMA_MAX)
    prior = 0.5 * ((1 - s1) * x**2 + s1 - 1 - np.log(s1))
    var0 = sigmoid(GAMMA_MIN) / sigmoid(-GAMMA_MIN)
    reconstruction = 0.5 * np.log(2 * np.pi * var0) + 0.5
    return diffusion + prior + reconstruction


@pytest.mark.parametrize("x", [0.0, 1.3])
def test_vdm_bound_averages_to_its_continuous_time_value(x):
    """The VDM's estimator (antithetic t, one eps per example) against the quadrature;
    5 standard errors of the mean of 200k draws (the antithetic times make the per-draw
    spread an overestimate of the error of the mean: the test is conservative)."""
    model = make_vdm()
    x0 = jnp.full((100_000, 1), x)
    nelbo = jax.jit(lambda k: dm.negative_elbo(model, x0, k))
    draws = np.concatenate([np.asarray(nelbo(jax.random.key(i))) for i in range(2)])
    exact = vdm_exact_nelbo(x)
    assert abs(draws.mean() - exact) < 5 * draws.std() / np.sqrt(len(draws))


def test_vdm_bound_is_never_below_the_data_entropy():
    """For one x the bound may dip below -log N(x; 0, s^2) (it bounds the model's own
    marginal, not the data's), but averaged over x ~ N(0, s^2) it is a cross-entropy bound:
    E[-ELBO] >= E[-log p_model] >= H = 1/2 log(2 pi e s^2). -ELBO(x) is quadratic in x here,
    so its mean is f(0) + (f(1) - f(0)) s^2 exactly."""
    f0, f1 = vdm_exact_nelbo(0.0), vdm_exact_nelbo(1.0)
    entropy = 0.5 * np.log(2 * np.pi * np.e * DATA_VAR)
    mean_bound = f0 + (f1 - f0) * DATA_VAR
    # the gap is what the finite gamma range costs: small, but not negative
    assert 0 < mean_bound - entropy < 0.05, (mean_bound, entropy)


def test_vdm_terms_at_their_closed_forms():
    model, x = make_vdm(), 0.8
    terms = elbo_terms(model, jnp.full((1000, 1), x), jax.random.key(0))
    s1 = sigmoid(GAMMA_MAX)
    np.testing.assert_allclose(np.asarray(terms["prior"]),
                               0.5 * ((1 - s1) * x**2 + s1 - 1 - math.log(s1)), rtol=1e-4)
    # the diffusion weight is gamma'(t) = gamma_max - gamma_min: with eps_hat = 0 the term is
    # 1/2 gamma' ||eps||^2, mean 1/2 gamma' per dimension
    zero = make_vdm()
    zero.eps_hat = lambda z, g: jnp.zeros_like(z)
    d = np.asarray(elbo_terms(zero, jnp.full((200_000, 1), x), jax.random.key(1))["diffusion"])
    half_gamma_prime = 0.5 * (GAMMA_MAX - GAMMA_MIN)
    # ||eps||^2 ~ chi^2_1: mean 1, std sqrt(2)
    assert abs(d.mean() / half_gamma_prime - 1) < 5 * np.sqrt(2 / len(d))


def test_vdm_sampler_in_distribution_with_the_exact_denoiser():
    """1000 ancestral steps with E[eps | z_t]: the samples are N(0, s^2) up to the sampler's
    discretisation (each step leaves out the posterior's Var[x | z_t] term, a deficit that
    shrinks with the step size); 5 sqrt(2/n) statistical + 1 % for the discretisation."""
    n = 100_000
    x = np.asarray(make_vdm().sample(jax.random.key(5), n, steps=1000))[:, 0]
    assert abs(x.mean()) < 5 * np.sqrt(DATA_VAR / n)
    assert abs(x.var() / DATA_VAR - 1) < 5 * np.sqrt(2 / n) + 0.01


# ----------------------------------------------------------------- the discretised decoder


def level_probabilities(mean, std, levels, lo=-1.0, hi=1.0):
    """P(level k) = Phi(upper_k) - Phi(lower_k), bins of width (hi - lo)/(levels - 1)
    centred on the levels, the outer two extended to -inf and +inf (Ho et al. 2020, Eq. 13);
    math.erf in float64, independent of the library's ndtr."""
    v = np.linspace(lo, hi, levels)
    half = (hi - lo) / (levels - 1) / 2
    cdf = lambda u: 0.5 * (1 + math.erf((u - mean) / (std * math.sqrt(2))))
    return np.array([(1.0 if k == levels - 1 else cdf(v[k] + half))
                     - (0.0 if k == 0 else cdf(v[k] - half)) for k in range(levels)])


@pytest.mark.parametrize("levels", [2, 17, 256])
def test_decoder_puts_all_mass_on_the_level_a_narrow_gaussian_sits_on(levels):
    """std = a tenth of the half-bin: the mass outside the centre bin is 2 Phi(-10) ~ 1e-23,
    so log P(centre) = 0 to float32 rounding; a shift of half a bin would give log 1/2."""
    v = np.linspace(-1, 1, levels)
    half = 1 / (levels - 1)
    for k in sorted({0, 1, levels // 2, levels - 1}):
        log_p = np.asarray(dm.discretized_gaussian_log_prob(jnp.asarray(v), v[k], half / 10,
                                                            levels))
        assert log_p[k] == pytest.approx(0.0, abs=1e-5)
        assert np.all(np.delete(log_p, k) < -20)


@pytest.mark.parametrize("levels", [2, 17])
def test_decoder_splits_mass_between_two_levels(levels):
    """A narrow Gaussian centred halfway between two levels gives each half its mass."""
    v = np.linspace(-1, 1, levels)
    half = 1 / (levels - 1)
    k = levels // 2 - 1
    log_p = np.asarray(dm.discretized_gaussian_log_prob(jnp.asarray(v), v[k] + half, half / 10,
                                                        levels))
    np.testing.assert_allclose(log_p[[k, k + 1]], np.log(0.5), atol=1e-5)


@pytest.mark.parametrize("mean,std", [(0.13, 0.2), (-0.9, 0.05), (1.4, 0.5), (0.0, 2.0)])
def test_decoder_against_the_normal_cdf_over_every_bin(mean, std):
    levels = 17
    v = jnp.linspace(-1, 1, levels)
    got = np.exp(np.asarray(dm.discretized_gaussian_log_prob(v, mean, std, levels)))
    expected = level_probabilities(mean, std, levels)
    # float32 cdf differences: absolute error ~1e-7 per probability
    np.testing.assert_allclose(got, np.maximum(expected, 1e-12), atol=2e-6)
    # on another value range too (the bin width follows lo and hi)
    v2 = jnp.linspace(0, 4, 5)
    got2 = np.exp(np.asarray(dm.discretized_gaussian_log_prob(v2, 2.3, 0.7, 5, lo=0.0, hi=4.0)))
    np.testing.assert_allclose(got2, level_probabilities(2.3, 0.7, 5, 0.0, 4.0), atol=2e-6)


def test_vdm_reconstruction_of_quantised_data_is_the_posterior_over_the_levels():
    """For data on L levels v_k in [-1, 1], -log p(x | z_0) is the softmax over the levels of
    -(z_0 - alpha_0 v_k)^2 / (2 sigma_0^2) (uniform prior on the levels), z_0 = alpha_0 x +
    sigma_0 eps. With gamma_min = 0 (alpha_0^2 = sigma_0^2 = 1/2) the levels overlap and the
    term is O(1); its mean over 200k examples against a float64 Monte Carlo of the same
    formula, 5 standard errors of the two means' difference."""
    levels, g0 = 5, 0.0
    cfg = dm.VDMConfig(data_dim=1, hidden=(4,), learned_schedule=False, gamma_min=g0,
                       gamma_max=4.0, levels=levels)
    model = dm.VDM(cfg, rngs=nnx.Rngs(0))
    v = np.linspace(-1, 1, levels)
    n = 200_000
    for k in (0, 1, 2):
        got = np.asarray(elbo_terms(model, jnp.full((n, 1), v[k]), jax.random.key(k))[
            "reconstruction"])
        alpha, sigma = np.sqrt(sigmoid(-g0)), np.sqrt(sigmoid(g0))
        z = alpha * v[k] + sigma * np.random.default_rng(k).standard_normal(n)
        logits = -((z[:, None] - alpha * v) ** 2) / (2 * sigma**2)
        ref = -(logits[:, k] - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1))
                - logits.max(1))
        se = np.sqrt(got.var() / n + ref.var() / n)
        assert abs(got.mean() - ref.mean()) < 5 * se, (k, got.mean(), ref.mean(), se)
    # the levels' values are those of the data: L evenly spaced in [-1, 1]
    np.testing.assert_allclose(np.asarray(dm.bin_centres(levels)), v, atol=1e-7)


# ------------------------------------------------------------- schedules at their boundaries


def test_schedules_accept_and_refuse_exactly_at_their_boundaries():
    """T = 1 is a diffusion (one step), T = 0 is not; beta = 1 (the data forgotten in one
    step, alpha = 0) and beta = 0 (no noise) are refused; an SNR that stays equal between
    two steps is refused as firmly as one that rises, and the message names the step."""
    assert dm.linear_betas(1, 0.3, 0.3).tolist() == [0.3]
    assert len(dm.cosine_betas(1)) == 1 and 0 < dm.cosine_betas(1)[0] < 1
    for bad in ([0.1, 1.0], [0.0, 0.5], []):
        with pytest.raises(ValueError):
            dm.check_betas(bad)
    with pytest.raises(ValueError, match="rises at t = 3"):
        dm.check_snr_decreasing(np.array([0.9, 0.5, 0.6]))
    with pytest.raises(ValueError, match="rises at t = 3"):
        dm.check_snr_decreasing(np.array([0.9, 0.5, 0.5]))
    dm.check_snr_decreasing(np.array([0.9, 0.5, 0.4]))  # strictly falling: accepted
    # cosine: the last beta is clipped to max_beta (alpha_bar_T would be 0 exactly)
    assert dm.cosine_betas(100)[-1] == pytest.approx(0.999)
    assert dm.cosine_betas(100, max_beta=0.9)[-1] == pytest.approx(0.9)


def test_alpha_bar_snr_and_gamma_by_hand():
    """Two steps with beta = 0.2, 0.5: alpha_bar = 0.8, 0.4; SNR = 4, 2/3; gamma = -log SNR."""
    ab = dm.alpha_bar([0.2, 0.5])
    np.testing.assert_allclose(ab, [0.8, 0.4], rtol=1e-12)
    np.testing.assert_allclose(dm.snr(ab), [4.0, 2 / 3], rtol=1e-12)
    np.testing.assert_allclose(dm.gamma_from_alpha_bar(ab), [-np.log(4.0), np.log(1.5)],
                               rtol=1e-12)
    # the papers' defaults: T = 1000 (Ho et al.; Nichol and Dhariwal), beta 1e-4 to 0.02
    assert len(dm.cosine_betas()) == 1000 and len(dm.linear_betas()) == 1000
    assert dm.linear_betas()[[0, -1]].tolist() == pytest.approx([1e-4, 0.02])
    g = dm.LinearGamma(-2.0, 3.0)
    assert [float(g(t)) for t in (0.0, 0.5, 1.0)] == pytest.approx([-2.0, 0.5, 3.0])


# ----------------------------------------------------------------- binomial diffusion (2015)


class ConstantBeliefBinomial(dm.BinomialDiffusion):
    """Binomial diffusion whose belief P(x_0 = 1 | x_t) is the constant PI, whatever x_t."""

    def x0_logit(self, x_t, t, condition=None):
        return jnp.full_like(x_t, np.log(PI / (1 - PI)))


PI, T_BIN, P_T = 0.3, 6, 0.2


def binomial_exact_nelbo(x0: int) -> float:
    """-ELBO of one bit x0 under ConstantBeliefBinomial, by enumeration: beta_t = 1/(T-t+1),
    q(x_t = 1 | x_0) = abar_t x_0 + (1 - abar_t) p_T with abar_t = 1 - t/T; the posterior
    q(x_{t-1} | x_t, x_0) by Bayes' rule from the one-step kernel q(x_t = 1 | x_{t-1}) =
    x_{t-1}(1 - beta_t) + p_T beta_t; p(x_{t-1} = 1 | x_t) = sum_{x0'} q(. | x_t, x0') pi(x0')."""
    def q1(x, t):  # q(x_t = 1 | x_0 = x)
        ab = 1 - t / T_BIN
        return ab * x + (1 - ab) * P_T

    def kernel(x_t, x_prev, t):  # q(x_t | x_{t-1})
        beta = 1 / (T_BIN - t + 1)
        p1 = x_prev * (1 - beta) + P_T * beta
        return p1 if x_t == 1 else 1 - p1

    def posterior1(x_t, x, t):  # q(x_{t-1} = 1 | x_t, x_0 = x)
        a = q1(x, t - 1) * kernel(x_t, 1, t)
        return a / (a + (1 - q1(x, t - 1)) * kernel(x_t, 0, t))

    def kl(q, p):
        return q * np.log(q / p) + (1 - q) * np.log((1 - q) / (1 - p))

    total = 0.0
    for t in range(2, T_BIN + 1):
        for x_t in (0, 1):
            w = q1(x0, t) if x_t == 1 else 1 - q1(x0, t)
            p = PI * posterior1(x_t, 1, t) + (1 - PI) * posterior1(x_t, 0, t)
            total += w * kl(posterior1(x_t, x0, t), p)
    # reconstruction: -log p(x_0 | x_1) with p(x_0 = 1 | x_1) = PI whatever x_1
    return total - np.log(PI if x0 == 1 else 1 - PI)


@pytest.mark.parametrize("x0", [0, 1])
def test_binomial_bound_against_enumeration(x0):
    """The estimator draws one t in 2..T and one x_t per example and weights its KL by T - 1;
    its mean over 200k examples against the enumeration, 5 standard errors."""
    model = ConstantBeliefBinomial(dm.BinomialConfig(data_dim=1, T=T_BIN, p_T=P_T,
                                                     hidden=(4,)), rngs=nnx.Rngs(0))
    draws = np.asarray(dm.negative_elbo(model, jnp.full((200_000, 1), float(x0)),
                                        jax.random.key(x0)))
    exact = binomial_exact_nelbo(x0)
    assert abs(draws.mean() - exact) < 5 * draws.std() / np.sqrt(len(draws)), (
        draws.mean(), exact)
    assert np.all(elbo_terms(model, jnp.full((4, 1), float(x0)), jax.random.key(0))["prior"]
                  == 0)


def test_binomial_reconstruction_stays_finite_when_the_belief_is_certain():
    """-log p(x_0 | x_1) is computed from the denoiser's logit f as log(1 + exp(-+f)), not as
    the log of a rounded sigmoid: a bit the model is sure of (|f| = 40, sigmoid(f) = 1 in
    float32) but wrong about costs |f| nats, finite; one it is right about costs exp(-|f|)."""
    for logit, x0, cost in [(40.0, 0.0, 40.0), (40.0, 1.0, np.exp(-40.0)),
                            (-40.0, 1.0, 40.0), (-40.0, 0.0, np.exp(-40.0))]:
        model = ConstantBeliefBinomial(dm.BinomialConfig(data_dim=1, T=T_BIN, p_T=P_T,
                                                         hidden=(4,)), rngs=nnx.Rngs(0))
        model.x0_logit = lambda x_t, t, condition=None, f=logit: jnp.full_like(x_t, f)
        r = np.asarray(elbo_terms(model, jnp.full((8, 1), x0), jax.random.key(0))[
            "reconstruction"])
        np.testing.assert_allclose(r, cost, rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("learn_variance", [False, True])
def test_ddpm_network_predicts_one_value_per_dimension(learn_variance):
    """The network's x_0 prediction has the data's shape (and, with learned variances, one
    interpolation weight per dimension in [0, 1])."""
    cfg = dm.DDPMConfig(data_dim=3, T=10, hidden=(8,), learn_variance=learn_variance)
    x0_hat, v = dm.DDPM(cfg, rngs=nnx.Rngs(0)).predict(jnp.ones((5, 3)), jnp.arange(1, 6))
    assert x0_hat.shape == (5, 3)
    assert (v is None) if not learn_variance else (v.shape == (5, 3) and
                                                   bool(jnp.all((v >= 0) & (v <= 1))))


def test_linear_gamma_defaults_are_vdm_s():
    """VDM's fixed schedule runs from gamma_min = -13.3 to gamma_max = 5 (Kingma et al. 2021)."""
    g = dm.LinearGamma()
    assert [float(g(0.0)), float(g(1.0))] == pytest.approx([-13.3, 5.0])


def test_literal_consistency_form_averages_to_its_gaussian_expectation():
    """Luo's Eq. 45 taken literally (course_lib.theory.hvae.consistency_kl_form) is not the
    ELBO, but it is a definite number: each KL is quadratic in the chain (h_{t-1}, h_{t+1}),
    whose mean and covariance under q(. | x) are exact (encoder_posterior), so its expectation
    is exact too. Monte-Carlo mean of 100k chains against it, 5 standard errors."""
    a = np.linspace(0.95, 0.6, 6)
    model, x = LinearGaussianHVAE(a, np.sqrt(a) * 0.9, 1 - a * 0.8), 0.8
    T = len(a)
    m, S = model.encoder_posterior(x)
    mean = np.concatenate([[x], m])  # h_0 = x, then h_1..h_T
    cov = np.zeros((T + 1, T + 1))
    cov[1:, 1:] = S

    def expected_kl(u, v_q, w, v_p):  # E KL(N(u . h, v_q) || N(w . h, v_p)), h ~ (mean, cov)
        d = u - w
        e2 = (d @ mean) ** 2 + d @ cov @ d
        return 0.5 * (np.log(v_p / v_q) + (v_q + e2) / v_p - 1)

    e = np.zeros(T + 1)
    exact = -0.5 * np.log(2 * np.pi * model.s2[0])
    u = np.zeros(T + 1)
    u[0], u[1] = 1.0, -model.c[0]
    exact -= ((u @ mean) ** 2 + u @ cov @ u) / (2 * model.s2[0])
    e[T - 1] = np.sqrt(a[T - 1])
    exact -= expected_kl(e, 1 - a[T - 1], np.zeros(T + 1), 1.0)
    for t in range(1, T):
        uq, wp = np.zeros(T + 1), np.zeros(T + 1)
        uq[t - 1], wp[t + 1] = np.sqrt(a[t - 1]), model.c[t]
        exact -= expected_kl(uq, 1 - a[t - 1], wp, model.s2[t])
    draws = model.consistency_kl_form(x, 100_000, np.random.default_rng(0))
    assert abs(draws.mean() - exact) < 5 * draws.std() / np.sqrt(len(draws)), (
        draws.mean(), exact)
