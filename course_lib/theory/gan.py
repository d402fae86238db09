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


def mixture_pdf(means, std: float, weights=None) -> Callable[[np.ndarray], np.ndarray]:
    means = np.asarray(means, float)
    w = np.full(len(means), 1 / len(means)) if weights is None else np.asarray(weights, float)
    return lambda x: sum(wi * gaussian_pdf(m, std)(x) for wi, m in zip(w, means))


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
