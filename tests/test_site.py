"""The course site and its slide decks opened in a real headless Chromium with every host name
unresolvable: the pages load, MathJax typesets the math, the figures show (with alt text), the
index's links resolve, nothing is requested from anywhere but the site's own folder; the
explorables' sliders change their pictures, the search finds sections from file://, dark mode
darkens the pages but not the figures, axe-core finds no serious or critical violation, and no
deck slide is taller than 1280x720 or cuts a line of code off."""

import html
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("week*.ipynb"))


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


browser = _tool("browser")
course_site = _tool("course_site")


@pytest.fixture(scope="module")
def chromium():
    with browser.Chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The committed notebooks rendered once, as `make site` does."""
    site = tmp_path_factory.mktemp("built") / "site"
    build = subprocess.run([sys.executable, ROOT / "tools" / "course_site.py", "site", site],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    return site


def test_the_site_and_its_decks_work_offline(site, chromium):
    """Every page and every deck the index links to; each week's page must show its math."""

    index = browser.inspect(chromium, site / "index.html")
    found = browser.problems(index, expect_math=False)
    assert not found, "index.html: " + "; ".join(found)
    linked = sorted({Path(link).name for link in index["links"] if link.startswith("file:")})
    assert linked == sorted([nb.stem + suffix for nb in NOTEBOOKS
                             for suffix in (".html", ".slides.html", ".ipynb")]
                            + [name for name, _ in course_site.EXTRA_PAGES])
    for name, _ in course_site.EXTRA_PAGES:
        found = browser.problems(browser.inspect(chromium, site / name), expect_math=False)
        assert not found, f"{name}: " + "; ".join(found)
    linked = [name for name in linked if name.endswith(".html") and "week" in name]

    images = 0
    for name in linked:
        report = browser.inspect(chromium, site / name)
        found = browser.problems(report)
        assert not found, f"{name}: " + "; ".join(found)
        if name.endswith(".slides.html"):
            assert report["reveal_ready"] and report["slides"] > 1, name
        images += report["images"]
    assert images > 0  # the notebooks do show figures, and every one of them loaded


