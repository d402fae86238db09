"""Data sets of the course: seeded, JIT-friendly samplers and small shipped arrays.

Every data set is a :class:`Dataset`. Its ``sample(key, n)`` is a pure JAX function (it can
be called inside ``jax.jit`` and ``lax.scan``), so a training loop draws fresh batches on
the device with no Python in the loop. Shipped arrays (the digits, a user's file, Ising
configurations) sample with replacement from the array.

    >>> ds = get("ring")
    >>> x = ds.sample(jax.random.key(0), 2500)      # (2500, 2)
    >>> ds.means.shape, ds.std                       # what the mode metrics need
    ((8, 2), 0.01)
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from course_lib.config import MAX_CLASSES, check_array, check_labels, checked, read_arrays  # noqa: F401


def data_root() -> Path:
    """Where the shipped data and weights live: ``$COURSE_LIB_DATA`` if set; else the
    repository's ``data/`` folder, which an install (a wheel, or ``pip install -e``) provides
    as the package ``course_lib_data``; else ``data/`` beside a checkout's ``course_lib/``."""
    if os.environ.get("COURSE_LIB_DATA"):
        return Path(os.environ["COURSE_LIB_DATA"])
    spec = importlib.util.find_spec("course_lib_data")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parent.parent / "data"


DATA_DIR = data_root()


@dataclass(frozen=True)
class Dataset:
    """A data set: a sampler plus what the metrics need to know about it.

    sample:      ``sample(key, n) -> (n, *shape)`` float32, pure and jittable.
    shape:       the shape of one example.
    means, std:  the mixture's component means and common standard deviation (mixtures only).
    data:        the whole array, for shipped data sets (else None).
    labels:      integer class labels aligned with ``data`` (else None).
    levels:      number of distinct values per dimension for quantized data (digits: 17).
    """

    name: str
    description: str
    shape: tuple[int, ...]
    sample: Callable[[jax.Array, int], jax.Array] = field(repr=False)
    means: np.ndarray | None = field(default=None, repr=False)
    std: float | None = None
    data: np.ndarray | None = field(default=None, repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    num_classes: int | None = None
    levels: int | None = None
    value_range: tuple[float, float] | None = None

    def sample_with_labels(self, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
        """Draw ``n`` (example, label) pairs with replacement; labeled data sets only."""
        if self.labels is None:
            raise ValueError(f"data set '{self.name}' has no labels; labeled data sets: digits, "
                             "or an .npz file with arrays 'x' and 'y'")
        idx = jax.random.randint(key, (n,), 0, len(self.labels))
        return jnp.asarray(self.data)[idx], jnp.asarray(self.labels)[idx]


def from_array(name: str, description: str, x: np.ndarray, labels=None, **extra) -> Dataset:
    """A data set that samples rows of a fixed array with replacement."""
    x = np.asarray(x, np.float32)
    xj = jnp.asarray(x)

    def sample(key, n):
        return xj[jax.random.randint(key, (n,), 0, x.shape[0])]

    num_classes = None
    if labels is not None:
        labels = np.asarray(labels, np.int32)
        num_classes = int(labels.max()) + 1
    return Dataset(name, description, tuple(x.shape[1:]), sample, data=x, labels=labels,
                   num_classes=num_classes, **extra)


# ---------------------------------------------------------------------------- 1D densities


@checked
def gaussian_1d(mean: float = 0.0, std: float = 1.0) -> Dataset:
    """N(mean, std^2) in one dimension; examples have shape (1,)."""
    def sample(key, n):
        return mean + std * jax.random.normal(key, (n, 1))

    return Dataset("gaussian_1d", f"1D Gaussian N({mean}, {std}^2)", (1,), sample,
                   means=np.array([[mean]], np.float32), std=float(std))


@checked
def mixture_1d(means=(-2.0, 2.0), std: float = 0.5, weights=None) -> Dataset:
    """A 1D Gaussian mixture with common std; equal weights unless given."""
    means = np.asarray(means, np.float32).reshape(-1)
    w = np.full(len(means), 1 / len(means)) if weights is None else np.asarray(weights, float)
    if len(w) != len(means) or np.any(w < 0) or not math.isclose(w.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(f"weights must be {len(means)} non-negative numbers summing to 1")
    logits = jnp.log(jnp.asarray(w, jnp.float32))

    def sample(key, n):
        k1, k2 = jax.random.split(key)
        c = jax.random.categorical(k1, logits, shape=(n,))
        return (jnp.asarray(means)[c] + std * jax.random.normal(k2, (n,)))[:, None]

    return Dataset("mixture_1d", f"1D mixture of {len(means)} Gaussians, std {std}", (1,), sample,
                   means=means[:, None], std=float(std))


# ------------------------------------------------------------------------- 2D toy sets


def _mixture_2d(name, description, means, std) -> Dataset:
    means = np.asarray(means, np.float32)

    def sample(key, n):
        k1, k2 = jax.random.split(key)
        c = jax.random.randint(k1, (n,), 0, len(means))
        return jnp.asarray(means)[c] + std * jax.random.normal(k2, (n, 2))

    return Dataset(name, description, (2,), sample, means=means, std=float(std))


@checked
def ring(modes: int = 8, radius: float = 1.0, std: float = 0.01) -> Dataset:
    """Gaussians on a circle at angles 2 pi k / modes (VEEGAN/PacGAN: 8 modes, std 0.01).

    The angles are ``arange(modes) * 2 pi / modes``; ``linspace(0, 2 pi, 8)`` would put the
    first and last on the same point and give only 7 modes.
    """
    angles = 2 * np.pi * np.arange(modes) / modes
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _mixture_2d("ring", f"{modes} Gaussians on a circle of radius {radius}, std {std}",
                       means, std)


@checked
def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Dataset:
    """Gaussians at {-4,-2,0,2,4}^2 (VEEGAN/PacGAN: 25 modes, std 0.05)."""
    c = spacing * (np.arange(side) - (side - 1) / 2)
    means = np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1).reshape(-1, 2)
    return _mixture_2d("grid", f"{side * side} Gaussians on a {side}x{side} grid, std {std}",
                       means, std)


@checked
def swiss_roll(noise: float = 0.5, scale_to_unit_variance: bool = True) -> Dataset:
    """The 2D swiss roll: t ~ U(1.5 pi, 4.5 pi), x = (t cos t, t sin t) + noise.

    Scaled to unit variance per coordinate by default, as in Sohl-Dickstein et al. (2015).
    """
    # Standard deviations of the noiseless roll's coordinates, by quadrature; the noise adds
    # noise^2 to each variance. Computed once so that `sample` stays a pure function.
    t = np.linspace(1.5 * np.pi, 4.5 * np.pi, 200_001)
    xy = np.stack([t * np.cos(t), t * np.sin(t)], 1)
    mean = xy.mean(0)
    scale = np.sqrt(xy.var(0) + noise**2) if scale_to_unit_variance else np.ones(2)

    def sample(key, n):
        k1, k2 = jax.random.split(key)
        t = jax.random.uniform(k1, (n,), minval=1.5 * jnp.pi, maxval=4.5 * jnp.pi)
        x = jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], 1) + noise * jax.random.normal(k2, (n, 2))
        return ((x - mean) / scale).astype(jnp.float32) if scale_to_unit_variance else x

    return Dataset("swiss_roll", f"2D swiss roll, noise {noise}"
                   + (", unit variance" if scale_to_unit_variance else ""), (2,), sample)


