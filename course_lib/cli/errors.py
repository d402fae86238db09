"""What the command line's error boundary knows of failures that are not ours: the one line
for an ``OSError``, for an exception from JAX, NumPy or Python whose cause is the user's
environment or input, and the check of ``XLA_FLAGS`` (XLA aborts on a flag it does not know)."""

from __future__ import annotations

import os


def oserror(path, e: OSError, doing: str) -> ValueError:
    """The one line for an ``OSError`` met while ``doing`` something to ``path``."""
    return ValueError(f"cannot {doing} '{path}': {e.strerror or e}")


def check_xla_flags() -> None:
    """XLA aborts the process (from C++, no exception) on a flag in ``XLA_FLAGS`` it does not
    know; when the variable is set, try it in a child process first and refuse it here."""
    flags = os.environ.get("XLA_FLAGS", "").strip()
    if not flags:
        return
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import jax; jax.devices()"],
                           capture_output=True, text=True, timeout=300)
    unknown = [line.split("XLA_FLAGS:", 1)[1].strip() for line in child.stderr.splitlines()
               if "Unknown flag" in line and "XLA_FLAGS:" in line]
    if unknown:
        raise ValueError(f"XLA_FLAGS holds a flag XLA does not know ({unknown[0]}); remove it "
                         f"from XLA_FLAGS (now {flags!r})")


def user_fault(e: BaseException) -> str | None:
    """The one-line message for an exception from JAX, NumPy or Python whose cause is known
    to be the user's environment or input (not a bug of ours), else None."""
    text = str(e).splitlines()[0] if str(e) else ""
    platforms = os.environ.get("JAX_PLATFORMS", "")
    if isinstance(e, RuntimeError) and ("Unable to initialize backend" in text
                                        or "Unknown backend" in text
                                        or "No visible" in text or "no supported devices" in
                                        text.lower()):
        return (f"JAX cannot start the backend JAX_PLATFORMS={platforms!r} asks for "
                f"({text[:120]}); unset JAX_PLATFORMS or set it to cpu (`python -m "
                "course_lib doctor` lists this machine's devices)")
    if isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in text or "Out of memory" in text \
            or "out of memory" in text:
        return ("out of memory: this command asked for more memory than the machine has; "
                "use smaller sizes (--batch-size, --hidden, --n) or a smaller data file")
    if isinstance(e, RecursionError):
        return ("an input file is nested too deeply to read (JSON deeper than Python's "
                "recursion limit); use the file `train` or the sidecar's command wrote")
    if type(e).__name__ == "LinAlgError":
        return ("the data are degenerate (a constant column, or fewer rows than dimensions: "
                "their covariance is singular); remove constant columns or add rows")
    if isinstance(e, UnicodeError):
        return (f"a text could not be encoded or decoded ({text[:80]}); use UTF-8 files and "
                "paths, or set PYTHONIOENCODING=utf-8")
    return None
