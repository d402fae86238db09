"""requirements.lock, which `make setup` installs from: every package of the environment pinned,
each with its sha256 hashes, and pyproject.toml's own pins at the same versions."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)[^\n]*"
                   r"((?:\n +--hash=sha256:[0-9a-f]{64}[^\n]*)*)", re.M)


def locked() -> dict[str, tuple[str, int]]:
    text = (ROOT / "requirements.lock").read_text()
    return {name.lower().replace("_", "-"): (version, hashes.count("--hash=sha256:"))
            for name, version, hashes in ENTRY.findall(text)}


def test_every_locked_package_is_pinned_with_hashes():
    lock = locked()
    assert len(lock) > 100  # the whole environment, not just our direct dependencies
    unhashed = [name for name, (_, hashes) in lock.items() if hashes == 0]
    assert not unhashed
    text = (ROOT / "requirements.lock").read_text()
    requirement_lines = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(requirement_lines) == len(lock)  # no line escaped the pattern (e.g. a >= pin)


def test_the_lock_agrees_with_the_pins_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = project["dependencies"] + project["optional-dependencies"]["notebooks"] + \
        project["optional-dependencies"]["dev"]
    lock = locked()
    for pin in pins:
        name, version = pin.split("==")
        name = name.split("[")[0].lower().replace("_", "-")
        assert lock[name][0] == version, f"{name}: pyproject {version}, lock {lock[name][0]}"
