"""The notebooks as files: every .ipynb has its jupytext twin and agrees with it, outputs are
committed, key numbers are marked for nbval (tag nbval-check-output), and each week ends with
exercises whose solutions are tagged (so that a student version can drop them)."""

import json
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("week*.ipynb"))


def cells(nb):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", [])),
             c.metadata.get("slideshow", {}).get("slide_type")) for c in nb.cells]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_is_in_sync(path):
    script = path.with_suffix(".py")
    assert script.is_file(), f"{script.name} is missing: run jupytext --sync {path.name}"
    assert cells(jupytext.read(path)) == cells(jupytext.read(script)), (
        f"{path.name} and {script.name} differ: run jupytext --sync on the one you edited")


def test_a_changed_script_is_detected(tmp_path):
    path = NOTEBOOKS[0]
    changed = jupytext.read(path.with_suffix(".py"))
    changed.cells[1].source += "\nprint('changed')"
    assert cells(jupytext.read(path)) != cells(changed)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_with_outputs_checked_numbers_slides_and_exercises(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs") or not "".join(c["source"]).strip() or
               "print(" not in "".join(c["source"]) for c in code), "cells without outputs"
    assert sum("nbval-check-output" in c.get("metadata", {}).get("tags", []) or
               "NBVAL_CHECK_OUTPUT" in "".join(c["source"]) for c in code) >= 1
    assert not any(o.get("output_type") == "error" for c in code for o in c.get("outputs", []))
    slides = [c for c in nb["cells"]
              if c.get("metadata", {}).get("slideshow", {}).get("slide_type") == "slide"]
    assert len(slides) >= 3
    if path.stem != "week00_setup":
        assert any("## Exercises" in "".join(c["source"]) for c in nb["cells"])
        assert any("solution" in c.get("metadata", {}).get("tags", []) for c in code)


def test_student_version_drops_solutions_and_keeps_exercises(tmp_path):
    import subprocess
    import sys

    path = next(p for p in NOTEBOOKS if p.stem == "week16_diffusion")
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                    "--TagRemovePreprocessor.enabled=True",
                    "--TagRemovePreprocessor.remove_cell_tags", "solution",
                    "--output-dir", str(tmp_path), str(path)], check=True, capture_output=True)
    student = json.loads((tmp_path / path.name).read_text())
    original = json.loads(path.read_text())
    assert not any("solution" in c.get("metadata", {}).get("tags", []) for c in student["cells"])
    assert any("## Exercises" in "".join(c["source"]) for c in student["cells"])
    assert len(student["cells"]) < len(original["cells"])