def test_the_checker_fails_a_page_that_reaches_for_the_internet(tmp_path, chromium):
    """The same checks on a page written the usual way: MathJax from a CDN, a missing figure."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8">'
                    '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js">'
                    "</script></head><body><p>The energy $E = mc^2$.</p>"
                    '<img src="figure.png"><a href="week99.html">next week</a></body></html>')
    found = "\n".join(browser.problems(browser.inspect(chromium, page)))
    assert "requests leaving the machine: ['https://cdn.jsdelivr.net/npm/mathjax@3" in found
    assert "no math typeset" in found
    assert "math left as raw TeX: ['$E = mc^2$']" in found
    assert "1 of 1 images do not show" in found
    assert "broken link: " in found and "week99.html" in found


def test_the_site_builder_localises_font_awesome_and_refuses_other_remote_resources():
    animation = ('<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/font-awesome/'
                 '4.4.0/css/font-awesome.min.css">')
    assert course_site.offline(animation, "week.html") == (
        f'<link rel="stylesheet" href="{course_site.FONT_AWESOME}">')
    with pytest.raises(SystemExit, match="https://cdn.plot.ly/plotly.min.js"):
        course_site.offline('<script src="https://cdn.plot.ly/plotly.min.js"></script>', "x.html")
    paper = '<a href="https://arxiv.org/abs/2208.11970">Luo (2022)</a>'  # a link, not a load
    assert course_site.offline(paper, "x.html") == paper


def test_make_course_writes_only_under_build_and_leaves_the_notebooks_untouched(tmp_path):
    """The recipe of `make course` (printed by make -n for every notebook) writes executed copies
    and the site under BUILD; then the real thing on week 0, and git sees no change."""
    build = tmp_path / "build"
    recipe = subprocess.run(["make", "-n", "course", f"BUILD={build}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert recipe.returncode == 0, recipe.stderr
    steps = [line for line in recipe.stdout.replace("\\\n", " ").splitlines()
             if "nbconvert" in line or "course_site.py" in line]
    assert steps and not any("--inplace" in line for line in steps), steps
    assert any(f"--output-dir {build}/notebooks" in line for line in steps), steps
    assert any(f"site {build}/site {build}/notebooks/week00_setup.ipynb" in line for line in steps)

    def status():
        return subprocess.run(["git", "status", "--porcelain", "--", "notebooks"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout

    # The real recipe, on a one-cell notebook (executing week 0 here would take a minute)
    tiny = tmp_path / "week99_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Week 99: tiny\n\nOne cell."),
        nbformat.v4.new_code_cell("print(6 * 7)")]), tiny)
    committed, before = tiny.read_bytes(), status()
    run = subprocess.run(["make", "course", f"BUILD={build}", f"NOTEBOOKS={tiny}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert status() == before and tiny.read_bytes() == committed
    executed = nbformat.read(build / "notebooks" / tiny.name, as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "42\n"
    assert (build / "site" / "week99_tiny.html").is_file()


# ------------------------------------------------------------------- explorables

def _moved(report):
    """Each slider moved to its two ends and back: the picture, its alt text and the caption
    changed, and came back to a frame of the range."""
    assert report, "no explorable on the page"
    for fig in report:
        low, high, back = fig["seen"]
        assert fig["frames"] > 2, fig["title"]
        for key in ("src", "alt", "caption"):
            assert low[key] != high[key], (fig["title"], key)
        assert back["value"] in range(fig["frames"]) and back["caption"]


def test_the_explorables_sliders_change_the_picture_on_the_page_in_the_deck_and_alone(
        site, chromium, tmp_path):
    """Week 0's Ising explorable on its page and in its deck, and (a) and (b) on a bare page."""
    from course_lib import explorables

    for name in ("week00_setup.html", "week00_setup.slides.html"):
        session = browser.open_page(chromium, site / name)
        _moved(browser.move_sliders(chromium, session))
        browser.close_page(chromium, session)
    page = tmp_path / "explorables.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>x</title>'
                    "</head><body><main>"
                    + explorables.gan_offset([0.0, 1.0, 3.0]).html()
                    + explorables.diffusion_time([0, 100, 1000]).html()
                    + "</main></body></html>")
    report = browser.inspect(chromium, page)
    assert not browser.problems(report, expect_math=False)
    session = browser.open_page(chromium, page)
    moved = browser.move_sliders(chromium, session)
    browser.close_page(chromium, session)
    assert [fig["title"][:25] for fig in moved] == ["The optimal discriminator",
                                                     "The forward process q(x_t"]
    _moved(moved)
    assert moved[1]["seen"][1]["caption"].startswith("t = 1000 of 1000: alpha_bar_t = 0.0000")


# ------------------------------------------------------------------- search, dark mode, alt

SEARCH = """(async (query) => {
  const input = document.getElementById('course-search');
  input.value = query;
  input.dispatchEvent(new Event('input'));
  return {status: document.getElementById('course-search-status').textContent,
          hits: [...document.querySelectorAll('#course-search-results a')]
                  .map(a => a.getAttribute('href'))};
})"""


def test_the_search_box_finds_sections_from_file_urls_on_every_page(site, chromium):
    for name in ("index.html", "week00_setup.html", "week17_diffusion.html"):
        session = browser.open_page(chromium, site / name)
        found = chromium.evaluate(f"{SEARCH}('optimal discrim')", session)
        assert "week16_gans.html#The-optimal-discriminator" in found["hits"][:3], found
        none = chromium.evaluate(f"{SEARCH}('qwertyzzz')", session)
        assert none == {"status": "nothing found", "hits": []}
        ising = chromium.evaluate(f"{SEARCH}('Ising temperature')", session)
        assert any(h.startswith("week00_setup.html#") for h in ising["hits"]), ising
        browser.close_page(chromium, session)
    # every hit is an anchor that exists on its page
    index = (site / "search-index.js").read_text()
    for anchor in ("The-optimal-discriminator", "Explore:-heating-a-lattice-through-$T_c$"):
        page = "week16_gans.html" if "discrim" in anchor else "week00_setup.html"
        assert f'"{page}#{anchor}"' in index and f'id="{anchor}"' in (site / page).read_text()


