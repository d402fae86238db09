"""A Markovian hierarchical VAE where everything is exact: one-dimensional, linear-Gaussian.

Encoder (the VDM restrictions: same dimension, fixed linear-Gaussian steps, Luo Eq. 31)

    q(h_t | h_{t-1}) = N(sqrt(a_t) h_{t-1}, 1 - a_t),   h_0 = x,   t = 1..T

Decoder (the generative model, Luo Eq. 23)

    p(h_T) = N(0, 1),   p(h_{t-1} | h_t) = N(c_t h_t, s_t^2),   t = T..1  (h_0 = x)

Both joints are Gaussian, so log p(x), the ELBO and the true posterior p(h | x) are exact.
That lets the notebook check ELBO = log p(x) - KL(q(h|x) || p(h|x)) to many digits, and
compare three unbiased Monte-Carlo estimators of the same ELBO: the plain one (log p - log q on
sampled chains), the consistency form (Eq. 45, with h_t integrated against the chain's true
q(h_t | h_{t-1}, h_{t+1})) and the denoising-matching form (Eq. 58).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.normal import LOG2PI
from course_lib.normal import gaussian_kl as normal_kl
from course_lib.normal import normal_log_prob as normal_logpdf


@dataclass(frozen=True)
class LinearGaussianHVAE:
    """a[t-1] = a_t (encoder), c[t-1] = c_t, s2[t-1] = s_t^2 (decoder), t = 1..T."""

    a: np.ndarray
    c: np.ndarray
    s2: np.ndarray

    @property
    def T(self) -> int:
        return len(self.a)

    @staticmethod
    def matched(a) -> LinearGaussianHVAE:
        """A decoder that retraces the encoder: c_t = sqrt(a_t), s_t^2 = 1 - a_t."""
        a = np.asarray(a, float)
        return LinearGaussianHVAE(a, np.sqrt(a), 1 - a)

    # ------------------------------------------------------------------ exact quantities

    def decoder_joint(self):
        """Mean 0 and covariance of (h_T, ..., h_1, x) under p: v = L eps, Sigma = L L^T."""
        T = self.T
        L = np.zeros((T + 1, T + 1))
        L[0, 0] = 1.0  # h_T = eps_0
        for i in range(1, T + 1):  # v_i = h_{T-i}, from h_{T-i+1} with step t = T - i + 1
            t = T - i + 1
            L[i] = self.c[t - 1] * L[i - 1]
            L[i, i] = np.sqrt(self.s2[t - 1])
        return L @ L.T

    def log_px(self, x: float) -> float:
        """log p(x): x is Gaussian with the last diagonal entry of the joint covariance."""
        return float(normal_logpdf(x, 0.0, self.decoder_joint()[-1, -1]))

    def encoder_posterior(self, x: float):
        """Mean and covariance of (h_1, ..., h_T) under q(. | x)."""
        T = self.T
        mean = np.sqrt(np.cumprod(self.a)) * x  # sqrt(alpha_bar_t) x, Luo Eq. 69
        L = np.zeros((T, T))
        for t in range(1, T + 1):
            if t > 1:
                L[t - 1] = np.sqrt(self.a[t - 1]) * L[t - 2]
            L[t - 1, t - 1] = np.sqrt(1 - self.a[t - 1])
        return mean, L @ L.T

    def true_posterior(self, x: float):
        """Mean and covariance of (h_1, ..., h_T) under p(. | x), by Gaussian conditioning."""
        S = self.decoder_joint()[::-1, ::-1]  # order (x, h_1, ..., h_T)
        s_xx, s_hx, s_hh = S[0, 0], S[1:, 0], S[1:, 1:]
        return s_hx / s_xx * x, s_hh - np.outer(s_hx, s_hx) / s_xx

    def elbo(self, x: float) -> float:
        """E_q[log p(x, h) - log q(h | x)] in closed form (Gaussian expectations)."""
        m, S = self.encoder_posterior(x)
        J = self.decoder_joint()[::-1, ::-1]  # covariance of (x, h_1..h_T) under p
        P = np.linalg.inv(J)
        v = np.concatenate([[x], m])
        C = np.zeros_like(J)
        C[1:, 1:] = S
        _, logdet_J = np.linalg.slogdet(J)
        expected_log_joint = -0.5 * ((self.T + 1) * LOG2PI + logdet_J + v @ P @ v
                                     + np.trace(P @ C))
        _, logdet_S = np.linalg.slogdet(S)
        entropy = 0.5 * (self.T * (1 + LOG2PI) + logdet_S)
        return float(expected_log_joint + entropy)

    def posterior_kl(self, x: float) -> float:
        """KL(q(h | x) || p(h | x)) between the two T-dimensional Gaussians."""
        m_q, S_q = self.encoder_posterior(x)
        m_p, S_p = self.true_posterior(x)
        P = np.linalg.inv(S_p)
        d = m_p - m_q
        return float(0.5 * (np.trace(P @ S_q) + d @ P @ d - self.T
                            + np.linalg.slogdet(S_p)[1] - np.linalg.slogdet(S_q)[1]))

    # ------------------------------------------------------------- Monte-Carlo estimators

    def sample_encoder(self, x: float, n: int, rng: np.random.Generator) -> np.ndarray:
        """n chains (n, T+1): column 0 is x, column t is h_t ~ q(h_t | h_{t-1})."""
        h = np.empty((n, self.T + 1))
        h[:, 0] = x
        for t in range(1, self.T + 1):
            a = self.a[t - 1]
            h[:, t] = np.sqrt(a) * h[:, t - 1] + np.sqrt(1 - a) * rng.standard_normal(n)
        return h

    def elbo_monte_carlo(self, x: float, n: int, rng) -> np.ndarray:
        """log p(x, h) - log q(h | x) on n encoder chains: unbiased for the ELBO."""
        h = self.sample_encoder(x, n, rng)
        log_p = normal_logpdf(h[:, self.T], 0.0, 1.0)
        log_q = 0.0
        for t in range(1, self.T + 1):
            log_p = log_p + normal_logpdf(h[:, t - 1], self.c[t - 1] * h[:, t], self.s2[t - 1])
            a = self.a[t - 1]
            log_q = log_q + normal_logpdf(h[:, t], np.sqrt(a) * h[:, t - 1], 1 - a)
        return log_p - log_q

    def elbo_consistency(self, x: float, n: int, rng) -> np.ndarray:
        """Luo Eq. 45 done right: reconstruction - prior matching - consistency terms, with each
        consistency term integrated over h_t against the chain's true conditional,

            E_{q(h_{t-1}, h_{t+1} | x)} E_{q(h_t | h_{t-1}, h_{t+1})}[log p(h_t | h_{t+1})
                                                                    - log q(h_t | h_{t-1})],

        the inner expectation in closed form (`bridge`). Unbiased; two random variables per term.
        Evaluating the log-ratio on the sampled h_t instead is the plain estimator
        `elbo_monte_carlo`, regrouped.
        """
        h = self.sample_encoder(x, n, rng)
        T, a = self.T, self.a
        out = normal_logpdf(x, self.c[0] * h[:, 1], self.s2[0])  # reconstruction
        out -= normal_kl(np.sqrt(a[T - 1]) * h[:, T - 1], 1 - a[T - 1], 0.0, 1.0)  # prior matching
        for t in range(1, T):
            m, v = self.bridge(t, h[:, t - 1], h[:, t + 1])
            out += (expected_normal_logpdf(m, v, self.c[t] * h[:, t + 1], self.s2[t])
                    - expected_normal_logpdf(m, v, np.sqrt(a[t - 1]) * h[:, t - 1], 1 - a[t - 1]))
        return out

    def consistency_kl_form(self, x: float, n: int, rng) -> np.ndarray:
        """Eq. 45 taken literally: each consistency term as
        E_{q(h_{t-1}, h_{t+1} | x)} KL(q(h_t | h_{t-1}) || p(h_t | h_{t+1})).

        That step treats h_t as if it were independent of h_{t+1} given h_{t-1}; under q it
        is not (h_{t+1} is drawn from h_t), so this is *not* the ELBO in general. The
        notebook shows the difference; the denoising form (Eq. 58) has no such problem
        because it conditions on h_t, the variable actually drawn before h_{t-1}'s posterior.
        """
        h = self.sample_encoder(x, n, rng)
        T, a = self.T, self.a
        out = normal_logpdf(x, self.c[0] * h[:, 1], self.s2[0])
        out -= normal_kl(np.sqrt(a[T - 1]) * h[:, T - 1], 1 - a[T - 1], 0.0, 1.0)
        for t in range(1, T):
            out -= normal_kl(np.sqrt(a[t - 1]) * h[:, t - 1], 1 - a[t - 1],
                             self.c[t] * h[:, t + 1], self.s2[t])
        return out

    def elbo_denoising(self, x: float, n: int, rng) -> np.ndarray:
        """Luo Eq. 58: reconstruction - KL(q(h_T|x) || p(h_T)) - denoising matching terms
        KL(q(h_{t-1} | h_t, x) || p(h_{t-1} | h_t)): one random variable per term."""
        h = self.sample_encoder(x, n, rng)
        T, a = self.T, self.a
        ab = np.cumprod(a)
        out = normal_logpdf(x, self.c[0] * h[:, 1], self.s2[0])
        out -= normal_kl(np.sqrt(ab[T - 1]) * x, 1 - ab[T - 1], 0.0, 1.0)
        for t in range(2, T + 1):
            mean, var = self.denoising_posterior(t, h[:, t], x)  # Eq. 84
            out -= normal_kl(mean, var, self.c[t - 1] * h[:, t], self.s2[t - 1])
        return out

    # ------------------------------------------- conditionals of the encoder chain (Eq. 84)

    def encoder_conditional(self, x: float, i: int, given: dict[int, np.ndarray]):
        """Mean and variance of h_i under q(. | x) given h_j = given[j], by Gaussian
        conditioning of the encoder's joint (`encoder_posterior`): an independent reference
        for Eq. 84 and for `bridge`. Values may be arrays (one condition per entry)."""
        m, S = self.encoder_posterior(x)
        j = np.array(sorted(given)) - 1
        w = np.linalg.solve(S[np.ix_(j, j)], S[j, i - 1])  # regression weights of h_i on h_j
        dev = np.stack([np.asarray(given[k], float) - m[k - 1] for k in sorted(given)], -1)
        return m[i - 1] + dev @ w, S[i - 1, i - 1] - S[j, i - 1] @ w

    def denoising_posterior(self, t: int, h_t, x):
        """q(h_{t-1} | h_t, x), Luo Eq. 84 (t >= 2): mean
        (sqrt(a_t)(1 - abar_{t-1}) h_t + sqrt(abar_{t-1})(1 - a_t) x) / (1 - abar_t),
        variance (1 - a_t)(1 - abar_{t-1}) / (1 - abar_t)."""
        a_t = self.a[t - 1]
        ab_t, ab_prev = np.prod(self.a[:t]), np.prod(self.a[:t - 1])
        mean = (np.sqrt(a_t) * (1 - ab_prev) * h_t + np.sqrt(ab_prev) * (1 - a_t) * x) / (1 - ab_t)
        return mean, (1 - a_t) * (1 - ab_prev) / (1 - ab_t)

    def bridge(self, t: int, h_prev, h_next):
        """q(h_t | h_{t-1}, h_{t+1}) ~ q(h_t | h_{t-1}) q(h_{t+1} | h_t), 1 <= t < T: the product
        of two Gaussians in h_t, precision 1/(1 - a_t) + a_{t+1}/(1 - a_{t+1})."""
        a_t, a_next = self.a[t - 1], self.a[t]
        var = 1 / (1 / (1 - a_t) + a_next / (1 - a_next))
        mean = var * (np.sqrt(a_t) * h_prev / (1 - a_t) + np.sqrt(a_next) * h_next / (1 - a_next))
        return mean, var


def expected_normal_logpdf(m, v, mean, var):
    """E_{h ~ N(m, v)} log N(h; mean, var) = -(log 2 pi var + ((m - mean)^2 + v) / var) / 2."""
    return -0.5 * (LOG2PI + np.log(var) + ((m - mean) ** 2 + v) / var)
