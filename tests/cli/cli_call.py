"""Helpers shared by the command line's tests (imported by name: tests/cli is on sys.path)."""

from __future__ import annotations

from course_lib import cli


def call(capsys, *args):
    """``python -m course_lib ARGS`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    rc = cli.main([str(a) for a in args])
    return rc, *capsys.readouterr()


def one_line(rc, err, message="", status=2):
    """A refusal as the error boundary promises: exit ``status``, one ``error:`` line holding
    ``message``, and neither a traceback nor an "internal error" (a user's fault shown as
    our bug)."""
    lines = err.strip().splitlines()
    return (rc == status and len(lines) == 1 and lines[0].startswith("error: ")
            and message in lines[0] and "Traceback" not in err and "internal error" not in err)
