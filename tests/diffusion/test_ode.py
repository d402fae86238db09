"""The ODE log-likelihood (course_lib.diffusion.ode) against cases with a known answer:
Gaussian data, whose exact flow-matching velocity and exact VP score are closed forms, so the
likelihood through the ODE must equal the analytic log-density."""

import jax
import jax.numpy as jnp
import numpy as np

from course_lib.diffusion import ode
from course_lib.normal import normal_log_prob

MEAN, VAR = jnp.array([1.5, -0.5]), jnp.array([0.3, 2.0])  # x_0 ~ N(MEAN, diag(VAR))


def exact_log_prob(x):
    return np.asarray(normal_log_prob(x, MEAN, VAR).sum(-1))


def straight_path_velocity(x, t):
    """E[eps - x_0 | x_t = x] for x_t = (1 - t) x_0 + t eps: Gaussian conditioning."""
    var_t = (1 - t) ** 2 * VAR + t ** 2
    centred = x - (1 - t) * MEAN
    return t / var_t * centred - (MEAN + (1 - t) * VAR / var_t * centred)


def test_flow_likelihood_equals_the_gaussian_log_density():
    x = jax.random.normal(jax.random.key(0), (64, 2)) * 2.0
    got = np.asarray(ode.log_likelihood(straight_path_velocity, x, steps=100))
    np.testing.assert_allclose(got, exact_log_prob(x), atol=2e-4)


def test_flow_carries_noise_to_the_data_distribution():
    """Integrated backwards from N(0, I), the exact velocity gives samples of the data's
    mean and variance (4000 draws: tolerances of 4 standard errors)."""
    eps = jax.random.normal(jax.random.key(1), (4000, 2))
    x = np.asarray(ode.integrate(straight_path_velocity, eps, 1.0, 0.0, 100))
    se_mean = np.sqrt(np.asarray(VAR) / 4000)
    assert np.all(np.abs(x.mean(0) - np.asarray(MEAN)) < 4 * se_mean), x.mean(0)
    assert np.all(np.abs(x.var(0) / np.asarray(VAR) - 1) < 4 * np.sqrt(2 / 4000)), x.var(0)


def test_vp_probability_flow_with_the_exact_score_gives_the_log_density():
    """VP SDE with beta(t) = 0.1 + 19.9 t (Song et al.'s): alpha_t^2 = exp(-int beta), the
    marginal is N(alpha m, alpha^2 v + 1 - alpha^2), whose score is exact; at t = 1 the
    marginal is not exactly N(0, I), so the prior is the exact marginal there."""

    def log_alpha2(t):
        return -(0.1 * t + 19.9 * t ** 2 / 2)

    def marginal(t):
        a2 = jnp.exp(log_alpha2(t))
        return jnp.sqrt(a2) * MEAN, a2 * VAR + 1 - a2

    def score(x, t):
        mean, var = marginal(t)
        return -(x - mean) / var

    mean_1, var_1 = marginal(1.0)
    velocity = ode.vp_velocity(score, lambda t: 0.1 + 19.9 * t)
    x = MEAN + jnp.sqrt(VAR) * jax.random.normal(jax.random.key(2), (64, 2))
    got = ode.log_likelihood(velocity, x, steps=200,
                             prior_log_prob=lambda y: normal_log_prob(y, mean_1, var_1).sum(-1))
    np.testing.assert_allclose(np.asarray(got), exact_log_prob(x), atol=2e-4)


def test_a_wrong_divergence_is_caught():
    """The test above can fail: dropping the divergence (a plain change of variables without
    the Jacobian) misses the density by far more than the tolerance."""
    x = jax.random.normal(jax.random.key(0), (16, 2))
    y = ode.integrate(straight_path_velocity, x, 0.0, 1.0, 100)
    wrong = np.asarray(ode.standard_normal_log_prob(y))
    assert np.abs(wrong - exact_log_prob(x)).max() > 0.1


def test_vdm_probability_flow_with_the_exact_noise_prediction_gives_the_log_density():
    """VDM's flow (ode.vdm_velocity): a linear gamma(t) and, in place of the network, the exact
    E[eps | z_t] of Gaussian data; between t0 = 0 and t1 = 1 the ODE must carry the exact
    marginal N(alpha m, alpha^2 v + sigma^2) at t = 1 back to the one at t = 0."""
    from flax import nnx

    from course_lib import diffusion as dm

    model = dm.VDM(dm.VDMConfig(data_dim=2, hidden=(8,), learned_schedule=False),
                   rngs=nnx.Rngs(0))

    def marginal(g):
        a2, s2 = jax.nn.sigmoid(-g), jax.nn.sigmoid(g)
        return jnp.sqrt(a2) * MEAN, a2 * VAR + s2

    def exact_eps(z, g):
        mean, var = marginal(g[:, None])
        return jnp.sqrt(jax.nn.sigmoid(g))[:, None] * (z - mean) / var

    model.eps_hat = exact_eps
    g0, g1 = model.gamma(jnp.zeros(())), model.gamma(jnp.ones(()))
    mean_1, var_1 = marginal(g1)
    mean_0, var_0 = marginal(g0)
    x = MEAN + jnp.sqrt(VAR) * jax.random.normal(jax.random.key(4), (64, 2))
    got = ode.log_likelihood(ode.vdm_velocity(model), x, steps=200,
                             prior_log_prob=lambda y: normal_log_prob(y, mean_1, var_1).sum(-1))
    np.testing.assert_allclose(np.asarray(got),
                               np.asarray(normal_log_prob(x, mean_0, var_0).sum(-1)), atol=2e-4)


