"""The explorables' frames: each holds the library's own numbers, and the frames differ.

The browser test (tests/test_site.py) moves the sliders; here only the numbers are checked.
"""

import re

import jax
import numpy as np
import pytest

from course_lib import diffusion as dm
from course_lib import explorables as ex
from course_lib import ising
from course_lib.theory import gan as theory


def test_gan_frames_hold_d_star_the_value_and_the_jsd_of_gan_theory():
    frames = ex.gan_offset_frames([0.0, 1.0, 3.0])
    grid = np.linspace(-15, 15, 30_001)
    for f in frames:
        p_r, p_g = theory.gaussian_pdf(0.0), theory.gaussian_pdf(f["offset"])
        d = theory.optimal_discriminator(p_r, p_g)
        np.testing.assert_allclose(f["d_star"], d(f["x"]))
        assert f["value"] == pytest.approx(theory.value(d, p_r, p_g, grid), abs=1e-12)
        assert f["jsd"] == pytest.approx(theory.js_divergence(p_r, p_g, grid), abs=1e-12)
        # Theorem 1, an independent check of both numbers
        assert f["value"] == pytest.approx(-np.log(4) + 2 * f["jsd"], abs=1e-6)
    # at offset 0 the generator is the data: D* = 1/2 and L = -log 4
    np.testing.assert_allclose(frames[0]["d_star"], 0.5)
    assert frames[0]["value"] == pytest.approx(-np.log(4), abs=1e-9)
    values = [f["value"] for f in frames]
    assert values == sorted(values) and len(set(values)) == 3


def test_diffusion_frames_are_eq_69_with_one_noise_and_the_schedule_of_the_library():
    ts = [0, 1, 100, 1000]
    frames = ex.diffusion_time_frames(ts, n=200, seed=3)
    ab = dm.alpha_bar(dm.linear_betas(1000))
    x0 = frames[0]["x_t"]
    eps = (frames[2]["x_t"] - np.sqrt(ab[99]) * x0) / np.sqrt(1 - ab[99])
    for f, t in zip(frames[1:], ts[1:]):
        assert f["alpha_bar"] == pytest.approx(ab[t - 1], rel=1e-12)
        assert f["snr"] == pytest.approx(ab[t - 1] / (1 - ab[t - 1]), rel=1e-9)
        np.testing.assert_allclose(f["x_t"], np.sqrt(ab[t - 1]) * x0 + np.sqrt(1 - ab[t - 1]) * eps,
                                   atol=1e-5)
    # t = T is (nearly) pure noise: the data's spread is gone, unit variance is left
    assert np.std(frames[-1]["x_t"]) == pytest.approx(1.0, abs=0.1)
    snrs = [f["snr"] for f in frames]
    assert snrs == sorted(snrs, reverse=True) and len(set(snrs)) == 4
    with pytest.raises(ValueError, match="t must lie in 0..1000"):
        ex.diffusion_time_frames([1001])


def test_ising_frames_are_the_samplers_observables_and_order_below_t_c():
    kw = dict(L=8, n_chains=16, burn_in=100, measurements=10, thin=2, sweeps=100, seed=1)
    cold, hot = ex.ising_temperature_frames([1.5, 3.5], **kw)
    key_obs, key_snap = jax.random.split(jax.random.key(1))
    obs = ising.observables(key_obs, 8, 1.5, n_chains=16, burn_in=100, measurements=10, thin=2)
    assert cold["abs_m"] == ising.mean_and_error(obs["abs_m"])[0]
    assert cold["energy_err"] == ising.mean_and_error(obs["energy"])[1]
    np.testing.assert_array_equal(cold["snapshot"],
                                  ising.metropolis(key_snap, L=8, T=1.5, sweeps=100)[0])
    assert cold["abs_m"] > 0.9 > 0.5 > hot["abs_m"]
    assert cold["energy"] < hot["energy"]
    assert not np.array_equal(cold["snapshot"], hot["snapshot"])


def test_the_html_snippet_holds_one_distinct_picture_per_position_and_nothing_remote():
    explorable = ex.gan_offset([0.0, 2.0, 5.0])
    page = explorable.html()
    assert page == explorable._repr_html_() == ex.gan_offset([0.0, 2.0, 5.0]).html()  # stable
    assert '<input type="range" min="0" max="2"' in page
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(set(pngs)) == 3  # the first frame twice (in <img> and in the list) plus two more
    assert len(pngs) == 4
    for i in range(3):
        assert explorable.caption(explorable.frames[i]) in page
    # the notebook's plain-text fallback: the same at every run (no memory address), short
    assert repr(explorable) == repr(ex.gan_offset([0.0, 2.0, 5.0]))
    assert "0x" not in repr(explorable) and len(repr(explorable)) < 200


def test_the_live_version_builds_a_slider_and_redraws_at_any_value(capsys):
    import ipywidgets as widgets

    box = ex.gan_offset([0.0, 2.0, 5.0]).live()
    slider, out = box.children
    assert isinstance(slider, widgets.FloatSlider) and (slider.min, slider.max) == (0.0, 5.0)
    slider.value = 1.3
    # outside a kernel the Output widget lets its prints through to stdout
    assert "offset 1.30: L(G, D*) = " in capsys.readouterr().out
