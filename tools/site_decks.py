"""The notebooks as decks a lecturer presents: rules over the cells, the notebooks unchanged.

A slide shows a claim, an equation or a figure. Of each markdown cell the deck keeps in view
its headings, its display equations, its images, and the opening sentences of its first
paragraph while the slide's visible words stay within WORD_BUDGET; everything else goes into
reveal.js speaker notes (a cell of slide type "notes", shown by pressing `s`). Sentences about
running things (make commands, COURSE_RETRAIN, run times) go to the notes too, and code cells
that only report set-up or run time are left out. Every solution gets a slide of its own titled
"Solution N: <the exercise's title>" with the question restated. The slide breaks are the
cells' `slideshow` metadata (so RISE presents the same), plus a vertical sub-slide where the
figures of one notebook slide would not fit on one screen.
"""

import copy
import re

import nbformat

SOLUTION, SHOW_INPUT = "solution", "show-input"
REMOVE_INPUT, REMOVE_CELL = "remove-input", "remove-cell"
WORD_BUDGET = 36  # visible words per slide; the browser test allows 40 (it counts differently)
# Sentences that are about running the notebook, not about the subject: to the notes.
CHATTER = re.compile(r"`?\bmake [a-z]|COURSE_RETRAIN|pip install|\bran in\b|"
                     r"\b\d+(?:\.\d+)? ?(?:s|seconds|minutes|min)\b(?![\w$])|"
                     r"\bon a laptop\b|\brepository's root\b|data/pretrained", re.I)
# Printed lines that report set-up or run time: a code cell printing only these is left out.
CHATTER_OUTPUT = re.compile(r"^(?:devices:|large models:|this notebook ran in \d)")
INLINE_MATH = re.compile(r"\$[^$]+\$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z$*(`\[])")
LIST_ITEM = re.compile(r"^\s*(?:\d+\.|[-*+])\s+")
BOLD_LEAD = re.compile(r"^\s*(?:\d+\.|[-*+])\s+\*\*(.+?)\*\*")
SOLUTION_NUMBER = re.compile(r"^#\s*Solution\s+(\d+)", re.M | re.I)


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def slide_type(cell) -> str:
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


def set_slide_type(cell, kind: str) -> None:
    cell.metadata.setdefault("slideshow", {})["slide_type"] = kind


def count_words(markdown: str) -> int:
    """Words a reader sees: an inline formula is one word, markdown's marks are none."""
    text = INLINE_MATH.sub(" x ", markdown)
    text = re.sub(r"[#*_`>|]|^\s*(?:\d+\.|[-+])\s", " ", text, flags=re.M)
    return len([w for w in text.split() if re.search(r"\w", w)])


# ------------------------------------------------------------------ markdown into blocks

def blocks(source: str) -> list[tuple[str, str]]:
    """The cell as (kind, text) blocks: heading, math (display), media (images, HTML), prose."""
    found, prose = [], []

    def flush():
        if prose:
            found.append(("prose", "\n".join(prose)))
            prose.clear()

    lines, i = source.splitlines(), 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("$$"):
            flush()
            start = i
            while not (lines[i].rstrip().endswith("$$") and (i > start or len(line) > 2)):
                i += 1
                if i == len(lines):
                    i -= 1
                    break
            found.append(("math", "\n".join(lines[start:i + 1])))
        elif line.startswith("#"):
            flush()
            found.append(("heading", line))
        elif line.startswith(("<", "![")):
            flush()
            found.append(("media", lines[i]))
        elif not line:
            flush()
        else:
            prose.append(lines[i])
        i += 1
    flush()
    return found


def sentences(paragraph: str) -> list[str]:
    """A paragraph cut into sentences, never inside a formula."""
    formulas = INLINE_MATH.findall(paragraph)
    masked = INLINE_MATH.sub("\0", paragraph)
    parts = SENTENCE_END.split(" ".join(masked.split()))
    out = []
    for part in parts:
        while "\0" in part:
            part = part.replace("\0", formulas.pop(0), 1)
        out.append(part)
    return out


def list_leads(paragraph: str) -> str | None:
    """A list as the list of its items' leads: the bold opening, else the first sentence."""
    items = re.split(r"\n(?=\s*(?:\d+\.|[-*+])\s)", paragraph.strip())
    if not all(LIST_ITEM.match(item) for item in items):
        return None
    leads = []
    for item in items:
        mark, body = LIST_ITEM.match(item)[0].strip(), " ".join(LIST_ITEM.sub("", item).split())
        bold = re.match(r"\*\*(.+?)\*\*", body)
        leads.append(f"{mark} " + (f"**{bold[1]}**" if bold else sentences(body)[0]))
    return "\n".join(leads)


