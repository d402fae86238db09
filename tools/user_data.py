"""A user's own 2-D data, as a new user would save them, with fresh samples of the same
distribution for ``evaluate``: the sets ``make recipes`` trains the command line's defaults on.

- crescent: a half ring of radius 1 (angle uniform on [0, pi]), radial noise 0.1 (continuous);
- clusters: four Gaussian clusters of unequal weight and width (continuous);
- spiral8: a two-turn spiral quantized to 8 bits per coordinate (integers 0..255, to be read
  with ``--quantized 8``).

``python tools/user_data.py DIR [--rows N] [--fresh M]`` writes NAME.npy (N rows, to train
on) and NAME_fresh.npy (M rows from other seeds, to evaluate on) for each set.
``--truth NAME FILE`` prints the true density's bits per example on FILE's rows
(:func:`true_bits`): what a perfect model would score, the floor below every model and the
KDE (``make recipes`` prints it beside them, so the room a model has is visible).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.special import logsumexp, ndtr

LOG2 = np.log(2.0)


def crescent(rng: np.random.Generator, n: int) -> np.ndarray:
    theta = rng.uniform(0.0, np.pi, n)
    r = 1.0 + 0.1 * rng.standard_normal(n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], 1).astype(np.float32)


def clusters(rng: np.random.Generator, n: int) -> np.ndarray:
    centres = np.array([[-2.0, 0.0], [0.0, 2.0], [2.0, 0.5], [0.5, -1.5]])
    widths = np.array([0.3, 0.15, 0.5, 0.2])
    k = rng.choice(4, n, p=[0.4, 0.2, 0.25, 0.15])
    return (centres[k] + widths[k, None] * rng.standard_normal((n, 2))).astype(np.float32)


def spiral8(rng: np.random.Generator, n: int) -> np.ndarray:
    """Integers 0..255: a spiral r = t / (4 pi), t in [pi/2, 4 pi], noise 0.03, on the grid."""
    t = rng.uniform(0.5 * np.pi, 4.0 * np.pi, n)
    r = t / (4.0 * np.pi)
    x = np.stack([r * np.cos(t), r * np.sin(t)], 1) + 0.03 * rng.standard_normal((n, 2))
    return np.clip(np.round((x + 1.1) / 2.2 * 255), 0, 255).astype(np.uint8)


# the parameters the generators above draw with, for their exact densities
CENTRES = np.array([[-2.0, 0.0], [0.0, 2.0], [2.0, 0.5], [0.5, -1.5]])
WIDTHS = np.array([0.3, 0.15, 0.5, 0.2])
WEIGHTS = np.array([0.4, 0.2, 0.25, 0.15])


def _normal_log_pdf(x, mean, sd):
    return -0.5 * ((x - mean) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)


def crescent_log_density(x: np.ndarray) -> np.ndarray:
    """log p(x, y): (r, theta) has density N(r; 1, 0.1^2) / pi on theta in [0, pi], and
    dx dy = r dr dtheta, so p(x, y) = N(r; 1, 0.1^2) / (pi r) for y >= 0, 0 below (r < 0,
    which would fold into y < 0, is 10 standard deviations away: left out)."""
    x = np.asarray(x, np.float64)
    r = np.hypot(x[:, 0], x[:, 1])
    with np.errstate(divide="ignore"):
        log_p = _normal_log_pdf(r, 1.0, 0.1) - np.log(np.pi) - np.log(r)
    return np.where(x[:, 1] >= 0, log_p, -np.inf)


def clusters_log_density(x: np.ndarray) -> np.ndarray:
    """log p(x): the four-component isotropic Gaussian mixture that ``clusters`` draws from."""
    x = np.asarray(x, np.float64)
    per = (_normal_log_pdf(x[:, None, 0], CENTRES[:, 0], WIDTHS)
           + _normal_log_pdf(x[:, None, 1], CENTRES[:, 1], WIDTHS))
    return logsumexp(np.log(WEIGHTS) + per, axis=1)


def _spiral_bin_mass(v: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """P(round((c + 0.03 e + 1.1) / 2.2 * 255) = v), clipped to 0..255, e ~ N(0, 1): the
    mass of bin v's interval of width 2.2 / 255 (the two end bins reach to infinity)."""
    lo = np.where(v == 0, -np.inf, (v - 0.5) * 2.2 / 255 - 1.1)
    hi = np.where(v == 255, np.inf, (v + 0.5) * 2.2 / 255 - 1.1)
    return ndtr((hi - centre) / 0.03) - ndtr((lo - centre) / 0.03)


