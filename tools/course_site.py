"""The course notebooks as reveal.js slide decks and as a small course site, both working offline.

    python tools/course_site.py slides build/slides     # one deck per notebook
    python tools/course_site.py site build/site         # pages, decks, an index and a search
    python tools/course_site.py student build/student   # the notebooks without the solutions

The notebooks are rendered as committed, with their stored outputs; nothing is executed.
reveal.js, MathJax and Font Awesome come from the npm packages in node_modules/ (`npm ci`, run by
`make slides`/`make site`) and are copied next to the pages, so the folder is self-contained:
open it from a USB stick, with the network off, and every page works. The folder is built
beside its destination and moved into place at the end, so a failed build leaves the old one.

What the builder does with the notebooks' tags and metadata (the notebooks stay as they are):
- every figure gets alt text: the cell's metadata "alt", else the titles and axis labels the
  cell's code gives its plot, else the section it is in;
- the decks are made for a room (site_decks.py): a claim, an equation or a figure per slide,
  the rest of the prose in the speaker notes, code folded behind a click (tag a cell
  "show-input" to show it, "remove-input" to drop the code and keep the output, "remove-cell"
  to drop it), code cells without output left out, each solution under "Solution N: <title>";
- the student notebooks have no cells tagged "solution";
- the pages (site_pages.py) have a table of contents, previous/next, links to the deck, the
  .ipynb, Colab and Binder (COURSE_REPO), and the site a glossary, a troubleshooting page read
  from course_lib/doctor.py and a changelog with the errata;
- the pages follow the reader's dark mode and share one search box, whose lunr index
  (node_modules/lunr) is built here, with node, and shipped as a script so that it works
  from file://.
"""

