"""What a student reads agrees with what the code computes (issue 27).

A decimal number in a notebook's markdown (0.42, 98.2 %, 1e-3, 10^{-3}) is allowed only if it is
listed, with its source, in the notebook's own cell headed ``## Quoted numbers and their sources``:
a table ``| number | what it is | source |`` whose source is a paper, a setting of the code, or
a Python expression in backticks that this test evaluates (so a derived constant such as
2 ln 2 = 1.386 cannot go stale either). Everything the computation produces is not written in
markdown at all: the code prints it, or displays the sentence with IPython's Markdown, in a cell
tagged ``nbval-check-output``, so `make nbval` compares it with the committed output.

Why a table and not inline marks: the table is a cell, so it survives the jupytext pairing
(which keeps only the tags and slide types of a cell's metadata), shows on the site, in the
slides and in the student version like any other text, and reads as a list of references;
inline marks would clutter sentences and break inside LaTeX. Not counted as numbers: inline
code and code blocks (they are code, not claims), version strings (1.19.6, Python 3.12) and
arXiv identifiers.
"""

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("week*.ipynb"))
SOURCES_HEADING = "## Quoted numbers and their sources"

COVERED = NOTEBOOKS

NUMBER = re.compile(r"(?<![\w.^{])(?:\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+|10\^\{?-?\d+\}?)"
                    r"(?!\w|\.\w)")
NOT_NUMBERS = [re.compile(p, re.S) for p in (r"```.*?```", r"`[^`\n]*`",
                                             r"\d+\.\d+\.\d+", r"arXiv[: ]\d{4}\.\d{4,5}",
                                             r"[Pp]ython ?\d+\.\d+")]
ROW = re.compile(r"^\|\s*(?P<number>[^|]+?)\s*\|\s*(?P<what>[^|]*?)\s*\|"
                 r"\s*(?P<source>.*?)\s*\|\s*$", re.M)
NBVAL_COMMENT = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$", re.M)


def source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def numbers_in(text: str) -> list[str]:
    for pattern in NOT_NUMBERS:
        text = pattern.sub(" ", text)
    return [n.lstrip("-") for n in NUMBER.findall(text)]


def sources_table(nb) -> dict[str, tuple[str, str]]:
    """{number: (what, source)} from the notebook's sources cell (empty if it has none)."""
    for cell in nb["cells"]:
        text = source(cell)
        if cell["cell_type"] == "markdown" and text.startswith(SOURCES_HEADING):
            rows = [m.groupdict() for m in ROW.finditer(text)]
            rows = [r for r in rows if not set(r["number"]) <= set("-: ")
                    and r["number"] != "number"]
            return {r["number"].strip("$ ").lstrip("-"): (r["what"], r["source"]) for r in rows}
    return {}


def unlisted_numbers(nb) -> list[tuple[int, str]]:
    """(cell index, number) for every decimal in the markdown that the sources table lacks."""
    listed = sources_table(nb)
    return [(i, n) for i, cell in enumerate(nb["cells"])
            if cell["cell_type"] == "markdown" and not source(cell).startswith(SOURCES_HEADING)
            for n in numbers_in(source(cell)) if n not in listed]


def value_of(number: str) -> float:
    power = re.fullmatch(r"10\^\{?(-?\d+)\}?", number)
    return 10.0 ** int(power.group(1)) if power else float(number)


def read(path):
    return json.loads(path.read_text())


