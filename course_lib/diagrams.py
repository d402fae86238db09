"""Graphical models of the diffusion lectures, drawn with matplotlib (no images, works offline).

After Luo (2022, arXiv 2208.11970), Figs. 1-5: the VAE, the Markovian hierarchical VAE, the
variational diffusion model with its fixed encoder, and the two ways of matching the encoder
and the decoder inside the ELBO (consistency, Eq. 45; denoising, Eq. 58). Encoder arrows are
red and run left to right underneath the chain; decoder arrows are green and run right to
left above it, as in Luo's figures.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch

ENCODER = "tab:red"
DECODER = "tab:green"
FADED = "0.75"
RADIUS = 0.45
SPACING = 1.9


def _axes(ax, width, height):
    if ax is None:
        _, ax = plt.subplots(figsize=(width, height))
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _node(ax, x, label, color="black"):
    """A latent or observed variable; label "..." draws the ellipsis of a long chain."""
    if label == "...":
        ax.text(x, 0, r"$\cdots$", ha="center", va="center", fontsize=18, color=color)
        return
    ax.add_patch(Circle((x, 0), RADIUS, fc="white", ec=color, lw=1.6, zorder=2))
    ax.text(x, 0, label, ha="center", va="center", fontsize=13, zorder=3, color=color)


def _arrow(ax, x_from, x_to, color, label="", bend=0.45, below=None, dashed=False,
           fontsize=11):
    """A curved arrow between two nodes of the chain, by default below the line when it runs
    to the right (encoder) and above it when it runs to the left (decoder)."""
    right = x_to > x_from
    below = right if below is None else below
    side = -1 if below else 1
    # matplotlib's arc3 bends a rightward arrow below the line for rad > 0, a leftward above
    rad = bend if right == below else -bend
    off = 0.7 * RADIUS  # leave and enter each circle at 45 degrees on the arc's side
    start = (x_from + (off if right else -off), side * off)
    end = (x_to - (off if right else -off), side * off)
    ax.add_patch(FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={rad}",
                                 arrowstyle="-|>", mutation_scale=15, color=color, lw=1.7,
                                 ls="--" if dashed else "-", zorder=1))
    if label:
        # a quadratic Bezier's midpoint lies half-way to its control point
        d = abs(x_to - x_from) - 2 * off
        y = side * (off + bend * d / 2 + 0.3)
        ax.text((x_from + x_to) / 2, y, label, ha="center", va="center", fontsize=fontsize,
                color=color)


def _frame(ax, n_nodes, top=1.6, bottom=1.6, right=0.6):
    ax.set_xlim(-0.6, (n_nodes - 1) * SPACING + right)
    ax.set_ylim(-bottom, top)


def vae(ax=None):
    """Luo Fig. 1: one latent h; encoder q_phi(h|x), decoder p_theta(x|h)."""
    ax = _axes(ax, 3.4, 2.3)
    _node(ax, 0, r"$x$")
    _node(ax, SPACING, r"$h$")
    _arrow(ax, 0, SPACING, ENCODER, r"$q_\phi(h\mid x)$")
    _arrow(ax, SPACING, 0, DECODER, r"$p_\theta(x\mid h)$")
    _frame(ax, 2)
    ax.set_title("VAE", fontsize=13)
    return ax.figure


def markovian_hvae(ax=None):
    """Luo Fig. 2: x, h_1, ..., h_T; learned encoder q_phi(h_t|h_{t-1}) and decoder
    p_theta(h_{t-1}|h_t), each step talking only to its neighbours (Eqs. 23, 24)."""
    labels = [r"$x$", r"$h_1$", "...", r"$h_{t-1}$", r"$h_t$", "...", r"$h_T$"]
    ax = _axes(ax, 11, 2.6)
    for i, lab in enumerate(labels):
        _node(ax, i * SPACING, lab)
    enc = [r"$q_\phi(h_1\mid x)$", "", "", r"$q_\phi(h_t\mid h_{t-1})$", "", ""]
    dec = [r"$p_\theta(x\mid h_1)$", "", "", r"$p_\theta(h_{t-1}\mid h_t)$", "", ""]
    for i in range(len(labels) - 1):
        _arrow(ax, i * SPACING, (i + 1) * SPACING, ENCODER, enc[i])
        _arrow(ax, (i + 1) * SPACING, i * SPACING, DECODER, dec[i])
    ax.text((len(labels) - 1) * SPACING + RADIUS + 0.1, 0, r"$p(h_T)$", va="center", fontsize=11)
    _frame(ax, len(labels), right=1.6)
    ax.set_title("Markovian hierarchical VAE: encoder (red, learned) and decoder (green)",
                 fontsize=12)
    return ax.figure


def vdm_chain(ax=None):
    """Luo Fig. 3: x_0, ..., x_T all of the data's dimension; the encoder
    q(x_t|x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, (1 - alpha_t) I) is fixed (dashed), only the
    decoder p_theta(x_{t-1}|x_t) is learned; p(x_T) = N(0, I)."""
    labels = [r"$x_0$", r"$x_1$", "...", r"$x_{t-1}$", r"$x_t$", "...", r"$x_T$"]
    ax = _axes(ax, 11, 2.6)
    for i, lab in enumerate(labels):
        _node(ax, i * SPACING, lab)
    enc = ["", "", "", r"$q(x_t\mid x_{t-1})$, fixed", "", ""]
    dec = [r"$p_\theta(x_0\mid x_1)$", "", "", r"$p_\theta(x_{t-1}\mid x_t)$", "", ""]
    for i in range(len(labels) - 1):
        _arrow(ax, i * SPACING, (i + 1) * SPACING, ENCODER, enc[i], dashed=True)
        _arrow(ax, (i + 1) * SPACING, i * SPACING, DECODER, dec[i])
    ax.text((len(labels) - 1) * SPACING + RADIUS + 0.1, 0, r"$p(x_T) = \mathcal{N}(0, I)$",
            va="center", fontsize=11)
    _frame(ax, len(labels), right=2.9)
    ax.set_title(r"VDM: fixed Gaussian encoder $\mathcal{N}(\sqrt{\alpha_t}\,x_{t-1}, "
                 r"(1-\alpha_t)I)$ (dashed), learned decoder", fontsize=12)
    return ax.figure


def matching_terms(axes=None):
    """Luo Figs. 4 and 5 side by side. Consistency (Eq. 45): at x_t the encoder step from
    x_{t-1} is matched with the decoder step from x_{t+1}; three variables per term.
    Denoising (Eq. 58): at x_{t-1} the decoder step from x_t is matched with the tractable
    posterior q(x_{t-1}|x_t, x_0); given x_0, one variable per term (x_t)."""
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(9, 5.2))
    labels = [r"$x_0$", "...", r"$x_{t-1}$", r"$x_t$", r"$x_{t+1}$", "...", r"$x_T$"]
    t = 3  # index of x_t in labels
    ax = _axes(axes[0], 9, 2.6)
    for i, lab in enumerate(labels):
        _node(ax, i * SPACING, lab, "black" if i in (t - 1, t, t + 1) else FADED)
    for i in range(len(labels) - 1):
        if i not in (t - 1, t):
            _arrow(ax, i * SPACING, (i + 1) * SPACING, FADED, dashed=True)
            _arrow(ax, (i + 1) * SPACING, i * SPACING, FADED)
    _arrow(ax, (t - 1) * SPACING, t * SPACING, ENCODER, r"$q(x_t\mid x_{t-1})$", dashed=True)
    _arrow(ax, (t + 1) * SPACING, t * SPACING, DECODER, r"$p_\theta(x_t\mid x_{t+1})$")
    _frame(ax, len(labels))
    ax.set_title("consistency term (Eq. 45): match at $x_t$, both sides random", fontsize=12)

    ax = _axes(axes[1], 9, 2.6)
    for i, lab in enumerate(labels):
        _node(ax, i * SPACING, lab, "black" if i in (0, t - 1, t) else FADED)
    for i in range(len(labels) - 1):
        if i != t - 1:
            _arrow(ax, (i + 1) * SPACING, i * SPACING, FADED)
        if i >= t:
            _arrow(ax, i * SPACING, (i + 1) * SPACING, FADED, dashed=True)
    _arrow(ax, t * SPACING, (t - 1) * SPACING, DECODER, r"$p_\theta(x_{t-1}\mid x_t)$")
    _arrow(ax, t * SPACING, (t - 1) * SPACING, ENCODER, r"$q(x_{t-1}\mid x_t, x_0)$", below=True)
    _arrow(ax, 0, (t - 1) * SPACING, ENCODER, r"given $x_0$", bend=0.25, dashed=True)
    _frame(ax, len(labels))
    ax.set_title("denoising term (Eq. 58): match at $x_{t-1}$, the target is tractable",
                 fontsize=12)
    return axes[0].figure