import argparse
import copy
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from jupyter_core.paths import jupyter_path
from nbconvert import HTMLExporter, SlidesExporter
from nbconvert.filters import markdown2html
from traitlets.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
import site_decks  # noqa: E402  (tools/ is not a package)
import site_pages  # noqa: E402
from site_decks import SOLUTION, slide_type, tags  # noqa: E402, F401

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "tools" / "templates"
NODE_MODULES = ROOT / "node_modules"
ASSETS = "assets"  # folder of the local copies, beside the pages
# What each page needs from each npm package (paths inside the package).
PACKAGES = {
    "reveal.js": ["dist", "plugin", "LICENSE"],
    "mathjax": ["es5", "LICENSE"],
    "font-awesome": ["css", "fonts"],
    "lunr": ["lunr.min.js", "LICENSE"],
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
    c.SlidesExporter.reveal_width, c.SlidesExporter.reveal_height = "1280", "720"
    return kind(config=c, template_name=template, extra_template_basedirs=[str(TEMPLATES)],
                extra_template_paths=[str(TEMPLATES)])


# --------------------------------------------------------------- tags, metadata and alt text

IMAGES = ("image/png", "image/jpeg")
# The titles and labels a cell's code gives its figure: ax.set_title("..."), plt.xlabel(r"$t$")
LABEL_CALL = re.compile(r"\b(suptitle|set_title|title|set_xlabel|xlabel|set_ylabel|ylabel)"
                        r"\(\s*[rf]*([\"'])(.+?)\2")
HEADING = re.compile(r"^#{1,3} +(.+)$", re.M)


def words(tex: str) -> str:
    """A label or heading as plain words: TeX's $, braces and backslashes dropped."""
    text = re.sub(r"\\(?:mathrm|mathcal|text|mathbf|operatorname|left|right)\b", "", tex)
    for command, plain in (("langle", "<"), ("rangle", ">"), ("mid", "|"), ("sim", "~"),
                           ("cdot", "*"), ("log", "log "), ("bar", "bar "),
                           ("hat", "hat ")):
        text = re.sub(rf"\\{command}\b", plain, text)
    text = re.sub(r"[${}]|\\(?=[A-Za-z])", "", text).replace("\\", "")
    return " ".join(text.split())


def figure_alt(cell, section: str) -> str:
    """The cell's metadata "alt", else the titles and axis labels in its code, else its section."""
    if cell.metadata.get("alt"):
        return str(cell.metadata["alt"])
    found: dict[str, list[str]] = {"title": [], "x": [], "y": []}
    for call, _, text in LABEL_CALL.findall(cell.source):
        if "{" in text.replace("{}", "").replace("$", "") and re.search(r"(?<![\\^_]){\w", text):
            continue  # an f-string's placeholders: the words around them say too little
        kind = "title" if "title" in call else "x" if "x" in call else "y"
        if words(text) not in found[kind]:
            found[kind].append(words(text))
    parts = [f"Figure: {'; '.join(found['title']) if found['title'] else section}"]
    if found["x"] or found["y"]:
        parts.append(f"plotted against {', '.join(found['x']) or 'x'}"
                     + (f" ({', '.join(found['y'])})" if found["y"] else ""))
    return ", ".join(parts)


def with_alt_text(nb):
    """A copy of nb whose image outputs all carry alt text in their metadata."""
    nb, section = copy.deepcopy(nb), ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            section = next((words(h) for h in reversed(HEADING.findall(cell.source))), section)
            continue
        for output in cell.get("outputs", []):
            for mime in IMAGES:
                if mime in output.get("data", {}):
                    meta = output.setdefault("metadata", {}).setdefault(mime, {})
                    meta.setdefault("alt", figure_alt(cell, section))
    return nb


def for_deck(nb):
    """The notebook as a deck (site_decks.py: prose past the claim in the speaker notes, code
    folded, solutions under their heading), every figure with alt text."""
    return site_decks.for_deck(nb, with_alt_text)


def for_student(nb):
    """The notebook without the worked solutions (cells tagged "solution") and their outputs."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if SOLUTION not in tags(c)]
    return nb


def render(notebooks: list[Path], out: Path, kind: type[HTMLExporter], template: str,
           suffix: str, prepare=with_alt_text, finish=lambda page: page) -> dict[str, str]:
    """Each notebook, prepared, rendered and finished, written to out/; the pages by name."""
    export, pages = exporter(kind, template), {}
    for path in notebooks:
        body, _ = export.from_notebook_node(prepare(nbformat.read(path, as_version=4)))
        name = path.stem + suffix
        pages[name] = offline(finish(body), name)
        (out / name).write_text(pages[name], encoding="utf-8")
    return pages


# ------------------------------------------------------------------ dark mode and search

SEARCH_BAR = """<nav class="course-bar" aria-label="Course">
<a href="index.html">All weeks</a>
<div role="search">
<label for="course-search">Search the course</label>
<input id="course-search" type="search" autocomplete="off" placeholder="e.g. optimal discriminator">
<span id="course-search-status" aria-live="polite"></span>
<ol id="course-search-results"></ol>
</div>
</nav>"""
SEARCH_SCRIPTS = (f'<script src="{ASSETS}/lunr/lunr.min.js"></script>\n'
                  '<script src="search-index.js"></script>\n'
                  f'<script src="{ASSETS}/search.js"></script>')
# Pygments' and JupyterLab's colours that fall short of WCAG AA contrast (4.5:1) on a code
# cell's grey, in the light and the dark theme: numbers, operator words, comments, prompts.
CONTRAST_LIGHT = """
.highlight .mi, .highlight .mf, .highlight .mh, .highlight .il { color: #006b00; }
.highlight .ow { color: #7a1fc2; }
.highlight .c1, .highlight .c, .highlight .cm { color: #2f6666; }
.jp-InputPrompt, .jp-OutputPrompt { color: #4f4f4f !important; opacity: 1 !important; }
"""
CONTRAST_DARK = """
@media (prefers-color-scheme: dark) {
  .highlight .mi, .highlight .mf, .highlight .mh, .highlight .il { color: #7ccf7c; }
  .highlight .ow { color: #d3a6ff; }
  .highlight .c1, .highlight .c, .highlight .cm { color: #8fc4c4; }
  .jp-InputPrompt, .jp-OutputPrompt { color: #c0c0c0 !important; }
}
"""
BAR_CSS = """
.course-bar { display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; align-items: baseline;
  max-width: 1100px; margin: 0.8rem auto; padding: 0 1rem; font: 16px/1.4 system-ui, sans-serif; }
.course-bar [role=search] { flex: 1; min-width: 16rem; }
.course-bar label { margin-right: 0.5rem; }
.course-bar input { font: inherit; padding: 0.2rem 0.4rem; width: 18rem; max-width: 100%; }
.course-bar ol { margin: 0.3rem 0; padding-left: 1.4rem; }
.course-bar a { color: #1a4f8b; }
"""


def dark_css() -> str:
    """JupyterLab's dark theme when the reader's system asks for it; figures keep a white
    background (matplotlib draws black text on transparency)."""
    theme = next((Path(d) / "theme-dark.css" for d in
                  jupyter_path("nbconvert", "templates", "lab", "static")
                  if (Path(d) / "theme-dark.css").is_file()), None)
    if theme is None:
        sys.exit("error: nbconvert's lab template (static/theme-dark.css) is missing")
    return ("@media (prefers-color-scheme: dark) {\n" + theme.read_text(encoding="utf-8") + """
  body { background: var(--jp-layout-color0); color: var(--jp-content-font-color1); }
  .course-bar a, .jp-RenderedHTMLCommon a { color: #9ecbff; }
  .jp-RenderedImage img, .explorable img { background: #fff; padding: 4px; border-radius: 3px; }
}
""")


# matplotlib's animation (Animation.to_jshtml) has a slider without a label, and so had
# plots.chain_animation before it gained one (outputs stored in notebooks keep the old HTML)
ANIMATION_SLIDER = re.compile(
    r'<input(?=[^>]*(?:\bid="_anim_slider|type="range"))(?![^>]*aria-label)')


def labelled(page: str) -> str:
    return ANIMATION_SLIDER.sub('<input aria-label="animation frame"', page)


DATA_PNG = re.compile(r'<img(?=[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]{44}))')


def sized(match: re.Match) -> str:
    """A figure too tall to be drawn at the deck's width is drawn as tall as the slide allows."""
    w, h = site_decks.png_size(match[1])
    tall = h * site_decks.FIGURE_WIDTH * site_decks.SLIDE_WIDTH / w > 580
    return '<img class="deck-tall"' if tall else match[0]


def finish_deck(page: str) -> str:
    """A rendered deck with code colours of enough contrast (decks stay light), its figures
    sized for the room."""
    page = DATA_PNG.sub(sized, page)
    return labelled(page.replace("</head>", f"<style>{CONTRAST_LIGHT}</style>\n</head>", 1))


def finish_page(page: str) -> str:
    """A rendered notebook with the search bar on top, and dark mode."""
    css = BAR_CSS + dark_css() + CONTRAST_LIGHT + CONTRAST_DARK
    page = page.replace("</head>", f"<style>{css}</style>\n</head>", 1)
    page = re.sub(r"(<body[^>]*>)", lambda m: m[1] + "\n" + SEARCH_BAR, page, count=1)
    return labelled(page.replace("</body>", SEARCH_SCRIPTS + "\n</body>", 1))


SECTION = re.compile(r'<h([1-3]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(NOT_TEXT.sub(" ", fragment)).split())


def label(title: str) -> str:
    """A notebook's short name in search results: 'Week 17: training diffusion models' (the
    title up to the first comma after its colon), so that two notebooks of a week differ."""
    head, colon, tail = words(title).partition(":")
    return head + colon + tail.split(",")[0] if colon else head


def sections(name: str, page: str) -> list[dict]:
    """A page cut at its headings: one searchable section per heading, with its anchor and its
    title as plain text (TeX's $, braces and backslashes dropped)."""
    body = page[page.find("<body"):]
    marks = list(SECTION.finditer(body))
    title = text_of(marks[0][3]).rstrip("¶") if marks else name
    found = []
    for mark, following in zip(marks, [*marks[1:], None]):
        end = following.start() if following else len(body)
        heading = words(text_of(mark[3]).rstrip("¶").strip())
        found.append({"id": f"{name}#{mark[2]}", "url": f"{name}#{mark[2]}", "title": heading,
                      "page": label(title), "body": text_of(body[mark.end():end])})
    return found


def search_index(docs: list[dict]) -> str:
    """search-index.js: lunr's index over the sections, built by node, and their titles."""
    node = shutil.which("node")
    if node is None:
        sys.exit("error: node not found; the search index is built with lunr (Node.js 20)")
    built = subprocess.run([node, str(ROOT / "tools" / "search_index.js"),
                            str(NODE_MODULES / "lunr")], input=json.dumps(docs),
                           capture_output=True, text=True, timeout=300)
    if built.returncode != 0:
        sys.exit(f"error: building the search index failed: {built.stderr.strip()[-500:]}")
    titles = {d["id"]: {k: d[k] for k in ("url", "title", "page")} for d in docs}
    return ("window.COURSE_SEARCH = " + json.dumps({"index": json.loads(built.stdout),
                                                     "docs": titles}) + ";\n")


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


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
{mathjax}
<style>
{css}
body {{ font: 17px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
        padding: 0 1rem; color: #222; background: #fff; }}
h1 {{ font-size: 1.6rem; margin-bottom: 0.2rem; }}
.lede {{ color: #555; margin-top: 0; }}
ol.weeks {{ list-style: none; padding: 0; }}
ol.weeks > li {{ border-top: 1px solid #ddd; padding: 0.8rem 0; }}
li a.week {{ font-weight: 600; font-size: 1.1rem; text-decoration: none; color: #1a4f8b; }}
li p {{ margin: 0.3rem 0; }}
li ul.goals {{ margin: 0.2rem 0; padding-left: 1.3rem; }}
.facts {{ font-size: 0.95rem; color: #444; }}
dt {{ font-weight: 600; margin-top: 0.8rem; }}
table {{ border-collapse: collapse; font-size: 0.92rem; }}
td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.4rem; vertical-align: top; text-align: left; }}
code {{ overflow-wrap: anywhere; }}
@media (prefers-color-scheme: dark) {{
  body {{ background: #111; color: #ddd; }}
  .lede, .facts {{ color: #bbb; }}
  ol.weeks > li, td, th {{ border-color: #444; }}
  a, li a.week, .course-bar a {{ color: #9ecbff; }}
}}
</style>
</head>
<body>
{bar}
{toc}
<main>
<h1 id="top">{heading}</h1>
{content}
</main>
{scripts}
</body>
</html>
"""

WEEK = """<li>
<a class="week" href="{page}">{title}</a>
<p>{summary}</p>
{goals}<p class="facts">{prerequisites}<strong>Time:</strong> about {minutes} minutes
({words:,} words of text at 150 a minute, {exercises} exercises at 15 minutes each).</p>
<p><a class="slides" href="{deck}">Slides</a> &middot; <a href="{notebook}" download>Notebook
(.ipynb)</a> &middot; {badges}</p>
</li>"""

EXTRA_PAGES = (("glossary.html", "Glossary"), ("troubleshooting.html", "Troubleshooting"),
               ("changelog.html", "Changelog and errata"))


def natural(text: str) -> list:
    """Sort key reading numbers as numbers: 'Week 16, part 1' < 'Week 16, part 2' < 'Week 17'."""
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", text)]


def in_course_order(notebooks: list[Path]) -> list[tuple[Path, str, str]]:
    """(path, title, summary) in the order of the titles (file names put week16_diffusion
    before week16_gans)."""
    return sorted(((p, *title_and_summary(p)) for p in notebooks),
                  key=lambda entry: natural(entry[1]))


def inline_markdown(text: str) -> str:
    return markdown2html(text).strip().removeprefix("<p>").removesuffix("</p>")


def standalone(name: str, title: str, content: str, toc: str = "") -> str:
    """A page of the site that is not a notebook: the search bar, dark mode, MathJax."""
    mathjax = exporter(HTMLExporter, "course_page").environment.get_template(
        "mathjax_local.html.j2").module.mathjax_local(MATHJAX)
    bar = SEARCH_BAR if name != "index.html" else SEARCH_BAR.replace(
        '<a href="index.html">All weeks</a>\n', "")
    page = PAGE.format(mathjax=mathjax, title=html.escape(title), heading=html.escape(title),
                       content=content, css=BAR_CSS + site_pages.NAV_CSS, bar=bar, toc=toc,
                       scripts=SEARCH_SCRIPTS)
    return offline(page, name)


def index(notebooks: list[Path]) -> str:
    """The weeks in course order with their goals, prerequisites, time and links; then the
    glossary, troubleshooting and changelog pages."""
    weeks = []
    for path, title, summary in in_course_order(notebooks):
        facts = site_pages.week_facts(path)
        weeks.append(WEEK.format(
            page=f"{path.stem}.html", deck=f"{path.stem}.slides.html",
            notebook=f"{path.stem}.ipynb", title=html.escape(title),
            summary=inline_markdown(summary),
            goals=('<p class="facts"><strong>Learning goals:</strong></p>\n<ul class="goals">'
                   + "".join(f"<li>{inline_markdown(g)}</li>" for g in facts["goals"])
                   + "</ul>\n" if facts["goals"] else ""),
            prerequisites=("<strong>Prerequisites:</strong> " + ", ".join(
                inline_markdown(p) for p in facts["prerequisites"]) + ". "
                if facts["prerequisites"] else ""),
            minutes=facts["minutes"], words=facts["words"], exercises=facts["exercises"],
            badges=site_pages.badges(f"{path.stem}.ipynb")))
    extra = " &middot; ".join(f'<a href="{n}">{t}</a>' for n, t in EXTRA_PAGES)
    content = ('<p class="lede">Course notebooks for FYS5429 (University of Oslo), each '
               "rendered with the outputs of its last run, and as a slide deck (press "
               "<kbd>s</kbd> for the speaker notes). Everything here works offline.</p>\n"
               f'<p>{extra}</p>\n<ol class="weeks">\n' + "\n".join(weeks) + "\n</ol>")
    return standalone("index.html", "Generative models for the physical sciences: GANs and "
                      "diffusion models", content)


def around_the_notebooks(docs: list[dict], notebooks: list[Path]) -> dict[str, str]:
    """The glossary, troubleshooting and changelog pages, by file name."""
    ordered = in_course_order(notebooks)
    order = [f"{p.stem}.html" for p, _, _ in ordered]
    titles = {p.stem: title for p, title, _ in ordered}
    doctor = (ROOT / "course_lib" / "doctor.py").read_text(encoding="utf-8")
    pages = {
        "glossary.html": ("<p>Each term links to the section where the course introduces "
                          "it.</p>\n" + site_pages.glossary(docs, order, inline_markdown)),
        "troubleshooting.html": (
            "<p>Run <code>python -m course_lib doctor</code> (or <code>.venv/bin/python -m "
            "course_lib doctor</code>): it prints one line per check, <code>ok</code>, "
            "<code>warn</code> or <code>FAIL</code>, with what to do after the arrow. What each "
            "check looks at and every problem it can report, from "
            "<code>course_lib/doctor.py</code>:</p>\n" + site_pages.troubleshooting(doctor)),
        "changelog.html": (
            '<h2 id="errata">Errata</h2>\n<p>Slips in the lecture notes and in the papers the '
            "notebooks follow, and what the notebooks use instead.</p>\n"
            + site_pages.errata(inline_markdown)
            + '\n<h2 id="changes">Changes to the notebooks</h2>\n<p>The latest changes to each '
            "notebook, from the repository's history.</p>\n"
            + site_pages.changelog(ROOT, [p for p, _, _ in ordered], titles)),
    }
    out = {}
    for name, title in EXTRA_PAGES:
        body = pages[name]
        out[name] = standalone(name, title, body, site_pages.toc(
            "<body>" + body, words))
    return out


def week_page(path: Path, order: list[tuple[str, str]]):
    """finish_page for one notebook: the table of contents and the week's links added."""
    def finish(page: str) -> str:
        page = finish_page(page)
        nav = site_pages.week_nav(path.stem, order)
        bottom = nav.replace('aria-label="This week"', 'aria-label="This week, again"')
        page = page.replace("</nav>", "</nav>\n" + nav + "\n" + site_pages.toc(page, words), 1)
        page = page.replace("</style>\n</head>", site_pages.NAV_CSS + "</style>\n</head>", 1)
        return page.replace(SEARCH_SCRIPTS, bottom + "\n" + SEARCH_SCRIPTS, 1)
    return finish


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
    if what == "student":
        for path in notebooks:
            nbformat.write(for_student(nbformat.read(path, as_version=4)), tmp / path.name)
    else:
        copy_assets(tmp)
        render(notebooks, tmp, SlidesExporter, "course_slides", ".slides.html", prepare=for_deck,
               finish=finish_deck)
    if what == "site":
        order = [(p.stem, label(title)) for p, title, _ in in_course_order(notebooks)]
        pages = {}
        for path in notebooks:
            pages.update(render([path], tmp, HTMLExporter, "course_page", ".html",
                                finish=week_page(path, order)))
            shutil.copy2(path, tmp / path.name)  # the page's .ipynb link
        (tmp / "index.html").write_text(index(notebooks), encoding="utf-8")
        docs = [doc for name, page in pages.items() for doc in sections(name, page)]
        for name, page in around_the_notebooks(docs, notebooks).items():
            (tmp / name).write_text(page, encoding="utf-8")
        (tmp / "search-index.js").write_text(search_index(docs), encoding="utf-8")
        shutil.copy2(TEMPLATES / "search.js", tmp / ASSETS / "search.js")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["slides", "site", "student"],
                        help="slides: the decks only; site: pages, decks, an index and a "
                             "search; student: the notebooks without their solutions")
    parser.add_argument("out", type=Path, help="folder to create (replaced if it exists)")
    parser.add_argument("notebooks", type=Path, nargs="*",
                        help="notebooks to render (default: notebooks/week*.ipynb)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("week*.ipynb"))
    build(args.what, notebooks, args.out)
    print(f"{args.what}: {len(notebooks)} notebooks -> {args.out}/")


if __name__ == "__main__":
    main()