SEARCH_ALL = """(async (query) => {
  const input = document.getElementById('course-search');
  input.value = query;
  input.dispatchEvent(new Event('input'));
  const more = document.querySelector('.course-search-more');
  if (more) more.click();
  return {status: document.getElementById('course-search-status').textContent,
          hits: [...document.querySelectorAll('#course-search-results a')]
                  .map(a => [a.getAttribute('href'), a.textContent,
                             a.parentElement.textContent])};
})"""


def test_the_search_finds_every_section_that_holds_a_word_or_phrase(site, chromium):
    """Whole words, stemmed as the index is: each query finds every section whose text holds
    it (counted here from the pages, independently of lunr); titles are plain text, headings
    come first, and each notebook has a label of its own."""
    docs = [doc for page in sorted(site.glob("week*.html")) if ".slides" not in page.name
            for doc in course_site.sections(page.name, page.read_text(encoding="utf-8"))]
    assert len({doc["page"] for doc in docs}) == len(NOTEBOOKS), {d["page"] for d in docs}

    def plain(text):
        return " ".join(re.sub(r"[-\u2010-\u2015]", " ", text.lower()).split())

    session = browser.open_page(chromium, site / "week16_gans.html")
    for query in ("noise", "divergence", "variance", "samples", "gradient penalty",
                  "Jensen-Shannon", "Wasserstein"):
        pattern = re.compile(rf"\b{re.escape(plain(query))}\b")
        holding = {d["url"] for d in docs if pattern.search(plain(d["title"] + " " + d["body"]))}
        found = chromium.evaluate(f"{SEARCH_ALL}({json.dumps(query)})", session)
        hits = [h[0] for h in found["hits"]]
        assert holding, query
        assert holding <= set(hits), (query, sorted(holding - set(hits)))
        assert found["status"] == f"{len(hits)} section{'s' * (len(hits) > 1)} found", found
        assert not any("$" in h[1] for h in found["hits"]), (query, found["hits"])
        # headings that hold the words come before those that hold none of their beginnings
        exact = [i for i, h in enumerate(found["hits"]) if pattern.search(plain(h[1]))]
        near = re.compile("|".join(rf"\b{w[:4]}" for w in plain(query).split()))
        titled = sum(bool(near.search(plain(h[1]))) for h in found["hits"])
        assert all(i < titled for i in exact), (query, exact, titled, found["hits"][:5])
        print(f"{query!r}: {len(hits)} sections found, {len(holding)} hold it as written")
    jsd = chromium.evaluate(f"{SEARCH_ALL}('Jensen-Shannon')", session)["hits"][0]
    assert "Jensen" in jsd[1], jsd  # a heading, ranked first
    browser.close_page(chromium, session)
    index = (site / "search-index.js").read_text()
    titles = json.loads(index[index.index("{"):index.rindex(";")])["docs"]
    assert not [t["title"] for t in titles.values() if "$" in t["title"]]


LOOK = """(() => {
  const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).map(Number);
                     return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
  const body = getComputedStyle(document.body);
  const img = document.querySelector('.jp-RenderedImage img');
  return {background: lum(body.backgroundColor), text: lum(body.color),
          figure: img ? getComputedStyle(img).backgroundColor : null,
          alts: [...document.images].map(i => i.getAttribute('alt'))};
})()"""


def test_dark_mode_follows_the_system_and_keeps_figures_on_white_and_every_figure_has_alt(
        site, chromium):
    for name in ["index.html"] + [nb.stem + ".html" for nb in NOTEBOOKS]:
        light = chromium.evaluate(LOOK, session := browser.open_page(chromium, site / name))
        browser.close_page(chromium, session)
        dark = chromium.evaluate(LOOK, session := browser.open_page(chromium, site / name, True))
        browser.close_page(chromium, session)
        assert light["background"] > 0.9 and light["text"] < 0.3, (name, light)
        assert dark["background"] < 0.15 and dark["text"] > 0.7, (name, dark)
        if name != "index.html":
            assert dark["figure"] == "rgb(255, 255, 255)", name
            assert light["alts"] and all(a and len(a) > 12 for a in light["alts"]), (name, light)


