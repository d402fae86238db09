"""What the course site puts around the notebooks: a table of contents, previous/next, links to
the deck and the .ipynb, "open in Colab" and Binder links, the notebooks' Colab cell, and the
glossary, troubleshooting and changelog pages.

The repository the Colab and Binder links point at is set when the site is built:
COURSE_REPO (a GitHub address, default DEFAULT_REPOSITORY) and COURSE_BRANCH (default main);
`make site COURSE_REPO=https://github.com/you/fork` passes them on.
"""

import ast
import html
import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

import nbformat

TOOLS = Path(__file__).resolve().parent
DEFAULT_REPOSITORY = "https://github.com/fys5429/generative-models-companion"
SETUP_MARK = "# Colab and the compile cache"


def repository() -> tuple[str, str]:
    """The GitHub address and branch the site's links point at (set at build time)."""
    address = os.environ.get("COURSE_REPO", "").strip() or DEFAULT_REPOSITORY
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", address.rstrip("/")):
        raise SystemExit(f"error: COURSE_REPO={address!r} is not a GitHub repository address; "
                         "expected https://github.com/OWNER/NAME")
    return address.rstrip("/"), os.environ.get("COURSE_BRANCH", "").strip() or "main"


def colab_url(notebook: str) -> str:
    address, branch = repository()
    return (f"https://colab.research.google.com/github/{address.removeprefix('https://github.com/')}"
            f"/blob/{branch}/notebooks/{notebook}")


def binder_url(notebook: str) -> str:
    address, branch = repository()
    return (f"https://mybinder.org/v2/gh/{address.removeprefix('https://github.com/')}/{branch}"
            f"?labpath={quote('notebooks/' + notebook, safe='')}")


# ------------------------------------------------------------------ the notebooks' first cell

def setup_cells(address: str = DEFAULT_REPOSITORY):
    """The sentence and the code cell after each notebook's title: on Colab, install
    course_lib (with its data and weights) from the repository; everywhere, turn on JAX's
    compile cache (issue 29). Prints nothing. Speaker notes and skipped in the slides."""
    sentence = nbformat.v4.new_markdown_cell(
        "The next cell installs `course_lib` when the notebook runs on Colab and turns on JAX's\n"
        "compile cache, kept in `$JAX_COMPILATION_CACHE_DIR` or else `~/.cache/course_lib/jax`,\n"
        "so that a second run skips compiling (`COURSE_LIB_NO_CACHE=1` turns it off).",
        metadata={"slideshow": {"slide_type": "notes"}})
    sentence.id = "colab-and-cache-note"
    code = nbformat.v4.new_code_cell(
        f"{SETUP_MARK} (course_lib.enable_compile_cache)\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:  # a fresh Colab machine: install course_lib\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q",\n'
        f'                    "course-lib[notebooks] @ git+{address}"],\n'
        "                   check=True)\n"
        "\n"
        "import course_lib\n"
        "\n"
        "compile_cache = course_lib.enable_compile_cache()",
        metadata={"slideshow": {"slide_type": "skip"}})
    code.id = "colab-and-cache"
    return sentence, code


# ------------------------------------------------------------------ navigation

