"""Fixtures shared by the tests, which mirror the package: tests/gan/ tests course_lib/gan/,
tests/diffusion/ course_lib/diffusion/, tests/theory/ course_lib/theory/, tests/cli/ the
command line; the modules at the top level have their tests at the top level."""

import faulthandler
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parent.parent
# No test may hang CI: past this many seconds a test's process prints every thread's stack and
# exits, so the run goes on and the report names the test (pytest-xdist: "worker crashed").
# The slowest test takes about 2 minutes on the 2-core machine.
HANG_SECONDS = float(os.environ.get("COURSE_LIB_TEST_HANG_SECONDS", 900))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def key():
    """A fixed PRNG key: every test draws the same numbers on every run."""
    return jax.random.key(0)


@pytest.fixture
def cli_process():
    """``cli_process(*args, cwd=None) -> (exit status, stdout, stderr)``: the command line in a
    fresh process, as a user runs it (so a traceback, had there been one, would show)."""

    def run(*args, cwd=None):
        p = subprocess.run([sys.executable, "-m", "course_lib", *map(str, args)], cwd=cwd,
                           capture_output=True, text=True, timeout=300)
        return p.returncode, p.stdout, p.stderr

    return run