def swiss_roll_log_prob(x, noise: float = 0.5, points: int = 20_000) -> np.ndarray:
    """The exact log-density (nats) of ``swiss_roll(noise)`` at points x (n, 2), unit-variance
    scaling included: p(x) = E_t N(x; roll(t), noise^2 I), the mean over t by quadrature.

    -E[log p(x)] is the roll's entropy: no model's log-likelihood can exceed E[log p(x)].
    """
    t = np.linspace(1.5 * np.pi, 4.5 * np.pi, 200_001)
    xy = np.stack([t * np.cos(t), t * np.sin(t)], 1)
    mean, scale = xy.mean(0), np.sqrt(xy.var(0) + noise**2)
    centres = (xy[:: len(t) // points] - mean) / scale
    sigma = noise / scale
    x = np.asarray(x, np.float64)
    out = []
    for i in range(0, len(x), 256):
        d2 = (((x[i:i + 256, None, :] - centres[None]) / sigma) ** 2).sum(-1)
        log_k = -0.5 * d2 - np.log(2 * np.pi * sigma.prod())
        m = log_k.max(1)
        out.append(m + np.log(np.exp(log_k - m[:, None]).mean(1)))
    return np.concatenate(out)


@checked
def moons(noise: float = 0.1) -> Dataset:
    """Two interleaving half circles (as scikit-learn's make_moons), Gaussian noise added."""

    def sample(key, n):
        k1, k2, k3 = jax.random.split(key, 3)
        upper = jax.random.bernoulli(k1, 0.5, (n,))
        a = jax.random.uniform(k2, (n,), maxval=jnp.pi)
        x = jnp.where(upper, jnp.cos(a), 1 - jnp.cos(a))
        y = jnp.where(upper, jnp.sin(a), 0.5 - jnp.sin(a))
        return jnp.stack([x, y], 1) + noise * jax.random.normal(k3, (n, 2))

    return Dataset("moons", f"two moons, noise {noise}", (2,), sample)


# ---------------------------------------------------------------------------- binary sets


@checked
def heartbeat(length: int = 20, period: int = 5) -> Dataset:
    """Sohl-Dickstein et al. (2015): binary sequences with a 1 in every ``period``-th bin.

    The first pulse is uniform over the first ``period`` bins, so there are exactly
    ``period`` equally likely sequences and the true log-likelihood is log2(1/period) bits
    per sequence (-2.322 for the paper's length 20, period 5).
    """

    def sample(key, n):
        offset = jax.random.randint(key, (n, 1), 0, period)
        return ((jnp.arange(length)[None] - offset) % period == 0).astype(jnp.float32)

    return Dataset("heartbeat", f"binary heartbeat, length {length}, a pulse every {period} bins",
                   (length,), sample, levels=2, value_range=(0.0, 1.0))


# ------------------------------------------------------------------------- shipped arrays


@checked
def digits(split: str = "all") -> Dataset:
    """The 8x8 handwritten digits (UCI optdigits via scikit-learn, CC BY 4.0), see data/README.

    Pixels take 17 levels 0..16, mapped to [-1, 1] as x = 2 v / 16 - 1; shape (8, 8).
    ``split``: "all" (1797), "train" (first 1497 of a fixed shuffle) or "test" (last 300).
    """
    splits = ("all", "train", "test")
    if split not in splits:
        raise ValueError(f"unknown split '{split}'; accepted: {', '.join(splits)}")
    where = "COURSE_LIB_DATA's" if os.environ.get("COURSE_LIB_DATA") else "the shipped"
    arrays = read_arrays(DATA_DIR / "digits.npz", f"{where} digits file")
    if not {"images", "labels", "order"} <= set(arrays):
        raise ValueError(f"{where} digits file '{DATA_DIR / 'digits.npz'}' lacks the arrays "
                         "images, labels and order; restore it from the repository's data/")
    images, labels, order = arrays["images"], arrays["labels"], arrays["order"]
    idx = {"all": np.arange(len(images)), "train": order[:1497], "test": order[1497:]}[split]
    x = images[idx].astype(np.float32) * (2 / 16) - 1
    return from_array("digits", f"8x8 handwritten digits ({split}: {len(idx)} images), "
                       "17 grey levels scaled to [-1, 1]", x, labels[idx],
                       levels=17, value_range=(-1.0, 1.0))


@checked
def ising(L: int = 16, T: float = 2.269, n: int = 2048, sweeps: int = 1000,
          seed: int = 0) -> Dataset:
    """Configurations (+1/-1) of the 2D Ising model, L x L periodic, at temperature T.

    ``n`` independent chains of the checkerboard Metropolis sampler in :mod:`course_lib.ising`,
    each run ``sweeps`` sweeps from a random start; examples have shape (L, L).
    """
    from course_lib import ising as ising_mc

    spins = ising_mc.metropolis(jax.random.key(seed), L=L, T=T, n_chains=n, sweeps=sweeps)
    return from_array("ising", f"2D Ising model, {L}x{L} periodic, T = {T}, {n} configurations "
                       f"after {sweeps} Metropolis sweeps", np.asarray(spins),
                       levels=2, value_range=(-1.0, 1.0))


@dataclass(frozen=True)
class Deferred:
    """A data set named now and made (``make()``) when a model is trained on it: loading shipped
    weights need not pay for their training set (:mod:`course_lib.ising_sets`). A sidecar
    records ``arguments`` (the maker's), else ``name``."""

    name: str
    make: Callable[[], Dataset] = field(repr=False)
    arguments: dict | None = None


def made(dataset: Dataset | Deferred) -> Dataset:
    return dataset.make() if isinstance(dataset, Deferred) else dataset


def recorded(dataset: Dataset | Deferred) -> str | dict:
    """What a shipped file's sidecar records of its training data."""
    return dataset.arguments or dataset.name if isinstance(dataset, Deferred) else dataset.name


def from_file(path: str | Path) -> Dataset:
    """A user's array: ``.npy`` of shape (n, ...), or ``.npz`` with 'x' (and optional 'y')."""
    path = Path(path)
    arrays = read_arrays(path)
    x, y = arrays.get("x"), arrays.get("y")
    if x is None:
        raise ValueError(f"{path}: an .npz must hold an array named 'x' (found: "
                         f"{', '.join(arrays) or 'nothing'})")
    check_array(x, str(path))
    if y is not None:
        check_labels(y, x.shape[0], str(path))
    return from_array(path.stem, f"user data from {path.name}, {x.shape[0]} examples of shape "
                       f"{x.shape[1:]}", x, y)


REGISTRY: dict[str, Callable[..., Dataset]] = {
    "gaussian_1d": gaussian_1d,
    "mixture_1d": mixture_1d,
    "ring": ring,
    "grid": grid,
    "swiss_roll": swiss_roll,
    "moons": moons,
    "heartbeat": heartbeat,
    "digits": digits,
    "ising": ising,
}


def describe() -> dict[str, str]:
    """One line per built-in data set: the first line of its docstring."""
    return {k: (f.__doc__ or "").strip().splitlines()[0] for k, f in REGISTRY.items()}


def get(name: str, **params) -> Dataset:
    """A built-in data set by name, with optional parameters: ``get("ring", std=0.02)``."""
    if name not in REGISTRY:
        raise ValueError(f"unknown data set '{name}'; accepted: {', '.join(REGISTRY)}, "
                         "or a path to a .npy/.npz file")
    return REGISTRY[name](**params)


def load(name_or_path: str | Path, **params) -> Dataset:
    """A built-in name, or a path to a ``.npy``/``.npz`` file (anything with a suffix)."""
    s = str(name_or_path)
    if s in REGISTRY:
        return get(s, **params)
    if Path(s).suffix:
        return from_file(s)
    return get(s, **params)  # raises the unknown-name error