HEADING = re.compile(r'<h([1-3]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>|¶", re.S)


def toc(page: str, plain) -> str:
    """The page's table of contents: its h2 and h3 headings, linked."""
    items = []
    for level, anchor, inner in HEADING.findall(page[page.find("<body"):]):
        if level == "1":
            continue
        text = plain(html.unescape(TAGS.sub("", inner)).strip())
        items.append(f'<li class="toc-h{level}"><a href="#{anchor}">{html.escape(text)}</a></li>')
    return ('<nav class="course-toc" aria-label="On this page">\n<h2 class="toc-title">'
            'On this page</h2>\n<ol>\n' + "\n".join(items) + "\n</ol>\n</nav>")


def badges(notebook: str) -> str:
    """Links that open the notebook elsewhere (plain links: nothing is loaded from the web)."""
    return (f'<a class="badge" href="{colab_url(notebook)}">Open in Colab</a>\n'
            f'<a class="badge" href="{binder_url(notebook)}">Launch Binder</a>')


def week_nav(stem: str, order: list[tuple[str, str]]) -> str:
    """Previous/next week, this week's deck and .ipynb, and the Colab and Binder links."""
    names = [name for name, _ in order]
    titles = dict(order)
    i = names.index(stem)
    links = []
    if i > 0:
        links.append(f'<a rel="prev" href="{names[i - 1]}.html">&larr; '
                     f"{html.escape(titles[names[i - 1]])}</a>")
    if i + 1 < len(names):
        links.append(f'<a rel="next" href="{names[i + 1]}.html">'
                     f"{html.escape(titles[names[i + 1]])} &rarr;</a>")
    return ('<nav class="course-week" aria-label="This week">\n'
            + "\n".join(links)
            + f'\n<a class="deck" href="{stem}.slides.html">Slides</a>\n'
            f'<a class="ipynb" href="{stem}.ipynb" download>Notebook (.ipynb)</a>\n'
            + badges(f"{stem}.ipynb") + "\n</nav>")


NAV_CSS = """
.course-week { display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; max-width: 1100px;
  margin: 0.4rem auto; padding: 0 1rem; font: 16px/1.4 system-ui, sans-serif; }
.course-week a, .course-toc a { color: #1a4f8b; }
.course-week a.badge, a.badge { border: 1px solid #1a4f8b; border-radius: 3px;
  padding: 0 0.4rem; text-decoration: none; font-size: 0.9rem; }
.course-toc { font: 15px/1.35 system-ui, sans-serif; max-width: 1100px; margin: 0.4rem auto;
  padding: 0 1rem; }
.course-toc .toc-title { font-size: 1rem; margin: 0.3rem 0; }
.course-toc ol { list-style: none; margin: 0; padding: 0; columns: 2 18rem; }
.course-toc li { margin: 0.1rem 0; break-inside: avoid; }
.course-toc li.toc-h3 { padding-left: 1rem; font-size: 0.92em; }
@media (min-width: 1400px) {
  .course-toc { position: fixed; top: 0; left: 0; width: 16rem; max-height: 100vh;
    overflow-y: auto; margin: 0; padding: 1rem; box-sizing: border-box; }
  .course-toc ol { columns: auto; }
  body, body.jp-Notebook { padding-left: 17rem !important; }
}
@media (prefers-color-scheme: dark) {
  .course-week a, .course-toc a, a.badge { color: #9ecbff; border-color: #9ecbff; }
}
"""


# ------------------------------------------------------------------ the weeks on the index

def week_facts(path: Path) -> dict:
    """Learning goals and prerequisites (tools/weeks.json; none for a notebook it does not
    list) and the time a week takes, estimated from the notebook: its prose at 150 words a
    minute and 15 minutes per exercise."""
    facts = json.loads((TOOLS / "weeks.json").read_text(encoding="utf-8")).get(
        path.stem, {"goals": [], "prerequisites": []})
    nb = nbformat.read(path, as_version=4)
    prose = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    exercises = sum(len(re.findall(r"^\d+\.\s", c.source, re.M)) for c in nb.cells
                    if c.cell_type == "markdown" and re.search(r"^#+ +Exercises", c.source, re.M))
    minutes = max(5, round((prose / 150 + 15 * exercises) / 5) * 5)
    return {**facts, "minutes": minutes, "words": prose, "exercises": exercises}


# ------------------------------------------------------------------ glossary

def glossary(docs: list[dict], order: list[str], render) -> str:
    """tools/glossary.json's terms, each linked to the section its "where" names (a heading),
    else the first section (in course order) whose heading names it, else the first whose text
    does; a term that none of the given notebooks holds is left out."""
    terms = json.loads((TOOLS / "glossary.json").read_text(encoding="utf-8"))
    ranked = sorted(docs, key=lambda d: (order.index(d["url"].split("#")[0]), docs.index(d)))
    rows = []
    for entry in sorted(terms, key=lambda e: e["term"].lower()):
        pattern = re.compile(entry.get("match", rf"\b{re.escape(entry['term'])}"), re.I)
        where = (next((d for d in ranked if entry.get("where") == d["title"]), None)
                 or next((d for d in ranked if pattern.search(d["title"])), None)
                 or next((d for d in ranked if pattern.search(d["body"])), None))
        if where is None or (entry.get("where") and where["title"] != entry["where"]):
            continue  # a site of some of the notebooks: the term is not in them
        rows.append(f'<dt id="{slug(entry["term"])}">{html.escape(entry["term"])}</dt>\n'
                    f"<dd>{render(entry['definition'])} "
                    f'<a class="defined" href="{where["url"]}">{html.escape(where["title"])} '
                    f"({html.escape(where['page'])})</a></dd>")
    return "<dl class=\"glossary\">\n" + "\n".join(rows) + "\n</dl>"


def slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.lower()).strip("-")


