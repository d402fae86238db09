"""The graphical models of course_lib.diagrams: every variable drawn, every arrow drawn."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Circle, FancyArrowPatch

from course_lib import diagrams


def count(fig, kind):
    return sum(isinstance(p, kind) for ax in fig.axes for p in ax.patches)


@pytest.mark.parametrize("draw, nodes, arrows", [
    (diagrams.vae, 2, 2),
    (diagrams.markovian_hvae, 5, 12),   # x, h_1, h_{t-1}, h_t, h_T; 6 links, both directions
    (diagrams.vdm_chain, 5, 12),
    (diagrams.matching_terms, 10, 10 + 11),  # consistency panel, denoising panel
])
def test_each_diagram_draws_its_nodes_and_arrows(draw, nodes, arrows):
    fig = draw()
    assert count(fig, Circle) == nodes
    assert count(fig, FancyArrowPatch) == arrows
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "q" in texts and "p_\\theta" in texts
    fig.canvas.draw()  # renders the mathtext labels: a bad label raises here
    plt.close(fig)
