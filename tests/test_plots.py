"""The shared pictures: the right number of panels, and an animation that needs no network."""

import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course_lib import plots  # noqa: E402


def test_image_grid_lays_out_every_image_once():
    images = np.arange(12 * 4 * 4, dtype=float).reshape(12, 16)
    fig = plots.image_grid(images, shape=(4, 4), rows=3, row_titles=["a", "b", "c"])
    axes = fig.axes
    assert len(axes) == 12
    np.testing.assert_array_equal(axes[5].images[0].get_array(), images[5].reshape(4, 4))
    assert axes[4].get_ylabel() == "b"
    fig = plots.image_grid(np.zeros((2, 3, 4, 4)), col_titles=["x", "y", "z"])
    assert len(fig.axes) == 6 and fig.axes[2].get_title() == "z"
    with pytest.raises(ValueError, match="images must have shape"):
        plots.image_grid(np.zeros((3, 16)))
    plt.close("all")


def test_chain_animation_is_self_contained_html():
    frames = np.random.default_rng(0).normal(size=(4, 50, 2))
    anim = plots.chain_animation(frames, titles=[f"t = {t}" for t in (3, 2, 1, 0)])
    html = anim._repr_html_()
    assert html.count("iVBOR") == 4 + 1  # four PNG frames inline, the first also shown
    assert not re.search(r"(src|href)=\"https?:", html)  # nothing fetched from a network
    assert "t = 0" in html
    assert repr(anim) == "Animation of 4 frames"  # the .ipynb's text/plain: no memory address
    images = plots.chain_animation(np.zeros((3, 2, 8, 8)))
    assert images.html.count("iVBOR") == 3 + 1
    with pytest.raises(ValueError, match="4 frames but 2 titles"):
        plots.chain_animation(frames, titles=["a", "b"])
