"""The pictures every notebook draws: an image grid, 2D samples against the data, and a chain
(of a sampler, or of training) as an animation that works offline.

Each function draws one small labelled figure with matplotlib and returns it, so that a
notebook cell shows the idea and calls one function.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json

import matplotlib.pyplot as plt
import numpy as np


def _as_images(images, shape=None) -> np.ndarray:
    x = np.asarray(images)
    if shape is not None:  # flat images: (n, H*W) or (rows, cols, H*W)
        lead = x.shape[:-1] if x.shape[-1] == int(np.prod(shape)) else (-1,)
        x = x.reshape(*lead, *shape)
    if x.ndim not in (3, 4):
        raise ValueError(f"images must have shape (n, H, W) or (rows, cols, H, W) (or be flat "
                         f"with shape=(H, W)); got {x.shape}")
    return x


def image_grid(images, *, shape=None, rows: int | None = None, row_titles=None, col_titles=None,
               title: str | None = None, cmap: str = "gray_r", vmin: float = -1.0,
               vmax: float = 1.0, size: float = 0.8):
    """One figure of images on a grid, axes off; returns the Figure.

    images: (n, H, W), (rows, cols, H, W), or flat (n, H*W) with ``shape=(H, W)``. With (n, H,
    W), ``rows`` rows (default: as many rows of up to 10 as needed). ``size``: inches per image.
    """
    x = _as_images(images, shape)
    if x.ndim == 3:
        n = len(x)
        rows = rows or -(-n // min(n, 10))
        cols = -(-n // rows)
        x = np.concatenate([x, np.full((rows * cols - n, *x.shape[1:]), np.nan)])
        x = x.reshape(rows, cols, *x.shape[1:])
    rows, cols = x.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + (0.8 if row_titles else 0),
                                                  size * rows + (0.4 if title else 0)),
                             squeeze=False)
    for i in range(rows):
        for j in range(cols):
            axes[i, j].imshow(x[i, j], cmap=cmap, vmin=vmin, vmax=vmax)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            for side in axes[i, j].spines.values():
                side.set_visible(False)
        if row_titles is not None:
            axes[i, 0].set_ylabel(row_titles[i], rotation=0, ha="right", va="center", fontsize=9)
    for j, label in enumerate(col_titles or []):
        axes[0, j].set_title(label, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class Animation:
    """A sequence of frames as self-contained HTML/JS (PNG frames inlined, no CDN); Jupyter
    shows it through ``_repr_html_``, ``.html`` is the page fragment."""

    def __init__(self, pngs: list[bytes], titles: list[str], interval_ms: int):
        self.titles = list(titles)
        frames = [base64.b64encode(p).decode() for p in pngs]
        uid = "anim" + hashlib.sha256("".join(frames).encode()).hexdigest()[:12]
        self.html = f"""<div id="{uid}">
<img style="display:block" src="data:image/png;base64,{frames[0]}">
<button>play</button> <input type="range" aria-label="frame" min="0"
 max="{len(frames) - 1}" value="0" style="width:60%"> <span></span>
<script>(function() {{
  const root = document.getElementById("{uid}"), frames = {json.dumps(frames)},
        titles = {json.dumps(titles)};
  const img = root.querySelector("img"), button = root.querySelector("button"),
        slider = root.querySelector("input"), label = root.querySelector("span");
  let timer = null;
  function show(i) {{ img.src = "data:image/png;base64," + frames[i]; slider.value = i;
                     label.textContent = titles[i]; }}
  function stop() {{ clearInterval(timer); timer = null; button.textContent = "play"; }}
  button.onclick = () => {{
    if (timer) return stop();
    button.textContent = "pause";
    if (+slider.value === frames.length - 1) show(0);
    timer = setInterval(() => {{ const i = +slider.value + 1;
      if (i >= frames.length) stop(); else show(i); }}, {interval_ms});
  }};
  slider.oninput = () => {{ stop(); show(+slider.value); }};
  show(0);
}})();</script></div>"""

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # the notebook's plain-text fallback: no memory address
        return f"Animation of {len(self.titles)} frames"


def chain_animation(frames, *, titles=None, interval_ms: int = 150, lim: float | None = 3.0,
                    cmap: str = "gray_r", vmin: float = -1.0, vmax: float = 1.0,
                    size: float = 3.6, dpi: int = 60) -> Animation:
    """An animation of a chain: ``frames`` is (steps, n, 2) point clouds, or (steps, H, W) /
    (steps, k, H, W) images. ``titles``: one caption per frame (default "frame i")."""
    frames = np.asarray(frames)
    titles = list(titles) if titles is not None else [f"frame {i}" for i in range(len(frames))]
    if len(titles) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(titles)} titles")
    points = frames.ndim == 3 and frames.shape[-1] == 2
    pngs = []
    for frame, caption in zip(frames, titles):
        if points:
            fig, ax = plt.subplots(figsize=(size, size), dpi=dpi)
            ax.scatter(frame[:, 0], frame[:, 1], s=2, alpha=0.5)
            if lim is not None:
                ax.set_xlim(-lim, lim)
                ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_title(caption)
        else:
            images = frame[None] if frame.ndim == 2 else frame
            cols = int(np.ceil(np.sqrt(len(images))))
            fig = image_grid(images, rows=-(-len(images) // cols), title=caption, cmap=cmap,
                             vmin=vmin, vmax=vmax, size=size / cols)
            fig.set_dpi(dpi)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        plt.close(fig)
        pngs.append(buffer.getvalue())
    return Animation(pngs, titles, interval_ms)
