"""The course notebooks as reveal.js slide decks and as a small course site, both working offline.

    python tools/course_site.py slides build/slides   # one deck per notebook
    python tools/course_site.py site build/site       # pages, their decks and an index

The notebooks are rendered as committed, with their stored outputs; nothing is executed.
reveal.js, MathJax and Font Awesome come from the npm packages in node_modules/ (`npm ci`, run by
`make slides`/`make site`) and are copied next to the pages, so the folder is self-contained:
open it from a USB stick, with the network off, and every page works. The folder is built
beside its destination and moved into place at the end, so a failed build leaves the old one.
"""

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, SlidesExporter
from nbconvert.filters import markdown2html
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "tools" / "templates"
NODE_MODULES = ROOT / "node_modules"
ASSETS = "assets"  # folder of the local copies, beside the pages
# What each page needs from each npm package (paths inside the package).
PACKAGES = {
    "reveal.js": ["dist", "plugin", "LICENSE"],
    "mathjax": ["es5", "LICENSE"],
    "font-awesome": ["css", "fonts"],
}
MATHJAX = f"{ASSETS}/mathjax/es5/tex-chtml-full.js"
REVEAL = f"{ASSETS}/reveal.js"
# matplotlib's animation HTML (Animation.to_jshtml) links Font Awesome 4 from a CDN for its buttons.
FONT_AWESOME_CDN = re.compile(r"https?://[^\"']+/font-awesome/4\.\d+\.\d+/css/font-awesome(?:\.min)?\.css")
FONT_AWESOME = f"{ASSETS}/font-awesome/css/font-awesome.min.css"
# Anything the browser would fetch by itself: a script, style sheet, image, frame or media file.
REMOTE_RESOURCE = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?"
    r"((?:https?:)?//[^\"'\s>]+)", re.I)


def copy_assets(out: Path) -> None:
    """Copy the parts of the npm packages that the pages load into out/assets/."""
    for package, parts in PACKAGES.items():
        source = NODE_MODULES / package
        if not source.is_dir():
            sys.exit(f"error: {source} is missing: run `npm ci` in {ROOT} (make slides does)")
        for part in parts:
            src, dst = source / part, out / ASSETS / package / part
            dst.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)


def offline(page: str, name: str) -> str:
    """The page with Font Awesome from the local copy; an error naming any remote resource left."""
    page = FONT_AWESOME_CDN.sub(FONT_AWESOME, page)
    remote = sorted(set(REMOTE_RESOURCE.findall(page)))
    if remote:
        sys.exit(f"error: {name} would load {', '.join(remote)} from the internet; "
                 "only files under the site folder are allowed")
    return page


def exporter(kind: type[HTMLExporter], template: str) -> HTMLExporter:
    c = Config()
    c.HTMLExporter.mathjax_url = MATHJAX
    c.HTMLExporter.embed_images = True  # images in markdown cells travel inside the page
    c.SlidesExporter.reveal_url_prefix = REVEAL
    c.SlidesExporter.reveal_theme = "white"  # nbconvert's default, "simple", imports web fonts
    return kind(config=c, template_name=template, extra_template_basedirs=[str(TEMPLATES)],
                extra_template_paths=[str(TEMPLATES)])


def render(notebooks: list[Path], out: Path, kind: type[HTMLExporter], template: str,
           suffix: str) -> None:
    export = exporter(kind, template)
    for path in notebooks:
        body, _ = export.from_notebook_node(nbformat.read(path, as_version=4))
        name = path.stem + suffix
        (out / name).write_text(offline(body, name), encoding="utf-8")


def title_and_summary(path: Path) -> tuple[str, str]:
    """The '# ' heading of the notebook's first markdown cell and the first sentence after it."""
    nb = nbformat.read(path, as_version=4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    lines = first.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        sys.exit(f"error: {path} must open with a markdown cell whose first line is '# title'")
    paragraph = " ".join(first.strip().split("\n\n")[1:2][0].split()) if "\n\n" in first else ""
    sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z])", paragraph, maxsplit=1)[0]
    return lines[0][2:].strip(), sentence


INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>GANs and diffusion models: the course notebooks</title>
{mathjax}
<style>
body {{ font: 17px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
        padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.6rem; margin-bottom: 0.2rem; }}
.lede {{ color: #555; margin-top: 0; }}
ol {{ list-style: none; padding: 0; }}
li {{ border-top: 1px solid #ddd; padding: 0.8rem 0; }}
li a.week {{ font-weight: 600; font-size: 1.1rem; text-decoration: none; color: #1a4f8b; }}
li p {{ margin: 0.3rem 0; }}
li .slides {{ font-size: 0.9rem; }}
</style>
</head>
<body>
<main>
<h1>Generative models for the physical sciences: GANs and diffusion models</h1>
<p class="lede">Course notebooks for FYS5429 (University of Oslo), each rendered with the
outputs of its last run, and as a slide deck. Everything here works offline.</p>
<ol>
{weeks}
</ol>
</main>
</body>
</html>
"""

WEEK = """<li>
<a class="week" href="{page}">{title}</a>
<p>{summary}</p>
<a class="slides" href="{deck}">slides</a>
</li>"""


def natural(text: str) -> list:
    """Sort key reading numbers as numbers: 'Week 16, part 1' < 'Week 16, part 2' < 'Week 17'."""
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", text)]


def index(notebooks: list[Path]) -> str:
    """The weeks in the order of their titles (file names put week16_diffusion before _gans)."""
    weeks = []
    for path, (title, summary) in sorted(((p, title_and_summary(p)) for p in notebooks),
                                         key=lambda entry: natural(entry[1][0])):
        weeks.append(WEEK.format(page=f"{path.stem}.html", deck=f"{path.stem}.slides.html",
                                 title=html.escape(title),
                                 summary=markdown2html(summary).strip().removeprefix("<p>")
                                 .removesuffix("</p>")))
    mathjax = exporter(HTMLExporter, "course_page").environment.get_template(
        "mathjax_local.html.j2").module.mathjax_local(MATHJAX)
    return offline(INDEX.format(mathjax=mathjax, weeks="\n".join(weeks)), "index.html")


def build(what: str, notebooks: list[Path], out: Path) -> None:
    """Render into a fresh folder beside out, then put it in out's place."""
    if not notebooks:
        sys.exit("error: no notebooks given (expected notebooks/week*.ipynb)")
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        sys.exit(f"error: no such notebook: {', '.join(missing)}")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    copy_assets(tmp)
    render(notebooks, tmp, SlidesExporter, "course_slides", ".slides.html")
    if what == "site":
        render(notebooks, tmp, HTMLExporter, "course_page", ".html")
        (tmp / "index.html").write_text(index(notebooks), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["slides", "site"],
                        help="slides: the decks only; site: pages, decks and an index")
    parser.add_argument("out", type=Path, help="folder to create (replaced if it exists)")
    parser.add_argument("notebooks", type=Path, nargs="*",
                        help="notebooks to render (default: notebooks/week*.ipynb)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("week*.ipynb"))
    build(args.what, notebooks, args.out)
    print(f"{args.what}: {len(notebooks)} notebooks -> {args.out}/")


if __name__ == "__main__":
    main()
