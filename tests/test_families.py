"""One registry of model families: no module outside it branches on a family's name, and
every family fills the contract the command line, validation and the reports ask of it."""

import ast
from pathlib import Path

import pytest

import course_lib
from course_lib import families

PACKAGE = Path(course_lib.__file__).resolve().parent
REGISTRY = PACKAGE / "families.py"
NAMES = set(families.FAMILIES)


def _strings(node) -> set[str]:
    """The string constants of a comparison's operand (a literal, or a tuple/list/set of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return set().union(*(_strings(e) for e in node.elts)) if node.elts else set()
    return set()


def name_branches(source: str) -> list[str]:
    """Where ``source`` tests a value against a family's name (==, !=, in, not in, match) or
    keys a table by family names: the code should ask the family instead."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            hits = set().union(*(_strings(x) for x in (node.left, *node.comparators))) & NAMES
            if hits:
                found.append(f"line {node.lineno}: compares with {sorted(hits)}")
        elif isinstance(node, ast.MatchValue) and _strings(node.value) & NAMES:
            found.append(f"line {node.lineno}: matches {sorted(_strings(node.value))}")
        elif isinstance(node, ast.Dict):
            keys = set().union(set(), *(_strings(k) for k in node.keys if k is not None)) & NAMES
            if len(keys) >= 2:
                found.append(f"line {node.lineno}: a table keyed by {sorted(keys)}")
    return found


def test_no_module_outside_the_registry_branches_on_a_family_name():
    offenders = {str(p.relative_to(PACKAGE)): hits for p in PACKAGE.rglob("*.py")
                 if p != REGISTRY and (hits := name_branches(p.read_text()))}
    assert not offenders, offenders


@pytest.mark.parametrize("planted", [
    "if spec.name == 'lattice':\n    pass\n",
    "patience = 10 if model in ('ddpm', 'vdm') else 0\n",
    "ok = name != \"gaussian\"\n",
    "match model:\n    case 'cgan':\n        pass\n",
    "RECIPES = {'gan': 1, 'binomial': 2}\n",
])
def test_the_grep_finds_a_planted_branch(planted):
    assert name_branches(planted)


def test_a_family_name_as_a_definition_or_a_message_is_no_branch():
    assert not name_branches("F = Family(name='lattice')\nraise ValueError('a lattice model')\n")


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_family_fills_the_contract(name):
    """Each family can be scored in validation (cgan and lattice too), is found by its
    config, and its recipes make configs of its own class."""
    family = families.get(name)
    assert family.scorer is not None, f"{name} has no validation score: {family.unscored}"
    assert families.of_config(family.config).config in (family.config,
                                                         *family.config.__mro__)
    assert all(set(r.model) <= {f for f in family.config.__dataclass_fields__}
               for r in family.recipes.values())


def test_an_unknown_name_or_config_is_refused_in_one_line():
    with pytest.raises(ValueError, match="unknown model 'nope'; accepted: binomial, cgan"):
        families.get("nope")
    with pytest.raises(ValueError, match="not the config of a model family: int"):
        families.of_config(1)


@pytest.mark.parametrize("model,extra", [
    ("cgan", ["--hidden", "16"]),
    ("lattice", ["--T", "4", "--features", "4", "--dilations", "1,2"])])
def test_cgan_and_lattice_are_validated_and_stop_early(tmp_path, model, extra):
    """The two families that had no validation now score the held-out rows at every check,
    keep the best model, and stop after ``patience`` checks without improvement."""
    import json

    import numpy as np

    from course_lib import cli

    rng = np.random.default_rng(0)
    if model == "cgan":
        np.savez(tmp_path / "d.npz", x=rng.normal(size=(200, 4)).astype(np.float32),
                 y=rng.integers(0, 3, 200))
    else:
        np.save(tmp_path / "d.npy", rng.choice([-1.0, 1.0], size=(200, 4, 4)))
    data = next(tmp_path.glob("d.*"))
    out = tmp_path / "run"
    assert cli.main(["train", model, "--data", str(data), "--out", str(out), "--steps", "12",
                     "--steps-per-call", "2", "--batch-size", "16", "--patience", "1",
                     "--no-progress", *extra]) == 0
    record = json.loads((out / "validation.json").read_text())
    assert record["steps"] and record["best_step"] in record["steps"], record
    assert (out / "best.npz").is_file()
    # with patience 1, training went on only while the score improved
    since = [s for s in record["steps"] if s > record["best_step"]]
    assert len(since) <= 1 and (since or record["steps"][-1] == 12), record