def split_cell(source: str, budget: int) -> tuple[str, str, int]:
    """(what the slide shows, what goes to the notes, the visible words used)."""
    shown, notes, used, claimed = [], [], 0, False
    for kind, text in blocks(source):
        if kind in ("heading", "math", "media"):
            shown.append(text)
            used += count_words(text) if kind == "heading" else 1 if kind == "math" else 0
            continue
        if claimed:
            notes.append(text)
            continue
        claimed = True
        leads = list_leads(text)
        if leads is not None and used + count_words(leads) <= budget:
            shown.append(leads)
            used += count_words(leads)
            notes.append(text)
            continue
        if LIST_ITEM.match(text):
            notes.append(text)
            continue
        kept, rest = [], []
        for sentence in sentences(text):
            n = count_words(sentence)
            if not rest and not CHATTER.search(sentence) and used + n <= budget:
                kept.append(sentence)
                used += n
            else:
                rest.append(sentence)
        if kept:
            shown.append(" ".join(kept))
        if rest:
            notes.append(" ".join(rest))
    return "\n\n".join(shown), "\n\n".join(notes), used


# ------------------------------------------------------------------ exercises and solutions

def exercises(cells) -> dict[int, tuple[str, str]]:
    """The numbered exercises of the notebook's "Exercises" cell: {n: (title, question)}."""
    found = {}
    for cell in cells:
        if cell.cell_type != "markdown" or not re.search(r"^#+ +Exercises", cell.source, re.M):
            continue
        items = re.split(r"^(\d+)\.\s+", cell.source, flags=re.M)
        for number, body in zip(items[1::2], items[2::2]):
            body = " ".join(body.split())
            lead = re.match(r"\*\*(.+?)\*\*\s*(.*)", body)
            if lead:
                title, question = lead[1].rstrip(". "), lead[2]
            else:
                first = sentences(body)  # the first sentence is the title, the rest the question
                title, question = first[0].rstrip(". "), " ".join(first[1:])
            found[int(number)] = (title, question)
    return found


def solution_heading(number: int, title: str, question: str) -> tuple[str, str]:
    """The solution slide's heading and restated question (shown up to the budget; all of it
    in the notes)."""
    shown, notes, _ = split_cell(question, WORD_BUDGET - count_words(title) - 2)
    heading = f"### Solution {number}: {title}"
    return heading + ("\n\n" + shown if shown else ""), (
        f"Exercise {number}: {question}" if notes else "")


# ------------------------------------------------------------------ the deck

def code_summary(cell) -> str:
    """What a folded code cell says: its first comment line (not a solution's number), else
    its length."""
    for line in cell.source.splitlines():
        if line.startswith("#") and not line.startswith("# NBVAL"):
            text = re.sub(r"^Solution \d+[.:]?\s*", "", line.lstrip("# ").strip())
            return text or f"code ({len(cell.source.splitlines())} lines)"
        if line.strip():
            break
    return f"code ({len(cell.source.splitlines())} lines)"


def only_chatter(cell) -> bool:
    """A code cell whose every printed line reports set-up or run time."""
    texts = [o.get("text", "") for o in cell.get("outputs", [])]
    if not cell.get("outputs") or len(texts) != len(cell.outputs) or not "".join(texts).strip():
        return False
    return all(CHATTER_OUTPUT.match(line) for t in texts for line in t.splitlines() if line)


def one_figure_each(cell) -> list:
    """A code cell with several figures as one cell per figure (the code with the first), so
    that the deck can give each figure a slide of its own when they do not fit on one."""
    cuts = [i for i, o in enumerate(cell.outputs) if "image/png" in o.get("data", {})][1:]
    if not cuts:
        return [cell]
    parts = []
    for start, end in zip([0, *cuts], [*cuts, len(cell.outputs)]):
        part = copy.deepcopy(cell) if not parts else nbformat.v4.new_code_cell(
            "", metadata={"deck_input": "remove"})
        part.outputs = cell.outputs[start:end]
        parts.append(part)
    return parts


def markdown(source: str, kind: str, **metadata):
    cell = nbformat.v4.new_markdown_cell(source, metadata=metadata)
    set_slide_type(cell, kind)
    return cell


def markdown_output_in_view(cell, budget: int):
    """(cell, notes, words shown): prose a code cell displays (IPython's Markdown, a computed
    answer) is cut like a markdown cell's, the claim in view and the rest in the notes."""
    if not any("text/markdown" in out.get("data", {}) for out in cell.outputs):
        return cell, "", 0
    cell, notes, used = copy.deepcopy(cell), [], 0
    for out in cell.outputs:
        data = out.get("data", {})
        if "text/markdown" in data:
            shown, rest, words = split_cell(data["text/markdown"], budget - used)
            data["text/markdown"] = shown
            data.pop("text/plain", None)
            used += words
            notes.append(rest)
    return cell, "\n\n".join(n for n in notes if n.strip()), used