def test_alt_text_comes_from_metadata_then_the_plots_titles_then_the_section():
    cell = nbformat.v4.new_code_cell('ax.set_title("$D^*(x)$ against $x$")\nax.set_xlabel(r"$x$")')
    assert course_site.figure_alt(cell, "Sec") == "Figure: D^*(x) against x, plotted against x"
    assert course_site.figure_alt(nbformat.v4.new_code_cell("plt.plot(x)"), "The data") == (
        "Figure: The data")
    cell.metadata["alt"] = "Two curves"
    assert course_site.figure_alt(cell, "Sec") == "Two curves"


# ------------------------------------------------------------------- accessibility

def test_axe_core_finds_no_serious_or_critical_violation(site, chromium):
    """Every page and the index with all of axe's rules, again in dark mode for contrast (the
    other rules do not depend on the colours), and every deck; the counts are printed."""
    names = (["index.html"] + [nb.stem + ".html" for nb in NOTEBOOKS]
             + [name for name, _ in course_site.EXTRA_PAGES])
    runs = [(n, False) for n in names] + [(n, True) for n in names]
    runs += [(nb.stem + ".slides.html", False) for nb in NOTEBOOKS]
    counts, bad = {}, []
    for name, dark in runs:
        session = browser.open_page(chromium, site / name, dark=dark)
        found = browser.axe_audit(chromium, session, ["color-contrast"] if dark else None)
        browser.close_page(chromium, session)
        for impact, rules in found.items():
            counts[impact] = counts.get(impact, 0) + len(rules)
            if impact in ("serious", "critical"):
                bad.append(f"{name}{' (dark)' if dark else ''}: {impact}: {rules}")
    print(f"axe-core over {len(runs)} page views, violated rules by impact: {counts}")
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------- decks

def test_every_deck_is_made_for_a_room(site, chromium):
    """Each slide of each deck: at most 40 visible words, figures at 80 % of the slide's width
    (or height), no scale below 0.9, nothing past the bottom edge (with its code unfolded
    too), no code line cut, no display equation past the right edge, a solution under its
    "Solution N: <title>" heading; every deck has speaker notes."""
    counts = []
    for nb in NOTEBOOKS:
        session = browser.open_page(chromium, site / f"{nb.stem}.slides.html")
        deck = browser.deck_audit(chromium, session)
        browser.close_page(chromium, session)
        assert deck["height"] == 720 and len(deck["slides"]) > 3
        found = browser.deck_problems(deck)
        assert not found, f"{nb.stem}: " + "; ".join(found)
        slides = deck["slides"]
        counts.append(f"{nb.stem}: {len(slides)} slides, at most "
                      f"{max(s['words'] for s in slides)} words, "
                      f"{sum(bool(s['notes']) for s in slides)} with notes, "
                      f"{sum(s['zoom'] < 1 for s in slides)} shrunk")
    print("\n".join(counts))


# Each fault the deck check is for, planted in a built deck in the browser (the page reloaded
# between faults); the check must name it.
PLANTED = {
    "visible words": """const s = Reveal.getSlides()[1];
        s.insertAdjacentHTML('beforeend', '<p>' + 'word '.repeat(45) + '</p>');""",
    "of the slide's width": """const img = document.querySelector('.jp-RenderedImage img');
        img.classList.remove('deck-tall'); img.style.width = '50%';""",
    "scaled to 0.8": """window.fitSlide = s => { s.style.zoom = 0.8; };""",
    "with its code unfolded": """const d = Reveal.getSlides()[2].querySelector('details');
        d.style.position = 'static'; d.style.maxHeight = 'none';
        d.insertAdjacentHTML('beforeend', '<div style="height: 900px"></div>');""",
    "without a 'Solution N: <title>' heading": """document.querySelectorAll('.celltag_solution')
        .forEach(c => c.closest('section').querySelectorAll('h1,h2,h3')
        .forEach(h => h.remove()));""",
    "no speaker notes": """document.querySelectorAll('aside.notes').forEach(n => n.remove());""",
    "shows its heading and nothing else": """Reveal.getSlides()[6].innerHTML =
        '<h3>Solution 1: planted (continued)</h3><aside class="notes">all of it</aside>';""",
    "display equation(s) past the right edge": """Reveal.getSlides()[1].insertAdjacentHTML(
        'beforeend', '<mjx-container display="true"><mjx-math style="display: inline-block; '
        + 'width: 3000px">x</mjx-math></mjx-container>');""",
}