def spiral8_nodes(points: int = 4097) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, x, y) of the curve points (r cos t, r sin t), r = t / (4 pi), at ``points``
    values of t evenly spaced on [pi/2, 4 pi]: the trapezoidal rule for the average over t."""
    t = np.linspace(0.5 * np.pi, 4.0 * np.pi, points)
    w = np.full(points, 1.0 / (points - 1))
    w[[0, -1]] *= 0.5
    r = t / (4.0 * np.pi)
    return w, r * np.cos(t), r * np.sin(t)


def spiral8_log_pmf(v: np.ndarray, points: int = 4097, chunk: int = 4096) -> np.ndarray:
    """log P(v) of integer rows v: the average over t, uniform on [pi/2, 4 pi], of the product
    of the two coordinates' bin masses around the curve point (:func:`spiral8_nodes`); the
    curve moves at most 0.0027 between 4097 nodes, a ninth of the noise 0.03 (on 2000 rows
    the largest error against 40001 nodes is 2e-4 bits, 0.015 with 513)."""
    v = np.asarray(v, np.float64)
    w, cx, cy = spiral8_nodes(points)
    out = np.empty(len(v))
    for i in range(0, len(v), chunk):
        rows = v[i:i + chunk]
        p = w @ (_spiral_bin_mass(rows[None, :, 0], cx[:, None])
                 * _spiral_bin_mass(rows[None, :, 1], cy[:, None]))
        with np.errstate(divide="ignore"):
            out[i:i + chunk] = np.log(p)
    return out


def spiral8_decoder_excess(v: np.ndarray, gamma_1: float, draws: int = 20, reach: int = 20,
                           seed: int = 0) -> np.ndarray:
    """Bits per row of integer rows ``v`` that the level decoder p(v | x_1) of a diffusion
    (:func:`course_lib.diffusion.gaussian_diffusion.level_log_prob`: a uniform prior over the
    256 levels per coordinate; LevelsDDPMConfig, VDM) pays above the exact posterior q(v | x_1)
    under spiral8's pmf, x_1 = alpha v + sigma eps at -log SNR ``gamma_1``: log q / p averaged
    over ``draws`` of eps. On rows of the data its mean is E KL(q(v | x_1) || p(v | x_1)), the
    least such a model pays above the truth, whatever its denoiser (-ELBO = H(v) + that KL +
    KL(q(x_1..T) || p(x_1..T)) on average). q sums over +-``reach`` levels around the row."""
    v = np.asarray(v, np.int64)
    w, cx, cy = spiral8_nodes()
    levels = np.arange(256.0)[None, :]
    log_pmf = np.log(np.maximum((w[:, None] * _spiral_bin_mass(levels, cx[:, None])).T
                                @ _spiral_bin_mass(levels, cy[:, None]), 1e-300))
    centres = np.linspace(-1.0, 1.0, 256)
    alpha, sigma = np.sqrt(1 / (1 + np.exp(gamma_1))), np.sqrt(1 / (1 + np.exp(-gamma_1)))
    near = np.clip(v[:, :, None] + np.arange(-reach, reach + 1), 0, 255)  # (n, 2, 2 reach + 1)
    rng, out = np.random.default_rng(seed), np.zeros(len(v))
    for _ in range(draws):
        x_1 = alpha * centres[v] + sigma * rng.standard_normal(v.shape)
        near_ll = -0.5 * ((x_1[..., None] - alpha * centres[near]) / sigma) ** 2
        all_ll = -0.5 * ((x_1[..., None] - alpha * centres) / sigma) ** 2
        log_p = np.sum(near_ll[..., reach] - logsumexp(all_ll, -1), -1)
        joint = (log_pmf[near[:, 0, :, None], near[:, 1, None, :]]
                 + near_ll[:, 0, :, None] + near_ll[:, 1, None, :])
        log_q = joint[:, reach, reach] - logsumexp(joint.reshape(len(v), -1), -1)
        out += (log_q - log_p) / LOG2 / draws
    return out


LOG_DENSITIES = {"crescent": crescent_log_density, "clusters": clusters_log_density,
                 "spiral8": spiral8_log_pmf}


def true_bits(name: str, x: np.ndarray) -> np.ndarray:
    """-log2 p(x) per row under the distribution set ``name`` draws from, in the data's own
    units (continuous sets: a density in x's units; spiral8: the probability of the integer
    row), the units ``evaluate`` reports in."""
    return -LOG_DENSITIES[name](np.asarray(x)) / LOG2


SETS = {"crescent": (crescent, ""), "clusters": (clusters, ""), "spiral8": (spiral8, "8")}


def write(folder: Path, rows: int = 1000, fresh: int = 2000, seed: int = 0) -> dict:
    """{name: (train file, fresh file, --quantized bits or "")} written under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (name, (make, bits)) in enumerate(SETS.items()):
        train, test = folder / f"{name}.npy", folder / f"{name}_fresh.npy"
        np.save(train, make(np.random.default_rng([seed, i, 0]), rows))
        np.save(test, make(np.random.default_rng([seed, i, 1]), fresh))
        out[name] = (train, test, bits)
    return out


