"""Explorables: one parameter of the lecture on a slider, its picture and its numbers beside it.

Each explorable is computed by library functions that the tests already check
(course_lib.theory.gan, course_lib.diffusion, course_lib.ising), once per slider position, and
drawn as a sequence of frames. Two ways to show it:

    ex = explorables.ising_temperature()
    ex              # in a notebook: the frames inside a self-contained HTML snippet with an
                    # <input type=range>; it needs no kernel and no network, so it keeps working
                    # on the static site, in the slide decks and offline
    ex.live()       # in JupyterLab: an ipywidgets slider that recomputes at any value

The frame builders (`gan_offset_frames`, `diffusion_time_frames`, `ising_temperature_frames`)
return plain dictionaries of numbers, so that a test can hold them against the library.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from course_lib import data, ising
from course_lib import diffusion as dm
from course_lib.theory import gan as theory

Frame = dict[str, object]


@dataclass(frozen=True)
class Explorable:
    """A slider over `values`; frame i is `compute(values[i])`, drawn by `draw`.

    draw(fig, frames, i) draws frame i (it may use every frame, e.g. for a curve with a marker);
    caption(frame) is the one line of numbers shown under the picture, and its alt text.
    """

    title: str
    parameter: str
    values: tuple[float, ...]
    frames: tuple[Frame, ...]
    compute: Callable[[float], Frame]
    draw: Callable[[Figure, Sequence[Frame], int], None]
    caption: Callable[[Frame], str]
    start: int = 0
    figsize: tuple[float, float] = (9.0, 3.2)
    dpi: int = 80

    def __post_init__(self):
        if not 0 <= self.start < len(self.frames) == len(self.values):
            raise ValueError(f"need one frame per value and 0 <= start < {len(self.frames)}, "
                             f"got {len(self.frames)} frames, {len(self.values)} values, "
                             f"start {self.start}")

    def figure(self, i: int, frames: Sequence[Frame] | None = None) -> Figure:
        fig = Figure(figsize=self.figsize, dpi=self.dpi, layout="constrained")
        self.draw(fig, self.frames if frames is None else frames, i)
        return fig

    def png(self, i: int) -> str:
        """Frame i as a base64 PNG."""
        buffer = io.BytesIO()
        self.figure(i).savefig(buffer, format="png", facecolor="white")
        # a palette of 64 colours: a third of the bytes, the same picture to the eye
        image = Image.open(buffer).convert("RGB").quantize(64, method=Image.Quantize.MEDIANCUT)
        small = io.BytesIO()
        image.save(small, format="png", optimize=True)
        return base64.b64encode(small.getvalue()).decode()

    def html(self) -> str:
        """The frames in one <figure> with a range input; plain HTML and 20 lines of script."""
        frames = [{"src": f"data:image/png;base64,{self.png(i)}",
                   "caption": self.caption(f), "alt": f"{self.title}. {self.caption(f)}"}
                  for i, f in enumerate(self.frames)]
        key = hashlib.sha1(json.dumps([self.title, [f["caption"] for f in frames]]).encode())
        ident = f"explorable-{key.hexdigest()[:10]}"
        first = frames[self.start]
        return _HTML.format(
            id=ident, title=html.escape(self.title), parameter=html.escape(self.parameter),
            src=first["src"], alt=html.escape(first["alt"], quote=True),
            caption=html.escape(first["caption"]), last=len(frames) - 1, start=self.start,
            frames=json.dumps(frames).replace("</", "<\\/"))

    def __repr__(self) -> str:  # the notebook's plain-text fallback: no frames, no addresses
        return (f"Explorable({self.title!r}: {self.parameter} over {len(self.values)} values, "
                f"{self.values[0]:g} to {self.values[-1]:g})")

    _repr_html_ = html  # what Jupyter shows

    def live(self, steps: int = 200):
        """An ipywidgets slider (JupyterLab) that recomputes the frame at any value in range."""
        import ipywidgets as widgets
        from IPython.display import display

        lo, hi = float(min(self.values)), float(max(self.values))
        slider = widgets.FloatSlider(
            value=float(self.values[self.start]), min=lo, max=hi, step=(hi - lo) / steps,
            description=self.parameter, continuous_update=False,
            style={"description_width": "initial"}, layout=widgets.Layout(width="60%"))
        out = widgets.Output()

        def show(change=None):
            value = slider.value
            frame = self.compute(value)
            # the precomputed frames give the curves; the live frame is drawn on them
            i = int(np.searchsorted(self.values, value).clip(0, len(self.values) - 1))
            frames = list(self.frames)
            frames[i] = frame
            with out:
                out.clear_output(wait=True)
                display(self.figure(i, frames))
                print(self.caption(frame))

        slider.observe(show, names="value")
        show()
        return widgets.VBox([slider, out])


_HTML = """<figure class="explorable" id="{id}" style="margin:0.5em 0;max-width:760px">
<figcaption style="font-weight:600">{title}</figcaption>
<img src="{src}" alt="{alt}" style="width:100%;height:auto;background:#fff">
<label style="display:flex;gap:0.6em;align-items:center">{parameter}
<input type="range" min="0" max="{last}" step="1" value="{start}" style="flex:1"
 aria-label="{parameter}"></label>
