"""Issue 26, item 5: the command line on a user's own 2-D data (tools/user_data.py: a
crescent, clusters, an 8-bit spiral), and ``evaluate`` saying in words which baseline wins.

``make recipes`` trains the full defaults on these sets and prints the verdicts; here a few
steps of each check the pipeline and the words (not the win)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import jax
import numpy as np
import pytest

from course_lib import cli
from course_lib.cli.report import verdict

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("user_data", ROOT / "tools" / "user_data.py")
user_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(user_data)


def _numbers(sentence: str) -> tuple[float, float, float]:
    diff, err, z = re.search(r"([\d.]+) \+- ([\d.]+) bits per example \(([\d.]+) paired",
                             sentence).groups()
    return float(diff), float(err), float(z)


def test_the_verdict_names_the_strongest_baseline_and_the_gap_with_its_error():
    out = {"gaussian_minus_model": 1.2, "gaussian_minus_model_stderr": 0.05,
           "kde_minus_model": -0.25, "kde_minus_model_stderr": 0.05,
           "mixture_minus_model": -0.1, "mixture_minus_model_stderr": 0.04}
    words = verdict(out, discrete=False)
    assert words.startswith("The model loses to the baseline KDE")
    assert _numbers(words) == (0.25, 0.05, 5.0) and "within" not in words
    # a win: the closest baseline, by how much; a gap under two errors says so
    out |= {"kde_minus_model": 0.3, "mixture_minus_model": 0.05}
    words = verdict(out, discrete=True)
    assert words.startswith("The model beats every baseline; the strongest, mixture of "
                            "categoricals")
    assert _numbers(words) == (0.05, 0.04, 1.2) and "(within the error)" in words
    assert verdict({"bits_per_example": 3.0}, discrete=False) is None


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    return user_data.write(tmp_path_factory.mktemp("user"), rows=300, fresh=400)


@pytest.mark.parametrize("name", list(user_data.SETS))
@pytest.mark.parametrize("model", ["vdm", "ddpm"])
def test_defaults_train_and_evaluate_says_who_wins_on_fresh_data(tmp_path, capsys, sets, name,
                                                                   model):
    train, fresh, bits = sets[name]
    out = tmp_path / "run"
    args = ["train", model, "--data", train, "--out", out, "--steps", 40, "--steps-per-call",
            20, "--no-progress"] + (["--quantized", bits] if bits else [])
    assert cli.main([str(a) for a in args]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli.main(["evaluate", str(out), "--data", str(fresh)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 400
    # the sentence agrees with the paired differences printed beside it
    gaps = {k.removesuffix("_minus_model"): v for k, v in r.items()
            if k.endswith("_minus_model")}
    assert set(gaps) == {"gaussian", "kde", "mixture"}
    strongest = min(gaps, key=gaps.get)
    descriptions = (cli.report.baseline.DESCRIPTIONS if bits
                    else cli.report.baseline.CONTINUOUS_DESCRIPTIONS)
    assert descriptions[strongest] in r["verdict"]
    assert r["verdict"].startswith("The model loses" if gaps[strongest] < 0 else
                                   "The model beats every baseline")
    diff, err, _ = _numbers(r["verdict"])
    assert diff == pytest.approx(abs(gaps[strongest]), abs=6e-4)
    assert err == pytest.approx(r[f"{strongest}_minus_model_stderr"], abs=6e-4)
    # the user-data recipes chosen by validation: a file takes the "other data" or the
    # "quantized" recipe (not a named set's), whose learning rate falls to 0 at its last step
    recipe = cli.MODELS[model].recipes["quantized" if bits else None]
    saved = json.loads((out / "config.json").read_text())
    assert saved["config"]["decay_steps"] == recipe.train["steps"] > 0
    assert {k: saved["config"][k] for k in recipe.model} == json.loads(json.dumps(recipe.model))
    if model == "vdm" and name != "clusters":  # standardised and quantized data (~20 s each)
        # make recipes' line of the truth: its KDE and model are evaluate's, row by row
        user_data.print_truth(name, fresh, out)
        lines = capsys.readouterr().out
        room, model_gap = (float(v) for v in re.findall(r": (-?[\d.]+) \+- [\d.]+ bits per "
                                                       r"example \(paired\)", lines))
        assert room - model_gap == pytest.approx(r["kde_minus_model"], abs=1.5e-3)


def test_ddpm_learning_rate_falls_to_zero_after_decay_steps():
    """DDPMConfig.decay_steps reaches Adam (course_lib.family.optimizer_for, as VDM's): after
    ``decay_steps`` updates a step moves no weight; without the decay the same step does."""
    from flax import nnx

    from course_lib.diffusion.ddpm import DDPMConfig, ddpm_train_step

    family, x = cli.MODELS["ddpm"], np.random.default_rng(0).normal(size=(16, 2))
    moved = {}
    for decay in (3, 0):
        model, optimizer = family.init(DDPMConfig(data_dim=2, T=10, hidden=(8,),
                                                  decay_steps=decay), 0)
        for i in range(4):
            before = nnx.state(model, nnx.Param)
            before = [np.array(v) for v in jax.tree.leaves(before)]
            ddpm_train_step(model, optimizer, x, jax.random.key(i))
        after = jax.tree.leaves(nnx.state(model, nnx.Param))
        moved[decay] = max(float(np.abs(a - b).max()) for a, b in zip(after, before))
    assert moved[3] == 0.0 and moved[0] > 1e-5, moved


# ------------------------------------------------ the true densities: the floor of the table

# Boxes holding all but a negligible mass (the nearest edge >= 6 standard deviations from
# every component) and midpoint grids fine enough that the rule's relative error is
# ~(h / sigma)^2 / 24 < 1e-4 for the narrowest width (crescent 0.1, clusters 0.15).
BOXES = {"crescent": ((-1.6, 1.6), (0.0, 1.6), 0.004),  # p = 0 below y = 0: an edge of cells
         "clusters": ((-4.5, 5.0), (-3.5, 4.5), 0.01)}


def _grid_mass(name: str, coarse: float):
    """(total mass, mass of each coarse x coarse cell) of the true density by the midpoint
    rule on the box's fine grid."""
    (x0, x1), (y0, y1), h = BOXES[name]
    xs, ys = np.arange(x0 + h / 2, x1, h), np.arange(y0 + h / 2, y1, h)
    xx, yy = np.meshgrid(xs, ys, indexing="ij")
    p = 2.0 ** -user_data.true_bits(name, np.stack([xx.ravel(), yy.ravel()], 1))
    p = p.reshape(xx.shape) * h * h
    k = int(round(coarse / h))
    nx, ny = (len(xs) // k) * k, (len(ys) // k) * k
    cells = p[:nx, :ny].reshape(nx // k, k, ny // k, k).sum((1, 3))
    return p.sum(), cells, (x0, y0, k * h)


def _spiral_pmf() -> np.ndarray:
    """P(v) on the whole 256 x 256 grid from the same bin masses and nodes as true_bits, but
    summed as one product of the two coordinates' (nodes x 256) tables (all 65536 rows
    through true_bits would take ~10 s)."""
    w, cx, cy = user_data.spiral8_nodes()
    levels = np.arange(256.0)[None, :]
    mass_x = user_data._spiral_bin_mass(levels, cx[:, None])
    mass_y = user_data._spiral_bin_mass(levels, cy[:, None])
    return (w[:, None] * mass_x).T @ mass_y


def _chi_square_z(probabilities: np.ndarray, counts: np.ndarray) -> float:
    """(X^2 - df) / sqrt(2 df) of counts against n * probabilities, cells expecting fewer than
    5 pooled into one: about N(0, 1) when the probabilities are the sampler's."""
    n = counts.sum()
    expected, counts = n * probabilities.ravel(), counts.ravel()
    big = expected >= 5
    e = np.append(expected[big], n - expected[big].sum())
    c = np.append(counts[big], n - counts[big].sum())
    df = len(e) - 1
    return float((((c - e) ** 2 / e).sum() - df) / np.sqrt(2 * df))


@pytest.mark.parametrize("name", ["crescent", "clusters"])
def test_true_density_integrates_to_one_and_matches_its_sampler(name):
    total, cells, (x0, y0, w) = _grid_mass(name, 0.1)
    # quadrature error < 1e-4 of the mass, outside the box < 1e-8: 1e-3 is slack, not luck
    assert abs(total - 1) < 1e-3, total
    # cell probabilities against 200,000 draws of the generator: a density of the right
    # total but the wrong shape (e.g. p = N(r) / pi, the 1/r Jacobian dropped, which still
    # integrates to E[r] = 1) moves the radial profile by 0.01 and fails by tens of sigma
    x = user_data.SETS[name][0](np.random.default_rng(7), 200_000).astype(np.float64)
    i, j = np.floor((x[:, 0] - x0) / w).astype(int), np.floor((x[:, 1] - y0) / w).astype(int)
    inside = (i >= 0) & (i < cells.shape[0]) & (j >= 0) & (j < cells.shape[1])
    counts = np.zeros(cells.shape)
    np.add.at(counts, (i[inside], j[inside]), 1)
    assert inside.mean() > 0.999
    z = _chi_square_z(cells / cells.sum(), counts)
    assert z < 4, f"{name}: the true density disagrees with its sampler, chi-square z = {z:.1f}"


def test_spiral8_pmf_sums_to_one_and_matches_its_sampler():
    pmf = _spiral_pmf()
    # each t's bin masses sum to one exactly (the end bins reach to infinity) and the
    # quadrature weights sum to one: the total is 1 up to float64 rounding
    assert abs(pmf.sum() - 1) < 1e-9, pmf.sum()
    v = user_data.spiral8(np.random.default_rng(7), 200_000).astype(int)
    # true_bits row by row is this table's entry (the same sums in another order)
    np.testing.assert_allclose(2.0 ** -user_data.true_bits("spiral8", v[:2000]),
                               pmf[v[:2000, 0], v[:2000, 1]], rtol=1e-9)
    counts = np.zeros((32, 32))
    np.add.at(counts, (v[:, 0] // 8, v[:, 1] // 8), 1)
    blocks = pmf.reshape(32, 8, 32, 8).sum((1, 3))
    z = _chi_square_z(blocks, counts)
    assert z < 4, f"spiral8: the pmf disagrees with its sampler, chi-square z = {z:.1f}"


def test_the_level_decoders_excess_is_a_kl_that_vanishes_with_the_noise():
    """spiral8_decoder_excess: on rows of the data its mean is an expected KL (>= 0, up to
    its draws), shrinking as gamma_1 falls (the uniform prior over levels matters less once
    sigma_1 is under a level's spacing): measured 0.41, 0.09, 0.016 bits at -7.5, -9.2, -11
    on 2000 rows, here 400 (errors ~0.02, 0.01, 0.002). A q that is the decoder's own
    posterior, or p(x_1 | v) in place of the pmf's, gives 0 or a negative mean."""
    v = user_data.spiral8(np.random.default_rng([0, 2, 1]), 400).astype(int)
    excess = [user_data.spiral8_decoder_excess(v, g, draws=4).mean() for g in (-7.5, -9.2, -11)]
    assert excess[0] > excess[1] > excess[2] > 0.005, excess
    assert 0.3 < excess[0] < 0.5, excess  # the level spacing is 0.0078, sigma_1 = 0.0235


@pytest.mark.parametrize("name", list(user_data.SETS))
def test_the_truth_codes_fresh_rows_in_fewer_bits_than_the_kde(name):
    """No model beats the data's own density on average (Gibbs): on 2000 fresh rows the
    KDE of 1000 training rows pays 0.08 to 0.2 bits per example more, paired z > 3 (measured
    0.084 +- 0.009, 0.113 +- 0.012, 0.18 +- 0.02). A wrong truth (wrong width, a bin off)
    pays more than the KDE does."""
    from course_lib.baseline import continuous, discrete, paired

    make, bits = user_data.SETS[name]
    train = make(np.random.default_rng([0, 1, 0]), 1000).astype(np.float64)
    fresh = make(np.random.default_rng([0, 1, 1]), 2000).astype(np.float64)
    kde = (discrete.kde_bits(train, fresh, (256, 0.0, 255.0)) if bits
           else continuous.kde_bits(train, fresh))
    diff, err = paired(kde, user_data.true_bits(name, fresh))
    assert diff / err > 3, f"{name}: KDE - truth = {diff:.3f} +- {err:.3f} bits per example"