def _gaussian_marginal(g):
    a2, s2 = jax.nn.sigmoid(-g), jax.nn.sigmoid(g)
    return jnp.sqrt(a2) * MEAN, a2 * VAR + s2


def test_ddpm_reads_its_own_steps_at_their_integer_times():
    """DDPM.log_snr_between_steps: at each step's -log SNR the continuous time is that step,
    so eps_hat(z, gamma_t) is the network at t, as predict() uses it, whatever it predicts."""
    from flax import nnx

    from course_lib import diffusion as dm

    for p in ("noise", "x0", "score"):
        model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=40, beta_1=1e-3, beta_T=0.3, hidden=(16,),
                                      parameterization=p, learn_variance=True),
                        rngs=nnx.Rngs(0))
        ab = np.asarray(model.alpha_bar[...], np.float64)
        g = jnp.asarray(np.log1p(-ab) - np.log(ab), jnp.float32)
        np.testing.assert_allclose(np.asarray(model.log_snr_between_steps(g)), np.arange(1, 41),
                                   atol=2e-3)
        t = jnp.array([1, 7, 20, 40])
        z = jax.random.normal(jax.random.key(5), (4, 2))
        x0 = model.predict_x0(z, t)
        a, s = jnp.sqrt(ab[t - 1])[:, None], jnp.sqrt(1 - ab[t - 1])[:, None]
        np.testing.assert_allclose(np.asarray(model.eps_hat(z, g[t - 1])),
                                   np.asarray((z - a * x0) / s), rtol=2e-3, atol=2e-3)


def test_ddpm_probability_flow_with_the_exact_noise_prediction_gives_the_log_density():
    """ode.ddpm_velocity's schedule: gamma from gamma_0 to the last step's; with the exact
    E[eps | z] of Gaussian data in place of the network, the flow carries the exact marginal
    at the last step back to the one at gamma_0."""
    from flax import nnx

    from course_lib import diffusion as dm

    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=40, beta_1=1e-3, beta_T=0.3, hidden=(8,)),
                    rngs=nnx.Rngs(0))

    def exact_eps(z, g):
        mean, var = _gaussian_marginal(g[:, None])
        return jnp.sqrt(jax.nn.sigmoid(g))[:, None] * (z - mean) / var

    model.eps_hat = exact_eps
    mean_T, var_T = _gaussian_marginal(model.gamma_T())
    mean_0, var_0 = _gaussian_marginal(jnp.float32(-8.0))
    x = MEAN + jnp.sqrt(VAR) * jax.random.normal(jax.random.key(6), (64, 2))
    got = ode.log_likelihood(ode.ddpm_velocity(model, gamma_0=-8.0), x, steps=200,
                             prior_log_prob=lambda y: normal_log_prob(y, mean_T, var_T).sum(-1))
    np.testing.assert_allclose(np.asarray(got),
                               np.asarray(normal_log_prob(x, mean_0, var_0).sum(-1)), atol=2e-4)


def test_divergence_is_the_trace_of_a_full_jacobian():
    """The Gaussians above have diagonal Jacobians, where the sum of all entries is also the
    trace: a velocity that mixes the coordinates (3-D, not symmetric, not linear) tells the
    trace from that sum, and each row's from its neighbours'. Checked against the Jacobian
    of each row on its own, and v against the velocity itself."""
    A = jax.random.normal(jax.random.key(3), (3, 3))

    def velocity(x, t):
        return jnp.tanh(x @ A) * (1.0 + t) + x[:, ::-1] ** 2

    x = jax.random.normal(jax.random.key(4), (5, 3))
    v, div = ode.value_and_divergence(velocity, x, 0.5)
    one_by_one = [jnp.trace(jax.jacfwd(lambda y: velocity(y[None], 0.5)[0])(xi)) for xi in x]
    np.testing.assert_allclose(np.asarray(div), np.asarray(one_by_one), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(v), np.asarray(velocity(x, 0.5)), rtol=1e-6)