<output aria-live="polite" style="display:block;font-family:monospace">{caption}</output>
<script type="application/json">{frames}</script>
<script>
(function () {{
  var script = document.currentScript;
  var fig = (script && script.closest("figure.explorable")) || document.getElementById("{id}");
  var frames = JSON.parse(fig.querySelector('script[type="application/json"]').textContent);
  var img = fig.querySelector("img"), input = fig.querySelector("input"),
      out = fig.querySelector("output");
  function show() {{
    var f = frames[+input.value];
    img.src = f.src; img.alt = f.alt; out.textContent = f.caption;
  }}
  input.addEventListener("input", show);
  input.addEventListener("keydown", function (e) {{ e.stopPropagation(); }});  // not the deck's
}})();
</script>
</figure>"""


# ------------------------------------------------------------ (a) the generator's offset


def gan_offset_frame(offset: float, data_std: float = 1.0,
                     grid: np.ndarray | None = None) -> Frame:
    """p_r = N(0, s^2), p_g = N(offset, s^2): D*(x) (Prop. 1), L(G, D*) and JSD(p_r || p_g)."""
    fine = np.linspace(-15, 15, 30_001) if grid is None else grid
    p_r, p_g = theory.gaussian_pdf(0.0, data_std), theory.gaussian_pdf(offset, data_std)
    d_star = theory.optimal_discriminator(p_r, p_g)
    x = np.linspace(-4 * data_std, 4 * data_std + 5.0, 361)
    return {"offset": float(offset), "x": x, "p_r": p_r(x), "p_g": p_g(x), "d_star": d_star(x),
            "value": theory.value(d_star, p_r, p_g, fine),
            "jsd": theory.js_divergence(p_r, p_g, fine)}


def gan_offset_frames(offsets: Sequence[float], data_std: float = 1.0) -> list[Frame]:
    return [gan_offset_frame(o, data_std) for o in offsets]


def _draw_gan(fig: Figure, frames: Sequence[Frame], i: int) -> None:
    f = frames[i]
    left, right = fig.subplots(1, 2, width_ratios=(1.4, 1))
    left.plot(f["x"], f["p_r"], color="C0", label="$p_r$ (data)")
    left.plot(f["x"], f["p_g"], color="C1", label="$p_g$ (generator)")
    twin = left.twinx()
    twin.plot(f["x"], f["d_star"], color="k", lw=1.5, label="$D^*(x)$")
    twin.axhline(0.5, color="gray", ls=":", lw=1)
    twin.set_ylim(-0.02, 1.02)
    twin.set_ylabel("$D^*(x)$")
    left.set_ylim(0, 0.45)
    left.set_xlabel("$x$")
    left.set_ylabel("density")
    lines = left.get_legend_handles_labels()
    twin_lines = twin.get_legend_handles_labels()
    left.legend(lines[0] + twin_lines[0], lines[1] + twin_lines[1], loc="upper right", fontsize=8)
    offsets = [g["offset"] for g in frames]
    right.plot(offsets, [g["value"] for g in frames], color="C2", label="$L(G, D^*)$")
    right.plot(offsets, [2 * g["jsd"] - theory.LOG4 for g in frames], color="k", ls="--",
               lw=1, label=r"$-\log 4 + 2\,\mathrm{JSD}$")
    right.plot(offsets, [g["jsd"] for g in frames], color="C3", label="JSD")
    right.plot([f["offset"]] * 2, [f["value"], f["jsd"]], "o", color="k", ms=5)
    right.axhline(np.log(2), color="gray", ls=":", lw=1)
    right.set_xlabel(r"generator offset $\mu$")
    right.set_ylim(-1.5, 0.8)
    right.legend(fontsize=8, loc="center right")


def _caption_gan(f: Frame) -> str:
    return (f"offset {f['offset']:.2f}: L(G, D*) = {f['value']:.4f} (min -log 4 = -1.3863), "
            f"JSD = {f['jsd']:.4f} nats ({f['jsd'] / np.log(2):.3f} of its ceiling log 2)")


def gan_offset(offsets: Sequence[float] = tuple(np.linspace(0, 6, 13))
               ) -> Explorable:
    """(a) Slide the generator N(mu, 1) off the data N(0, 1): D*, L(G, D*) and the JSD."""
    offsets = tuple(float(o) for o in offsets)
    return Explorable(
        title="The optimal discriminator as the generator slides off the data",
        parameter="generator offset μ", values=offsets,
        frames=tuple(gan_offset_frames(offsets)), compute=gan_offset_frame,
        draw=_draw_gan, caption=_caption_gan, start=len(offsets) // 4)


# -------------------------------------------------------- (b) the diffusion time


def diffusion_time_frames(ts: Sequence[int], betas: np.ndarray | None = None, n: int = 1000,
                          seed: int = 0) -> list[Frame]:
    """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (Eq. 69) on the swiss roll.

    The same x_0 and the same eps in every frame, so the frames differ only by t; t = 0 is the
    data itself. alpha_bar and SNR (Eq. 108) from course_lib.diffusion.
    """
    betas = dm.linear_betas(1000) if betas is None else betas
    ab = dm.alpha_bar(betas)
    k0, k1 = jax.random.split(jax.random.key(seed))
    x0 = np.asarray(data.get("swiss_roll").sample(k0, n))
    eps = np.asarray(jax.random.normal(k1, x0.shape))
    frames = []
    for t in ts:
        t = int(t)
        if not 0 <= t <= len(betas):
            raise ValueError(f"t must lie in 0..{len(betas)}, got {t}")
        a = 1.0 if t == 0 else float(ab[t - 1])
        x_t = x0 if t == 0 else np.asarray(dm.q_sample(x0, a, eps))
        frames.append({"t": t, "T": len(betas), "alpha_bar": a,
                       "snr": float("inf") if t == 0 else float(dm.snr(a)),
                       "x_t": x_t, "schedule": ab})
    return frames


def _draw_diffusion(fig: Figure, frames: Sequence[Frame], i: int) -> None:
    f = frames[i]
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.3))
    left.scatter(f["x_t"][:, 0], f["x_t"][:, 1], s=2, alpha=0.5, color="C0")
    left.set_xlim(-3.5, 3.5)
    left.set_ylim(-3.5, 3.5)
    left.set_aspect("equal")
    left.set_title(f"$x_t \\sim q(x_t\\mid x_0)$, t = {f['t']}", fontsize=10)
    ab = f["schedule"]
    t = np.arange(1, len(ab) + 1)
    right.plot(t, ab, color="C0", label=r"$\bar\alpha_t$")
    right.set_ylabel(r"$\bar\alpha_t$")
    right.set_xlabel("$t$")
    twin = right.twinx()
    twin.semilogy(t, dm.snr(ab), color="C3", label="SNR($t$)")
    twin.set_ylabel("SNR($t$)")
    if f["t"] > 0:
        right.plot(f["t"], f["alpha_bar"], "o", color="C0")
        twin.plot(f["t"], f["snr"], "o", color="C3")
    right.axvline(f["t"], color="gray", ls=":", lw=1)
    lines = right.get_legend_handles_labels()
    twin_lines = twin.get_legend_handles_labels()
    right.legend(lines[0] + twin_lines[0], lines[1] + twin_lines[1], loc="upper right",
                 fontsize=8)


def _caption_diffusion(f: Frame) -> str:
    if f["t"] == 0:
        return "t = 0: the data x_0 (alpha_bar = 1, SNR infinite)"
    return (f"t = {f['t']} of {f['T']}: alpha_bar_t = {f['alpha_bar']:.4f}, "
            f"SNR(t) = {f['snr']:.4g}, noise std sqrt(1 - alpha_bar_t) = "
            f"{np.sqrt(1 - f['alpha_bar']):.3f}")


def diffusion_time(ts: Sequence[int] = (0, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 600,
                                        800, 1000)) -> Explorable:
    """(b) The forward process eating the swiss roll (DDPM's linear schedule, T = 1000)."""
    ts = tuple(int(t) for t in ts)
    return Explorable(
        title="The forward process q(x_t | x_0) on the swiss roll, DDPM's linear schedule",
        parameter="diffusion time t", values=ts, frames=tuple(diffusion_time_frames(ts)),
        compute=lambda t: diffusion_time_frames([int(round(t))])[0],
        draw=_draw_diffusion, caption=_caption_diffusion,
        start=min(4, len(ts) - 1))


# ---------------------------------------------------------- (c) the Ising temperature


def ising_temperature_frames(temperatures: Sequence[float], L: int = 32, n_chains: int = 16,
                             burn_in: int = 300, measurements: int = 25, thin: int = 4,
                             sweeps: int = 500, seed: int = 0) -> list[Frame]:
    """A Metropolis snapshot and the chains' mean E/N and |m| (with standard errors) at each T.

    All temperatures use the same key, so neighbouring frames differ because T does.
    """
    frames = []
    key_obs, key_snap = jax.random.split(jax.random.key(seed))
    for T in temperatures:
        obs = ising.observables(key_obs, L, float(T), n_chains=n_chains, burn_in=burn_in,
                                measurements=measurements, thin=thin)
        e, e_err = ising.mean_and_error(obs["energy"])
        m, m_err = ising.mean_and_error(obs["abs_m"])
        snapshot = np.asarray(ising.metropolis(key_snap, L=L, T=float(T), n_chains=1,
                                               sweeps=sweeps)[0])
        frames.append({"T": float(T), "L": L, "energy": e, "energy_err": e_err, "abs_m": m,
                       "abs_m_err": m_err, "snapshot": snapshot})
    return frames


def _draw_ising(fig: Figure, frames: Sequence[Frame], i: int) -> None:
    f = frames[i]
    lattice, curves = fig.subplots(1, 2, width_ratios=(1, 2))
    lattice.imshow(f["snapshot"], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    lattice.set_xticks([])
    lattice.set_yticks([])
    lattice.set_title(f"{f['L']}x{f['L']} lattice, T = {f['T']:.2f}", fontsize=10)
    Ts = [g["T"] for g in frames]
    curves.errorbar(Ts, [g["abs_m"] for g in frames], [g["abs_m_err"] for g in frames],
                    color="C0", marker=".", label=r"$\langle|m|\rangle$")
    curves.errorbar(Ts, [g["energy"] for g in frames], [g["energy_err"] for g in frames],
                    color="C3", marker=".", label="$E/N$")
    curves.plot([f["T"]] * 2, [f["abs_m"], f["energy"]], "o", color="k", ms=7, mfc="none")
    curves.axvline(ising.T_CRITICAL, color="gray", ls="--", lw=1, label="$T_c$")
    curves.set_xlabel("$T$")
    curves.set_ylim(-2.05, 1.05)
    curves.legend(fontsize=8, loc="center right")


def _caption_ising(f: Frame) -> str:
    return (f"T = {f['T']:.2f} (T_c = {ising.T_CRITICAL:.3f}): "
            f"|m| = {f['abs_m']:.3f} +- {f['abs_m_err']:.3f}, "
            f"E/N = {f['energy']:.3f} +- {f['energy_err']:.3f}")


def ising_temperature(temperatures: Sequence[float] = tuple(np.linspace(1.5, 3.5, 13)),
                      L: int = 32) -> Explorable:
    """(c) Heat a lattice through T_c: a snapshot, |m| and E/N at each temperature."""
    temperatures = tuple(float(T) for T in temperatures)
    return Explorable(
        title=f"The 2D Ising model ({L}x{L}) heated through its critical temperature",
        parameter="temperature T", values=temperatures,
        frames=tuple(ising_temperature_frames(temperatures, L=L)),
        compute=lambda T: ising_temperature_frames([T], L=L)[0],
        draw=_draw_ising, caption=_caption_ising, start=len(temperatures) // 2)