# ------------------------------------------------------------------ troubleshooting

def troubleshooting(doctor_source: str) -> str:
    """One section per check of `python -m course_lib doctor` (course_lib/doctor.py, read, not
    run): what it checks, and each failure or warning it can report with its fix, as the
    check's own strings ({...} where the line fills in a value)."""
    tree = ast.parse(doctor_source)
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    order = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", "") == "CHECKS" for t in n.targets))
    constants = {t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Name)
                 and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}

    def text(node) -> str:
        if isinstance(node, ast.Constant):
            return str(node.value)
        if isinstance(node, ast.JoinedStr):
            return "".join(text(v) if isinstance(v, ast.Constant) else "{...}"
                           for v in node.values)
        if isinstance(node, ast.BinOp):
            return text(node.left) + text(node.right)
        if isinstance(node, ast.Name) and node.id in constants:
            return constants[node.id]
        return "{...}"

    sections = []
    for check in order.elts:
        function = functions[check.id]
        name = check.id.removeprefix("check_").replace("_", " ")
        doc = ast.get_docstring(function) or ""
        rows = []
        for node in ast.walk(function):
            if (isinstance(node, ast.Yield) and isinstance(node.value, ast.Tuple)
                    and len(node.value.elts) == 3
                    and getattr(node.value.elts[0], "id", "") in ("FAIL", "WARN")):
                status, what, fix = node.value.elts
                rows.append(f"<tr><td>{'FAIL' if status.id == 'FAIL' else 'warn'}</td>"
                            f"<td><code>{html.escape(text(what))}</code></td>"
                            f"<td>{html.escape(text(fix))}</td></tr>")
        sections.append(
            f'<section><h2 id="{slug(name)}">{html.escape(name.capitalize())}</h2>\n'
            + (f"<p>{html.escape(doc)}</p>\n" if doc else "")
            + ("<table><thead><tr><th>status</th><th>doctor prints</th><th>what to do</th>"
               "</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>" if rows else
               "<p>This check only reports.</p>") + "</section>")
    return "\n".join(sections)


# ------------------------------------------------------------------ changelog and errata

def changelog(root: Path, notebooks: list[Path], titles: dict[str, str]) -> str:
    """Each notebook's last changes (git log of the .py and .ipynb), newest first."""
    parts = []
    for path in notebooks:
        try:
            log = subprocess.run(
                ["git", "log", "-n", "12", "--date=short", "--format=%ad%x09%s", "--",
                 f"notebooks/{path.stem}.py", f"notebooks/{path.stem}.ipynb"],
                cwd=root, capture_output=True, text=True, timeout=60, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            log = ""
        items = [f"<li><time>{html.escape(date)}</time> {html.escape(subject)}</li>"
                 for date, _, subject in (line.partition("\t") for line in log.splitlines())]
        parts.append(f'<h3 id="changes-{path.stem}">{html.escape(titles[path.stem])}</h3>\n'
                     + ("<ol class=\"changes\">\n" + "\n".join(items) + "\n</ol>" if items else
                        "<p>No history here (the site was built outside a git checkout).</p>"))
    return "\n".join(parts)


def errata(render) -> str:
    """tools/errata.json: slips in the lecture and the papers, and where the notebooks say it
    right."""
    rows = json.loads((TOOLS / "errata.json").read_text(encoding="utf-8"))
    return "<ul class=\"errata\">\n" + "\n".join(
        f"<li><strong>{html.escape(r['source'])}:</strong> {render(r['slip'])} "
        f"<em>Correct:</em> {render(r['correct'])}</li>" for r in rows) + "\n</ul>"