@pytest.mark.parametrize("fault", PLANTED)
def test_the_deck_check_fails_each_planted_fault(site, chromium, fault):
    session = browser.open_page(chromium, site / "week15_first_gan.slides.html")
    chromium.evaluate(f"(() => {{ {PLANTED[fault]} }})(); 1", session)
    found = browser.deck_problems(browser.deck_audit(chromium, session))
    browser.close_page(chromium, session)
    assert any(fault in line for line in found), found


def _notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def test_decks_fold_code_drop_silent_cells_and_give_each_solution_a_slide_of_its_own():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    output = nbformat.v4.new_output("stream", text="42\n")
    setup = code("import numpy as np", metadata={"slideshow": {"slide_type": "slide"}})
    shown = code("# Fit the line\nprint(42)", outputs=[output])
    question = md("## Exercises\n\n1. Why 42?\n2. **Not 43.** Why not 43?",
                  metadata={"slideshow": {"slide_type": "slide"}})
    solutions = [code(f"# Solution {i}\nprint(42)", outputs=[output],
                      metadata={"tags": ["solution"]}) for i in (1, 2)]
    after = md("Next: week 17.")
    keep = code("print(1)", outputs=[output], metadata={"tags": ["show-input"]})
    deck = course_site.for_deck(_notebook(setup, shown, question, *solutions, after, keep))
    cells = deck.cells
    kinds = [course_site.slide_type(c) for c in cells]
    # the setup cell, with no output, is left out, and its slide opens on the next
    assert kinds == ["slide", "slide", "notes", "slide", "-", "slide", "-", "slide", "-"], kinds
    assert cells[0].metadata["deck_input"] == "fold"
    assert cells[0].metadata["deck_summary"] == "Fit the line"
    assert cells[1].source == "## Exercises\n\n1. Why 42?\n2. **Not 43.**"  # the leads...
    assert cells[2].source == question.source.split("\n\n")[1]  # ...the list in the notes
    # each solution under its heading "Solution N: <title>", the question restated
    assert [cells[i].source for i in (3, 5)] == ["### Solution 1: Why 42?",
                                                 "### Solution 2: Not 43\n\nWhy not 43?"]
    assert cells[8].metadata["deck_input"] == "show"
    student = course_site.for_student(_notebook(setup, question, *solutions, after))
    assert [c.source for c in student.cells] == [setup.source, question.source, after.source]


def test_a_solution_s_prose_that_shows_nothing_goes_to_the_notes_not_to_a_bare_slide():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    question = md("## Exercises\n\n1. Why 42?", metadata={"slideshow": {"slide_type": "slide"}})
    solution = code("# Solution 1\nprint(42)", metadata={"tags": ["solution"]},
                    outputs=[nbformat.v4.new_output("stream", text="42\n")])
    answer = md("It is " + "forty-two " * 40 + "in the end.", metadata={"tags": ["solution"]})
    cells = course_site.for_deck(_notebook(question, solution, answer)).cells
    assert not any("(continued)" in c.source for c in cells)
    assert course_site.slide_type(cells[-1]) == "notes" and cells[-1].source == answer.source


