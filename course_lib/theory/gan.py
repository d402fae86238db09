"""Exact values for the GAN theory of the lecture, for densities we can write down.

With p_r and p_g known on a grid, every quantity of Goodfellow et al. (2014) is an integral
that the trapezoidal rule computes to many digits:

    D*(x)       = p_r(x) / (p_r(x) + p_g(x))                              (Prop. 1)
    V(G, D)     = int p_r log D + p_g log(1 - D) dx
    C(G)        = V(G, D*) = -log 4 + 2 JSD(p_r || p_g)                    (Thm. 1)
    JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m),  m = (p + q) / 2
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LOG4 = np.log(4.0)


def gaussian_pdf(mean: float = 0.0, std: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


def optimal_discriminator(p_r: Callable, p_g: Callable) -> Callable[[np.ndarray], np.ndarray]:
    """D*(x) = p_r(x) / (p_r(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1)."""

    def D_star(x):
        r, g = p_r(x), p_g(x)
        return np.divide(r, r + g, out=np.full_like(r, 0.5, dtype=float), where=(r + g) > 0)

    return D_star


def _trapezoid(f, x):
    return float(np.trapezoid(f, x))


def value(D: Callable, p_r: Callable, p_g: Callable, x: np.ndarray) -> float:
    """V(G, D) = int p_r log D + p_g log(1 - D) dx on the grid ``x`` (lecture: "Integral
    evaluation"; the integral is over x, not h)."""
    d = np.clip(D(x), 1e-300, 1 - 1e-16)
    return _trapezoid(p_r(x) * np.log(d) + p_g(x) * np.log1p(-d), x)


def kl_divergence(p: Callable, q: Callable, x: np.ndarray) -> float:
    """KL(p || q) = int p log(p / q) dx, with 0 log 0 = 0."""
    px, qx = p(x), q(x)
    mask = px > 0
    integrand = np.zeros_like(px)
    integrand[mask] = px[mask] * (np.log(px[mask]) - np.log(qx[mask]))
    return _trapezoid(integrand, x)


def js_divergence(p: Callable, q: Callable, x: np.ndarray) -> float:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2; between 0 and log 2."""
    m = lambda t: 0.5 * (p(t) + q(t))
    return 0.5 * kl_divergence(p, m, x) + 0.5 * kl_divergence(q, m, x)


def wasserstein_1d_exact(quantile_r: Callable, quantile_g: Callable, n: int = 200_001) -> float:
    """W1 = int_0^1 |F_r^{-1}(u) - F_g^{-1}(u)| du, from the two quantile functions."""
    u = (np.arange(n) + 0.5) / n  # midpoints avoid the infinite quantiles at 0 and 1
    return float(np.mean(np.abs(quantile_r(u) - quantile_g(u))))


def gaussian_quantile(mean: float = 0.0, std: float = 1.0) -> Callable:
    from statistics import NormalDist

    inv = np.vectorize(NormalDist(mean, std).inv_cdf)
    return lambda u: inv(u)


def simultaneous_gradient_game(x0: float = 1.0, y0: float = 1.0, lr: float = 0.1,
                               steps: int = 100) -> np.ndarray:
    """min_x max_y f = x y by simultaneous gradient steps: x -= lr y, y += lr x.

    The equilibrium is (0, 0), yet each step multiplies the distance from it by
    sqrt(1 + lr^2): the iterates spiral outwards. Returns the (steps + 1, 2) trajectory.
    """
    xy = np.empty((steps + 1, 2))
    xy[0] = x0, y0
    for t in range(steps):
        x, y = xy[t]
        xy[t + 1] = x - lr * y, y + lr * x
    return xy


# ------------------------------------------------------------------------------------------
# The checks of weeks 15-16 that go beyond the quadratures above.
# ------------------------------------------------------------------------------------------


def js_divergence_samples(x, y, bins: int = 200, lo: float | None = None,
                          hi: float | None = None) -> float:
    """JSD(p || q) estimated from two 1D samples x ~ p, y ~ q: the plug-in JSD of their
    histograms on ``bins`` common bins over [lo, hi] (default: the range of both samples).

    Binning can only lower a divergence (data processing), finite samples raise it: two
    samples of one distribution give about (bins - 1) / (8 n) for n points each, not 0. Compare
    with that floor (the JSD between two independent samples of p_r) before reading a value.
    """
    x, y = np.ravel(np.asarray(x, float)), np.ravel(np.asarray(y, float))
    lo = min(x.min(), y.min()) if lo is None else lo
    hi = max(x.max(), y.max()) if hi is None else hi
    edges = np.linspace(lo, hi, bins + 1)
    p = np.histogram(np.clip(x, lo, hi), edges)[0] / len(x)
    q = np.histogram(np.clip(y, lo, hi), edges)[0] / len(y)
    m = 0.5 * (p + q)

    def kl(a):  # sum a log(a / m) over the bins where a > 0 (then m > 0 too)
        s = a > 0
        return float(np.sum(a[s] * np.log(a[s] / m[s])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def alternating_gradient_game(x0: float = 1.0, y0: float = 0.0, lr: float = 0.1,
                              steps: int = 100) -> np.ndarray:
    """min_x max_y x y by alternating steps: x -= lr y, then y += lr x with the NEW x.

    One step is the matrix [[1, -lr], [lr, 1 - lr^2]]: determinant 1 and trace 2 - lr^2, so for
    lr < 2 its eigenvalues lie on the unit circle and the iterates circle the equilibrium on a
    fixed ellipse (x^2 + y^2 - lr x y is conserved): they neither escape nor converge.
    Returns the (steps + 1, 2) trajectory.
    """
    xy = np.empty((steps + 1, 2))
    xy[0] = x0, y0
    for t in range(steps):
        x, y = xy[t]
        x = x - lr * y
        xy[t + 1] = x, y + lr * x
    return xy


def dirac_gan(theta0: float = 1.0, psi0: float = 0.0, lr: float = 0.1, steps: int = 100,
              alternating: bool = True) -> np.ndarray:
    """The Dirac GAN (Mescheder et al. 2018): data p_r = delta_0, generator p_g = delta_theta,
    discriminator D(x) = sigmoid(psi x). Its value is the GAN's,

        L(theta, psi) = log D(0) + log(1 - D(theta)) = -log 2 - softplus(psi theta),

    D ascends in psi, G descends in theta (the minimax loss), from (theta0, psi0); the
    equilibrium is (0, 0). ``alternating``: G steps against the D just updated, as
    ``course_lib.gan.train_step`` does; otherwise both use the old values (simultaneous).
    Returns the (steps + 1, 2) trajectory of (theta, psi).
    """
    sig = lambda t: 1.0 / (1.0 + np.exp(-t))
    path = np.empty((steps + 1, 2))
    path[0] = theta0, psi0
    for t in range(steps):
        theta, psi = path[t]
        psi_new = psi - lr * theta * sig(psi * theta)  # dL/dpsi = -theta sigmoid(psi theta)
        psi_g = psi_new if alternating else psi
        theta_new = theta + lr * psi_g * sig(psi_g * theta)  # -dL/dtheta = psi sigmoid(psi theta)
        path[t + 1] = theta_new, psi_new
    return path
