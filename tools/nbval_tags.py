"""Move nbval's comment markers (`# NBVAL_CHECK_OUTPUT`, ...) out of the code a student reads and
into the cell's tags (`nbval-check-output`, ...), which nbval 0.11 reads the same way, with
--nbval-lax too. The committed outputs are kept; the jupytext twin is synced afterwards (the
pairing keeps tags: notebooks/jupytext.toml).

    python tools/nbval_tags.py notebooks/week16_gans.ipynb ...   # convert in place
    python tools/nbval_tags.py --check notebooks/*.ipynb          # list what is left; exit 1 if any
"""

import argparse
import subprocess
import sys
from pathlib import Path

import nbformat

# nbval's comment markers and the tag that means the same (nbval/plugin.py: comment_markers,
# metadata_tags = marker.lower().replace("_", "-")).
MARKERS = ("NBVAL_CHECK_OUTPUT", "NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION")


def tag_of(marker: str) -> str:
    return marker.lower().replace("_", "-")


def marker_lines(source: str) -> list[str]:
    """The lines of a cell that are one of nbval's comment markers (as nbval finds them)."""
    return [line for line in source.splitlines()
            if line.strip().startswith("#") and line.strip().lstrip("#").strip() in MARKERS]


def convert(nb) -> int:
    """Replace every marker comment by its tag, in place; the number of cells changed."""
    changed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        found = marker_lines(cell.source)
        if not found:
            continue
        tags = list(cell.metadata.get("tags", []))
        for line in found:
            tag = tag_of(line.strip().lstrip("#").strip())
            if tag not in tags:
                tags.append(tag)
        cell.metadata["tags"] = tags
        cell.source = "\n".join(line for line in cell.source.splitlines()
                                if line not in found).strip("\n")
        changed += 1
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help=".ipynb files (or their .py twins)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; list the cells that still carry a marker comment")
    args = parser.parse_args(argv)
    left = 0
    for path in args.notebooks:
        path = path.with_suffix(".ipynb")
        if not path.is_file():
            print(f"error: {path} does not exist; give the .ipynb of a paired notebook")
            return 2
        nb = nbformat.read(path, as_version=4)
        if args.check:
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code" and marker_lines(cell.source):
                    print(f"{path.name} cell {i}: {marker_lines(cell.source)[0].strip()}")
                    left += 1
            continue
        changed = convert(nb)
        if changed:
            tmp = path.with_suffix(".ipynb.tmp")
            nbformat.write(nb, tmp)
            tmp.replace(path)
            subprocess.run([sys.executable, "-m", "jupytext", "--sync", "--quiet", str(path)],
                           check=True)
        print(f"{path.name}: {changed} cells converted")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