def test_the_student_build_has_no_solutions(tmp_path):
    out = tmp_path / "student"
    run = subprocess.run([sys.executable, ROOT / "tools" / "course_site.py", "student", out],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    for nb in NOTEBOOKS:
        full, student = (nbformat.read(p, as_version=4) for p in (nb, out / nb.name))
        solutions = [c for c in full.cells if "solution" in c.metadata.get("tags", [])]
        assert len(student.cells) == len(full.cells) - len(solutions)
        assert not any("solution" in c.metadata.get("tags", []) for c in student.cells)


# ------------------------------------------------------------------ around the notebooks

site_pages = _tool("site_pages")

NAVIGATION = """(() => {
  const toc = document.querySelector('nav.course-toc'), main = document.querySelector('main')
    || document.querySelector('.jp-Notebook') || document.body;
  const week = document.querySelector('nav.course-week');
  const first = main.querySelector('h1, .jp-Cell');
  const t = toc.getBoundingClientRect(), m = first.getBoundingClientRect();
  const anchors = [...toc.querySelectorAll('a')].map(a => a.getAttribute('href').slice(1));
  return {toc: anchors.length, missing: anchors.filter(id => !document.getElementById(id)),
          beside: t.right <= m.left + 1, above: t.bottom <= m.top + 1,
          links: week ? [...week.querySelectorAll('a')].map(a => [a.rel || a.className,
                                                                 a.getAttribute('href')]) : []};
})()"""


def test_every_week_page_has_a_toc_previous_next_deck_notebook_and_badges(site, chromium):
    """The table of contents beside the page on a wide screen and above it at 420 px, every
    entry an anchor of the page; previous/next in course order; the deck, the .ipynb, and
    Colab and Binder links built from the repository address."""
    order = [path.stem for path, _, _ in course_site.in_course_order(NOTEBOOKS)]
    for i, stem in enumerate(order):
        views = {}
        for width in (1440, 420):
            session = chromium.open((site / f"{stem}.html").resolve().as_uri(), width, 900)
            views[width] = chromium.evaluate(NAVIGATION, session)
            browser.close_page(chromium, session)
        wide, narrow = views[1440], views[420]
        assert wide["toc"] >= 3 and not wide["missing"], (stem, wide)
        assert wide["beside"] and narrow["above"] and not narrow["beside"], (stem, views)
        links = dict(wide["links"])
        assert links.get("prev") == (f"{order[i - 1]}.html" if i else None), (stem, links)
        assert links.get("next") == (f"{order[i + 1]}.html" if i + 1 < len(order) else None)
        assert links["deck"] == f"{stem}.slides.html" and links["ipynb"] == f"{stem}.ipynb"
        assert (site / links["ipynb"]).read_bytes() == (ROOT / "notebooks" / f"{stem}.ipynb"
                                                        ).read_bytes()
        assert links["badge"] in (site_pages.colab_url(f"{stem}.ipynb"),
                                  site_pages.binder_url(f"{stem}.ipynb"))
        badges = [href for kind, href in wide["links"] if kind == "badge"]
        assert badges == [
            "https://colab.research.google.com/github/fys5429/generative-models-companion"
            f"/blob/main/notebooks/{stem}.ipynb",
            "https://mybinder.org/v2/gh/fys5429/generative-models-companion/main"
            f"?labpath=notebooks%2F{stem}.ipynb"], badges


def test_the_repository_address_is_set_at_build_time(monkeypatch):
    monkeypatch.setenv("COURSE_REPO", "https://github.com/someone/fork")
    monkeypatch.setenv("COURSE_BRANCH", "spring")
    assert site_pages.colab_url("week00_setup.ipynb") == (
        "https://colab.research.google.com/github/someone/fork/blob/spring/notebooks/"
        "week00_setup.ipynb")
    monkeypatch.setenv("COURSE_REPO", "fork")
    with pytest.raises(SystemExit, match="not a GitHub repository address"):
        site_pages.colab_url("week00_setup.ipynb")


# Runs the cell as on Colab (a stand-in google.colab module: JAX imports parts of it there) or
# here, with subprocess.run recording the command instead of running it.
RUN_CELL = """
import subprocess, sys
from unittest import mock
ran = []
subprocess.run = lambda command, **kw: ran.append(command)
if sys.argv[1] == "colab":
    sys.modules["google.colab"] = mock.MagicMock()
exec(open(sys.argv[2]).read())
import jax
print(repr(ran), jax.config.jax_compilation_cache_dir, compile_cache, file=sys.stderr)
"""


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_installs_course_lib_on_colab_and_turns_the_compile_cache_on(
        notebook, tmp_path):
    """The cell after the title, in the .ipynb and its .py alike: on Colab (google.colab
    imported) it pip-installs the repository the badges point at, elsewhere it installs
    nothing; it turns on the compile cache and prints nothing; the sentence above it says where
    the cache lives and how to turn it off."""
    nb = nbformat.read(notebook, as_version=4)
    note, cell = nb.cells[1], nb.cells[2]
    expected_note, expected = site_pages.setup_cells()
    assert cell.source == expected.source and not cell.outputs
    assert note.source == expected_note.source
    assert "COURSE_LIB_NO_CACHE=1" in note.source and "~/.cache/course_lib/jax" in note.source
    assert cell.source in notebook.with_suffix(".py").read_text()  # the jupytext pair
    script = tmp_path / "cell.py"
    script.write_text(cell.source)
    env = {**__import__("os").environ, "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("COURSE_LIB_NO_CACHE", None)
    for where in ("colab", "here"):
        run = subprocess.run([sys.executable, "-c", RUN_CELL, where, script], env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0 and run.stdout == "", run.stderr
        ran, folder, returned = run.stderr.strip().splitlines()[-1].rsplit(" ", 2)
        assert folder == returned == str(tmp_path / "cache"), run.stderr
    installs = run.stderr  # the last run, here: no install
    assert "[]" in installs.splitlines()[-1]
    colab = subprocess.run([sys.executable, "-c", RUN_CELL, "colab", script], env=env,
                           capture_output=True, text=True, timeout=120).stderr.splitlines()[-1]
    assert (f"'course-lib[notebooks] @ git+{site_pages.DEFAULT_REPOSITORY}'" in colab
            and "'pip', 'install'" in colab), colab
    assert site_pages.colab_url(notebook.name).startswith(
        "https://colab.research.google.com/github/"
        + site_pages.DEFAULT_REPOSITORY.removeprefix("https://github.com/"))


def test_the_index_glossary_troubleshooting_and_changelog(site):
    index = (site / "index.html").read_text()
    for path in NOTEBOOKS:
        entry = index[index.index(f'href="{path.stem}.html"'):]
        entry = entry[:entry.index("Launch Binder")]
        assert "Learning goals" in entry and entry.count("<li>") >= 2, path.stem
        assert "Prerequisites:" in entry and re.search(r"about \d+ minutes", entry), path.stem
    # every glossary term links to a section of a page that exists and holds the term
    glossary = (site / "glossary.html").read_text()
    terms = re.findall(r'<dt id="[^"]+">(.+?)</dt>\s*<dd>.*?<a class="defined" href="([^"]+)"',
                       glossary, re.S)
    listed = json.loads((ROOT / "tools" / "glossary.json").read_text())
    assert len(terms) == len(listed) >= 20  # every term is in the course
    patterns = {e["term"]: e.get("match", re.escape(e["term"])) for e in listed}
    for term, href in terms:
        page = href.split("#")[0]
        section = [d for d in course_site.sections(page, (site / page).read_text())
                   if d["url"] == href]
        assert section, (term, href)
        assert re.search(patterns[html.unescape(term)], section[0]["title"] + " "
                         + section[0]["body"], re.I), (term, href)
    # one section per check of the doctor, with what it can report
    from course_lib import doctor
    trouble = (site / "troubleshooting.html").read_text()
    for check in doctor.CHECKS:
        name = check.__name__.removeprefix("check_").replace("_", "-")
        assert f'id="{name}"' in trouble, name
    assert "jax &gt;= 0.11 needs Python &gt;= 3.12" in trouble
    changelog = (site / "changelog.html").read_text()
    for slip in ("diatance", "Rashcka", "Eq. 30", "Eq. 133", "Eq. 45"):
        assert slip in changelog, slip
    assert changelog.count("<time>") >= len(NOTEBOOKS)
