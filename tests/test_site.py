"""The course site and its slide decks opened in a real headless Chromium with every host name
unresolvable: the pages load, MathJax typesets the math, the figures show, the index's links
resolve, and nothing is requested from anywhere but the site's own folder."""

import importlib.util
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


def test_the_site_and_its_decks_work_offline(tmp_path, chromium):
    """Every page and every deck the index links to; each week's page must show its math."""
    site = tmp_path / "site"
    build = subprocess.run([sys.executable, ROOT / "tools" / "course_site.py", "site", site],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr

    index = browser.inspect(chromium, site / "index.html")
    found = browser.problems(index, expect_math=False)
    assert not found, "index.html: " + "; ".join(found)
    linked = sorted({Path(link).name for link in index["links"]})
    assert linked == sorted([nb.stem + ".html" for nb in NOTEBOOKS]
                            + [nb.stem + ".slides.html" for nb in NOTEBOOKS])

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