def for_deck(nb, with_alt_text):
    """The notebook as a deck: prose past the claim in the notes, code folded, code without
    output left out, solutions on slides of their own under their heading (and the cell after
    them on a new slide)."""
    nb = with_alt_text(nb)
    questions = exercises(nb.cells)
    cells, carry, after_solution, used, solution = [], None, False, 0, 0
    for cell in nb.cells:
        cell_tags, kind = tags(cell), slide_type(cell)
        left_out = REMOVE_CELL in cell_tags or (
            cell.cell_type == "code" and not cell.outputs and SOLUTION not in cell_tags) or (
            cell.cell_type == "code" and only_chatter(cell))
        if left_out:
            if kind in ("slide", "subslide") and carry is None:
                carry = kind  # the next cell opens the slide this one opened
            continue
        if carry and kind in ("-", "fragment"):
            set_slide_type(cell, carry)
        carry = None
        if SOLUTION in cell_tags:
            number = SOLUTION_NUMBER.search(cell.source) if cell.cell_type == "code" else None
            continued = not number and solution in questions
            solution = int(number[1]) if number else solution
            if solution in questions:
                title, question = questions[solution]
                heading = f"### Solution {solution}: {title} (continued)"
                if continued and cell.cell_type == "markdown" and not split_cell(
                        cell.source, WORD_BUDGET - count_words(heading))[0].strip():
                    # prose with nothing to show would make a slide of its heading alone:
                    # it goes to the notes of the slide before
                    cells.append(markdown(cell.source, "notes"))
                    continue
                if continued:
                    shown, notes = heading, ""
                else:
                    shown, notes = solution_heading(solution, title, question)
                cells.append(markdown(shown, "slide", deck_solution=solution))
                if notes:
                    cells.append(markdown(notes, "notes"))
                set_slide_type(cell, "-")
                used = count_words(shown)
            else:
                set_slide_type(cell, "slide")
            after_solution = True
        elif after_solution:
            if slide_type(cell) in ("-", "fragment"):
                set_slide_type(cell, "slide")
            after_solution = False
        if slide_type(cell) in ("slide", "subslide"):
            used = 0
        if cell.cell_type == "code":
            cell.metadata["deck_input"] = ("show" if SHOW_INPUT in cell_tags else
                                           "remove" if REMOVE_INPUT in cell_tags else "fold")
            cell.metadata["deck_summary"] = code_summary(cell)
            cell, notes, words = markdown_output_in_view(cell, WORD_BUDGET - used)
            used += words
            cells.extend(one_figure_each(cell))
            if notes.strip():
                cells.append(markdown(notes, "notes"))
            continue
        if slide_type(cell) in ("notes", "skip"):
            cells.append(cell)
            continue
        shown, notes, words = split_cell(cell.source, WORD_BUDGET - used)
        used += words
        cell = copy.deepcopy(cell)
        cell.source = shown
        if shown.strip() or slide_type(cell) in ("slide", "subslide"):
            cells.append(cell)
        if notes.strip():
            cells.append(markdown(notes, "notes"))
    paginate(cells)
    nb.cells = cells
    return nb


# ------------------------------------------------------------------ fitting a slide

SLIDE_HEIGHT = 680  # px of the 720 a slide has, less its margins
SLIDE_WIDTH = 1280
FIGURE_WIDTH = 0.9  # of the slide: figures are 92 % of their cell wide, or as tall as fits


def png_size(b64: str) -> tuple[int, int]:
    """Width and height from a base64 PNG's header (IHDR)."""
    import base64

    head = base64.b64decode(b64[:44])
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def deck_height(cell) -> int:
    """A rough height in px of a cell on a 1280x720 slide (the deck's CSS: 30 px prose, 16 px
    output lines that wrap, figures at 86 % of the width, code folded to one line)."""
    if cell.cell_type == "markdown":
        if slide_type(cell) in ("notes", "skip"):
            return 0
        height = 0
        for kind, text in blocks(cell.source):
            if kind == "math":
                height += 46 * (text.count("\\\\") + 1) + 30
            elif kind == "heading":
                height += 80
            elif kind == "prose":
                lines = sum(-(-max(len(line), 1) // 80) for line in text.splitlines())
                height += 40 * lines + 24
            else:
                height += 60
        return height
    height = 0 if cell.metadata.get("deck_input") == "remove" else 34
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "text" in output:
            height += 21 * sum(-(-max(len(line), 1) // 120)
                               for line in output["text"].splitlines()) + 10
        elif "image/png" in data:
            w, h = png_size(data["image/png"])
            height += int(h * FIGURE_WIDTH * SLIDE_WIDTH / w) + 10
        elif "text/html" in data:
            page = data["text/html"]  # an explorable or an animation: a figure with controls
            height += 560 if "<img" in page else 30 * page.count("<tr") + 20
        elif "text/plain" in data:
            height += 21 * len(data["text/plain"].splitlines()) + 10
    return height


def paginate(cells: list, budget: int = SLIDE_HEIGHT) -> None:
    """Open a new (vertical) slide where the estimated height of a slide runs past the screen,
    so that a notebook slide with three figures becomes a column of slides."""
    used = 0
    for cell in cells:
        height = deck_height(cell)
        if slide_type(cell) in ("slide", "subslide"):
            used = 0
        elif slide_type(cell) in ("skip", "notes"):
            continue
        elif used > 0 and used + height > budget:
            set_slide_type(cell, "subslide")
            used = 0
        used += height
