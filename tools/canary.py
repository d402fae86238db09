"""make canary: the tests against the newest releases of the packages the course pins.

Run inside the scratch venv that `make canary` builds (course_lib installed with its pins, then
jax, flax, optax, numpy and matplotlib upgraded past them): prints the versions, runs the unit
tests and nbval, and lists what broke, one line per failing test. Exit status 1 if anything did.
"""

import importlib.metadata
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WATCHED = ("jax", "jaxlib", "flax", "optax", "numpy", "matplotlib", "orbax-checkpoint")


def pinned() -> dict[str, str]:
    pins = {}
    for line in importlib.metadata.requires("course-lib") or []:
        name, _, version = line.partition("==")
        pins[name.strip()] = version.split(";")[0].strip()
    return pins


def run(label: str, args: list[str]) -> list[str]:
    """Run pytest with a JUnit report; the failing tests as 'label: test: first line'."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"--junitxml={report}", *args], cwd=ROOT)
        if not report.is_file():
            return [f"{label}: pytest did not run (exit status {done.returncode})"]
        broke = []
        for case in ET.parse(report).iter("testcase"):
            for problem in [*case.iter("failure"), *case.iter("error")]:
                message = (problem.get("message") or problem.text or "").strip().splitlines()
                broke.append(f"{label}: {case.get('classname')}::{case.get('name')}: "
                             f"{message[0][:200] if message else problem.tag}")
        return broke


def main() -> int:
    pins = pinned()
    print("canary: the newest releases against the course's pins")
    for name in WATCHED:
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = "not installed"
        print(f"  {name:18s} {have:14s} (pinned: {pins.get(name, 'by its parent')})")
    notebooks = sorted(str(p) for p in (ROOT / "notebooks").glob("week*.ipynb"))
    broke = run("unit", ["tests", "-n", "2", "--ignore=tests/test_site.py"])
    broke += run("nbval", ["--nbval-lax", "--nbval-current-env", "-n", "2", "--dist", "loadfile",
                           *notebooks])
    print("\ncanary result: " + ("nothing broke" if not broke else f"{len(broke)} broke"))
    for line in broke:
        print("  " + line)
    return 1 if broke else 0


if __name__ == "__main__":
    sys.exit(main())
