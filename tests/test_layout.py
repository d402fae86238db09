"""The library's shape: dependencies point one way, modules stay short, theory is NumPy only."""

import ast
from pathlib import Path

import course_lib

PACKAGE = Path(course_lib.__file__).resolve().parent
# data -> nets -> model families -> cli, in the order a module may import from course_lib;
# train (the one loop, which knows no model) and family (the contract every family fills)
# sit below the families; the registry of families and the shipped weights (pretrained,
# which trains any family through the registry) above them: a family knows nothing of shipping
LAYERS = ["config", "fingerprint", "normal", "checkpoint", "metrics", "ising", "data",
          "ising_sets", "nets", "theory", "scan_chunk", "train", "family", "plots", "diagrams",
          "baseline", "gan", "diffusion", "families", "pretrained", "explorables", "doctor", "cli"]


def imports(path: Path) -> set[str]:
    """The course_lib modules ``path`` imports, as top-level parts ("gan", "cli", ...)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            if name.startswith("course_lib."):
                out.add(name.split(".")[1])
            elif name == "course_lib" and isinstance(node, ast.ImportFrom):
                # submodules; a name defined in course_lib/__init__ (the root) counts as none
                out |= {a.name for a in node.names} & set(LAYERS)
    return out


def part(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")



def test_no_module_is_longer_than_350_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 350}
    assert not long, long


def test_only_the_command_line_imports_the_command_line():
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if part(p) not in ("cli", "__main__") and "cli" in imports(p)]
    assert not offenders


def test_dependencies_point_one_way():
    """A module imports only parts listed before its own in LAYERS (or its own package)."""
    wrong = []
    for p in PACKAGE.rglob("*.py"):
        me = part(p)
        if me in ("__init__", "__main__"):
            continue
        for other in imports(p) - {me}:
            if LAYERS.index(other) > LAYERS.index(me):
                wrong.append(f"{p.relative_to(PACKAGE)} imports {other}")
    assert not wrong, wrong


def test_theory_is_numpy_only():
    for p in (PACKAGE / "theory").rglob("*.py"):
        tree = ast.parse(p.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom)}
        assert not names & {"jax", "flax", "optax"}, p


def test_pyproject_installs_every_subpackage():
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {"course_lib"} | {f"course_lib.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert found <= listed, found - listed
