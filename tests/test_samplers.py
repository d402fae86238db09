"""Samplers in distribution: on Gaussian data the exact denoiser E[x_0 | x_t] is known, so
every sampler's output law can be computed independently (each sampler is linear in its
noise there) and compared with its samples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from course_lib import diffusion as dm
from course_lib.diffusion import samplers

S2 = 0.25  # data x_0 ~ N(0, S2 I)
ALPHA_BAR = jnp.asarray(dm.alpha_bar(dm.linear_betas(1000)), jnp.float32)
AB = np.concatenate([[1.0], dm.alpha_bar(dm.linear_betas(1000))])  # float64, AB[t], t = 0..T


def exact_x0(x, t, s2=S2):
    """E[x_0 | x_t] for x_0 ~ N(0, s2 I): sqrt(ab) s2 / (ab s2 + 1 - ab) x_t."""
    ab = jnp.concatenate([jnp.ones(1), ALPHA_BAR])[t][:, None]
    return jnp.sqrt(ab) * s2 / (ab * s2 + 1 - ab) * x


def test_time_grid_and_its_validation():
    ts = np.asarray(samplers.time_grid(1000, 10))
    assert ts[0] == 1000 and ts[-1] == 1 and len(ts) == 10 and np.all(np.diff(ts) < 0)
    with pytest.raises(ValueError, match="steps must lie in 1..T"):
        samplers.time_grid(1000, 0)


def test_tweedie_score_is_the_score_of_the_noisy_marginal():
    """On N(0, s2) data p_t = N(0, ab s2 + 1 - ab): grad log p_t(x) = -x / (ab s2 + 1 - ab)."""
    x = jax.random.normal(jax.random.key(0), (5, 3))
    # float32: (sqrt(ab) x0_hat - x) / (1 - ab) cancels to 1 - ab = 1e-4 at t = 1
    for t, rtol in [(1, 1e-2), (10, 1e-3), (500, 1e-5), (1000, 1e-5)]:
        v = AB[t] * S2 + 1 - AB[t]
        np.testing.assert_allclose(samplers.score(exact_x0, ALPHA_BAR, x, t), -x / v, rtol=rtol)


def ddim_gain(steps, s2=S2):
    """DDIM is linear on Gaussian data: x_0 = gain x_T with gain the product over its steps of
    (sqrt(ab_s ab_t) s2 + sqrt((1 - ab_s)(1 - ab_t))) / (ab_t s2 + 1 - ab_t)."""
    ts = np.round(np.linspace(1000, 1, steps)).astype(int)
    gain = 1.0
    for t, s in zip(ts, [*ts[1:], 0]):
        gain *= ((np.sqrt(AB[s] * AB[t]) * s2 + np.sqrt((1 - AB[s]) * (1 - AB[t])))
                 / (AB[t] * s2 + 1 - AB[t]))
    return gain


@pytest.mark.parametrize("steps", [2, 10, 100, 1000])
def test_ddim_is_deterministic_and_exact_on_gaussian_data(steps):
    x_T = jax.random.normal(jax.random.key(1), (20_000, 1))
    x0 = np.asarray(samplers.ddim_sample(exact_x0, ALPHA_BAR, x_T, steps), np.float64)
    np.testing.assert_allclose(x0, ddim_gain(steps) * np.asarray(x_T), rtol=2e-4, atol=1e-6)
    se = S2 * np.sqrt(2 / len(x0))
    assert abs(x0.var() - ddim_gain(steps) ** 2) < 4 * se
    if steps == 1000:  # the full grid follows the probability-flow ODE: the data's variance
        assert abs(ddim_gain(steps) ** 2 - S2) < 0.01 * S2
    if steps == 2:  # coarse grids shrink it: the discretisation error DDIM pays
        assert ddim_gain(steps) ** 2 < 0.9 * S2


def test_langevin_reaches_its_known_stationary_variance():
    """ULA on N(0, v) with step h: stationary variance v / (1 - h / (2 v))."""
    v, h, n = 0.7, 0.2, 20_000

    def run(x, k):
        return samplers.langevin_step(lambda y: -y / v, x, k, h), None

    x, _ = jax.lax.scan(run, jnp.zeros(n), jax.random.split(jax.random.key(2), 300))
    expected = v / (1 - h / (2 * v))
    se = expected * np.sqrt(2 / n)
    assert abs(float(x.var()) - expected) < 4 * se, (float(x.var()), expected, se)


@pytest.mark.parametrize("snr", [0.1, 0.3])
def test_predictor_corrector_reaches_the_data_law_up_to_its_step_bias(snr):
    """Langevin with the exact score on N(0, S2) in 64 dimensions, run to equilibrium at the
    last level (the deviation shrinks by (1 - h/v)^2 per step). The step rule gives
    h = 2 snr^2 v, so the stationary variance is v / (1 - h / (2 v)) = v / (1 - snr^2);
    Tweedie's last step then scales it by (sqrt(ab_1) S2 / v_1)^2. Fails with a wrong noise
    scale (sqrt(h): half the variance) or with a step that depends on each example's x
    (Song et al.'s per-example rule: 8 % too large here). The statistical error of the
    variance of 256000 values is 0.28 %."""
    x_T = jax.random.normal(jax.random.key(3), (4000, 64))
    x0 = samplers.pc_sample(exact_x0, ALPHA_BAR, jax.random.key(4), x_T, steps=2,
                            corrector_steps=int(3 / snr**2), snr=snr, predictor="none")
    v_1 = AB[1] * S2 + 1 - AB[1]
    expected = (np.sqrt(AB[1]) * S2 / v_1) ** 2 * v_1 / (1 - snr**2)
    se = expected * np.sqrt(2 / x0.size)
    assert abs(float(x0.var()) - expected) < 4 * se, (float(x0.var()), expected, se)


def test_annealed_langevin_with_few_steps_lags_behind():
    """A demonstration of the failure the figure shows: 10 corrector steps per level cannot
    shrink the variance as fast as the levels fall; the predictor (DDIM) does most of that."""
    x_T = jax.random.normal(jax.random.key(3), (4000, 64))
    ratios = {p: float(samplers.pc_sample(exact_x0, ALPHA_BAR, jax.random.key(4), x_T, steps=100,
                                          corrector_steps=10, predictor=p).var()) / S2
              for p in ("none", "ddim")}
    assert ratios["none"] > 1.05 and abs(ratios["ddim"] - 1) < abs(ratios["none"] - 1)


def test_inpainting_follows_its_linear_gaussian_recursion():
    """2D data N(0, [[1, rho], [rho, 1]]), coordinate 0 observed at y. The replacement chain is
    linear-Gaussian, so the law of the unobserved coordinate can be propagated exactly (mean
    and covariance through each step); the samples must match it. It is not the true
    conditional N(rho y, 1 - rho^2): the test prints by how much the method misses it."""
    rho, y, n = 0.9, 1.0, 20_000
    sigma = np.array([[1, rho], [rho, 1]])
    ab_all = jnp.concatenate([jnp.ones(1), ALPHA_BAR])

    def x0_hat(x, t):
        ab = ab_all[t][:, None, None]
        gain = jnp.sqrt(ab) * sigma @ jnp.linalg.inv(ab * sigma + (1 - ab) * jnp.eye(2))
        return jnp.einsum("nij,nj->ni", gain, x)

    mask = jnp.array([1.0, 0.0])
    observed = jnp.array([y, 0.0])
    x_T = jax.random.normal(jax.random.key(5), (n, 2))
    x = np.asarray(samplers.inpaint(x0_hat, ALPHA_BAR, jax.random.key(6), x_T, observed, mask))
    assert np.all(x[:, 0] == y)

    m, c = np.zeros(2), np.eye(2)
    for t in range(1000, 0, -1):
        ab_t, ab_s = AB[t], AB[t - 1]
        a_t = ab_t / ab_s
        gain = np.sqrt(ab_t) * sigma @ np.linalg.inv(ab_t * sigma + (1 - ab_t) * np.eye(2))
        M = (np.sqrt(a_t) * (1 - ab_s) * np.eye(2) + np.sqrt(ab_s) * (1 - a_t) * gain) / (1 - ab_t)
        var = (1 - a_t) * (1 - ab_s) / (1 - ab_t)
        m, c = M @ m, M @ c @ M.T + var * np.eye(2)
        m[0], c[0, :], c[:, 0] = np.sqrt(ab_s) * y, 0.0, 0.0
        c[0, 0] = 1 - ab_s
    se_mean, se_var = np.sqrt(c[1, 1] / n), c[1, 1] * np.sqrt(2 / n)
    assert abs(x[:, 1].mean() - m[1]) < 4 * se_mean
    assert abs(x[:, 1].var() - c[1, 1]) < 4 * se_var
    print(f"replacement: mean {m[1]:.3f}, var {c[1, 1]:.3f}; "
          f"true conditional: {rho * y:.3f}, {1 - rho**2:.3f}")


def test_samplers_run_on_a_ddpm():
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=50, hidden=(16,)), rngs=nnx.Rngs(0))
    x_T = jax.random.normal(jax.random.key(7), (8, 2))
    ab = model.alpha_bar[...]
    for x in (samplers.ddim_sample(model.predict_x0, ab, x_T, 5),
              samplers.pc_sample(model.predict_x0, ab, jax.random.key(8), x_T, 5),
              samplers.inpaint(model.predict_x0, ab, jax.random.key(9), x_T, x_T,
                               jnp.array([1.0, 0.0]))):
        assert x.shape == (8, 2) and bool(jnp.all(jnp.isfinite(x)))


def test_inpainting_gives_the_observed_coordinates_the_noise_level_of_their_step():
    """The observed coordinates of the chain's state x_t must be draws from q(x_t | x_0 = y) =
    N(sqrt(ab_t) y, 1 - ab_t). Their final values are y whatever noise level the chain gave
    them, and with an exact denoiser the unobserved coordinates' final law moves by less
    than 0.3 standard errors at n = 20,000 when that level is wrong (halved or zero, computed
    with the recursion above), so the state is read where the denoiser sees it: a callback
    records x_t at a few steps, compared with q by z-scores (mean and variance, n draws)."""
    y, n, probes = np.array([1.5, -0.5]), 20_000, (900, 500, 100, 10)
    seen: dict[int, np.ndarray] = {}

    def record(x, t):
        t = int(np.asarray(t)[0])
        if t in probes:
            seen[t] = np.asarray(x)

    def x0_hat(x, t):
        jax.debug.callback(record, x, t)
        return exact_x0(x, t)

    mask = jnp.array([1.0, 1.0, 0.0])
    observed = jnp.array([*y, 0.0])
    x_T = jax.random.normal(jax.random.key(11), (n, 3))
    samplers.inpaint(x0_hat, ALPHA_BAR, jax.random.key(12), x_T, observed, mask)
    jax.effects_barrier()
    assert sorted(seen) == sorted(probes)
    for t in probes:
        # the state denoised at step t was made at step t + 1: q(x_t | y)
        obs = seen[t][:, :2]
        mean, var = np.sqrt(AB[t]) * y, 1 - AB[t]
        z_mean = (obs.mean(0) - mean) / np.sqrt(var / n)
        z_var = (obs.var(0) - var) / (var * np.sqrt(2 / n))
        print(f"t={t}: z mean {np.round(z_mean, 2)}, z var {np.round(z_var, 2)}")
        assert np.all(np.abs(z_mean) < 5) and np.all(np.abs(z_var) < 5), (t, z_mean, z_var)