def _run_bits(run: Path, file: Path) -> dict[str, np.ndarray]:
    """The bits per row on ``file`` of the trained run's model and of the KDE that
    ``evaluate RUN --data FILE`` prints, computed as it does (the same key, rows, transform
    and training rows), in the data's own units."""
    import jax

    from course_lib import baseline
    from course_lib import data as data_lib
    from course_lib.cli import prepare as prep_lib
    from course_lib.cli import report
    from course_lib.cli.runs import load_run

    spec, objects, _, saved = load_run(run, with_config=True)
    prepared, key = saved.get("prepare", {}), jax.random.key(0)
    test = prep_lib.apply(np.load(file), prepared)[:report.FRESH]
    target = data_lib.from_array("fresh", "rows", test)
    model = spec.evaluate(objects, target, key)["_per_example"]
    trained_on = data_lib.load(saved["data"])
    x = prep_lib.apply(trained_on.data, prepared)
    held_out = prep_lib.held_out_rows(trained_on, prepared, saved["train_config"].seed)
    reference = x[np.setdiff1d(np.arange(len(x)), [] if held_out is None else held_out)]
    reference = reference.reshape(len(reference), -1)
    grid = report._grid(spec, objects, reference)
    kde = baseline.all_bits(reference, test.reshape(len(test), -1), grid, ["kde"])["kde"]
    jac = prep_lib.log_jacobian_bits(prepared)
    return {"model": model + jac, "kde": kde + jac}


def print_truth(name: str, file: Path, run: Path | None = None) -> None:
    """The true density's mean bits per example on the file's rows (standard error over the
    rows); with a run folder, the paired differences KDE - truth (the room any model has to
    beat the KDE) and model - truth (what the model still pays)."""
    from course_lib.baseline import paired

    truth = true_bits(name, np.load(file))[:2000]
    print(f"  truth (the exact density of {name}): {truth.mean():.3f} +- "
          f"{truth.std(ddof=1) / np.sqrt(len(truth)):.3f} bits per example on {len(truth)} rows")
    if run is None:
        return
    bits = _run_bits(run, file)
    for what, label in (("kde", "KDE - truth (the room to beat the KDE)"),
                        ("model", "model - truth")):
        d, e = paired(bits[what], truth)
        print(f"  {label}: {d:.3f} +- {e:.3f} bits per example (paired)")


if __name__ == "__main__":
    import sys

    # the course_lib beside this file, not an installed copy of another checkout's
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if sys.argv[1:2] == ["--decoder-excess"]:
        if len(sys.argv) != 4:
            sys.exit("error: usage: user_data.py --decoder-excess GAMMA_1 SPIRAL8_FILE")
        excess = spiral8_decoder_excess(np.load(sys.argv[3])[:2000], float(sys.argv[2]))
        print(f"  the level decoder at gamma_1 = {sys.argv[2]} pays {excess.mean():.3f} +- "
              f"{excess.std(ddof=1) / np.sqrt(len(excess)):.3f} bits per example above the "
              "exact pmf, whatever the denoiser")
        sys.exit(0)
    if sys.argv[1:2] == ["--truth"]:
        if len(sys.argv) not in (4, 5) or sys.argv[2] not in SETS:
            sys.exit(f"error: usage: user_data.py --truth NAME FILE [RUN], NAME one of "
                     f"{', '.join(SETS)}")
        print_truth(sys.argv[2], Path(sys.argv[3]), *map(Path, sys.argv[4:]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--fresh", type=int, default=2000)
    args = parser.parse_args()
    for name, (train, test, bits) in write(args.folder, args.rows, args.fresh).items():
        print(name, train, test, f"--quantized {bits}" if bits else "")