def assert_numbers_listed(name: str, nb) -> None:
    bad = unlisted_numbers(nb)
    assert not bad, (
        f"{name}: " + "; ".join(f"cell {i}: {n}" for i, n in bad) +
        f". A computed number belongs in a sentence the code prints (a cell tagged "
        f"nbval-check-output); a constant or a paper's value in the cell "
        f"'{SOURCES_HEADING}', with its source.")


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_every_number_in_the_text_is_printed_or_cited(path):
    assert_numbers_listed(path.name, read(path))


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_every_quoted_number_has_a_source_and_is_quoted(path):
    nb = read(path)
    table = sources_table(nb)
    text = " ".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown"
                    and not source(c).startswith(SOURCES_HEADING))
    used = set(numbers_in(text))
    for number, (what, cited) in table.items():
        assert what and cited, f"{path.name}: {number} needs what it is and its source"
        assert number in used, f"{path.name}: {number} is listed but no longer in the text"
        expression = re.fullmatch(r"`([^`]+)`(?:.*)", cited)
        if expression:  # a derived constant: the expression must give the number as written
            exact = eval(expression.group(1), {"__builtins__": {}}, vars(math))  # noqa: S307
            shown = value_of(number)
            decimals = len(number.split(".")[1]) if "." in number and "e" not in number else None
            tolerance = 0.5 * 10.0 ** -decimals if decimals else 1e-9 * abs(shown)
            assert abs(abs(exact) - shown) <= tolerance * (1 + 1e-9), (
                f"{path.name}: {number} is listed as {expression.group(1)} = {exact:.6g}")


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_displayed_sentences_are_compared_and_code_has_no_nbval_comments(path):
    for i, cell in enumerate(read(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        text, tags = source(cell), cell.get("metadata", {}).get("tags", [])
        assert not NBVAL_COMMENT.search(text), (
            f"{path.name} cell {i}: an nbval comment in the code a student reads; "
            f"run tools/nbval_tags.py {path.relative_to(ROOT)}")
        if "Markdown(" in text:
            assert "nbval-check-output" in tags, (
                f"{path.name} cell {i} displays a sentence that nbval does not compare")
        for output in cell.get("outputs", []):
            assert "notebook ran in" not in "".join(output.get("text", "")), (
                f"{path.name} cell {i}: a run time in the committed output")


def test_a_stale_number_is_caught_with_notebook_cell_and_number():
    """Plant one: a sentence saying a computed quantity is 0.4242."""
    path = next(p for p in COVERED if p.stem == "week17_ising")
    nb = read(path)
    assert not unlisted_numbers(nb)
    cell = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown" and i > 5)
    nb["cells"][cell]["source"] = source(nb["cells"][cell]) + "\nThe gap is 0.4242 bits per spin."
    assert unlisted_numbers(nb) == [(cell, "0.4242")]
    with pytest.raises(AssertionError, match=rf"week17_ising.ipynb: cell {cell}: 0.4242"):
        assert_numbers_listed(path.name, nb)


def test_what_counts_as_a_number():
    assert numbers_in("D(x) = 0.52, 98.2 %, lr $10^{-3}$ or 1e-3; $-4.094$") == [
        "0.52", "98.2", "10^{-3}", "1e-3", "4.094"]
    assert numbers_in("`lr=3e-3` jupytext 1.19.6, arXiv 2208.11970, Eq. 45, 1. item, 2,000") == []


@pytest.mark.parametrize("path", [p for p in COVERED if p.stem != "week00_setup"],
                         ids=lambda p: p.stem)
def test_every_exercise_has_a_hint_a_comparison_a_time_and_a_solution(path):
    """A student working alone needs each of these (issue 27, item 4); `make student` keeps the
    exercises and drops the cells tagged solution."""
    cells = read(path)["cells"]
    text = next(source(c) for c in cells if source(c).startswith("## Exercises")
                or "\n## Exercises" in source(c))
    items = re.split(r"\n(?=\d+\. )", text[text.index("\n1. ") + 1:])
    assert items, f"{path.name}: no numbered exercises"
    solved = {int(m.group(1)) for c in cells if c["cell_type"] == "code"
              and "solution" in c.get("metadata", {}).get("tags", [])
              for m in [re.match(r"# Solution (\d+)", source(c))] if m}
    for k, item in enumerate(items, start=1):
        for needed in ("*Hint:*", "*Compare with*", "minutes"):
            assert needed in item, f"{path.name} exercise {k} lacks {needed!r}"
        assert k in solved, f"{path.name} exercise {k} has no code cell '# Solution {k}'"


def test_the_tag_converter_moves_markers_into_tags_and_keeps_outputs():
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("nbval_tags", ROOT / "tools" / "nbval_tags.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n# Solution 1\nprint(1.5)"),
                nbformat.v4.new_code_cell("#  NBVAL_IGNORE_OUTPUT\nx = 1",
                                          metadata={"tags": ["a"]}),
                nbformat.v4.new_code_cell("print('# NBVAL_SKIP is text here')")]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1.5\n")]
    assert tool.convert(nb) == 2
    assert nb.cells[0].source == "# Solution 1\nprint(1.5)"
    assert nb.cells[0].metadata["tags"] == ["nbval-check-output"]
    assert nb.cells[0].outputs[0]["text"] == "1.5\n"
    assert nb.cells[1].source == "x = 1" and nb.cells[1].metadata["tags"] == ["a",
                                                                             "nbval-ignore-output"]
    assert nb.cells[2].source == "print('# NBVAL_SKIP is text here')"
