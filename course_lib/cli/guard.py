"""The command line's guards: seeds, memory estimates, strict JSON and the run folder's lock.

Each turns something a user can cause into a one-line ``ValueError`` where its cause is
known, before anything is allocated or written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

import numpy as np

LOCK = ".lock"
SEED_MAX = 2**63 - 2  # jax.random.key takes an int64; the evaluation uses seed + 1


def check_seed(seed, what: str = "--seed") -> int:
    """A seed as an int in 0..2**63-2 (a larger one is refused, not wrapped or hashed: two
    different seeds must never give the same run)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"{what} must be an integer, got {type(seed).__name__} {seed!r}")
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"{what} must be an integer in 0..{SEED_MAX} (2**63 - 2), got {seed}")
    return int(seed)


def memory_limit() -> int:
    """Bytes one command may ask for: half of this machine's physical memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 8 GiB
        return 4 * 2**30


def check_memory(what: str, nbytes: float, hint: str) -> None:
    """Refuse, before allocating, a request whose estimate exceeds :func:`memory_limit`."""
    limit = memory_limit()
    if nbytes > limit:
        raise ValueError(f"{what} would need about {nbytes / 2**30:.3g} GiB, more than the "
                         f"{limit / 2**30:.3g} GiB allowed (half of this machine's memory); "
                         f"{hint}")


def _model_bytes(config, batch_size: int) -> float:
    """A generous estimate of training memory: parameters with Adam's moments and gradients
    (x4), two networks, and a batch of activations through every layer (x8 for the backward
    pass and the critic's extra evaluations)."""
    dim = getattr(config, "data_dim", 1)
    if not hasattr(config, "hidden"):  # no network (the Gaussian baseline): a mean and a std
        return 4.0 * (2 * 4 * 2 * dim + 8 * batch_size * dim)
    widths = [dim + getattr(config, "latent_dim", 0) + getattr(config, "num_classes", 0) + 64,
              *getattr(config, "hidden", ()), dim]
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    return 4.0 * (2 * 4 * params + 8 * batch_size * sum(widths) * getattr(config, "pack", 1))


def _oserror(path, e: OSError, doing: str) -> ValueError:
    return ValueError(f"cannot {doing} '{path}': {e.strerror or e}")


def json_safe(obj):
    """``obj`` with every NaN or infinite float replaced by None, and the list of the keys
    where that happened: JSON has no NaN or Infinity."""
    bad: list[str] = []

    def clean(x, where):
        if isinstance(x, dict):
            return {k: clean(v, f"{where}.{k}" if where else str(k)) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v, f"{where}[{i}]") for i, v in enumerate(x)]
        if isinstance(x, float | np.floating) and not np.isfinite(x):
            bad.append(f"{where} ({x})")
            return None
        if isinstance(x, np.generic):
            return x.item()
        return x

    return clean(obj, ""), bad


def _open_lock(path: Path) -> int:
    """An fd holding ``flock`` on ``path``, opened without following a symlink (a planted
    link would make us write our pid into the file it names). After locking, the path must
    still name the inode we locked: a writer that finished in between unlinked it, and
    holding a lock on an unlinked file would let a third writer in beside us."""
    for _ in range(100):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise ValueError(f"'{path}' is a symbolic link; a run folder's lock is its own "
                                 "file (remove the link)") from None
            raise _oserror(path.parent, e, "lock the run folder") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError(f"'{path}' is not a regular file; remove it")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)  # the holder's lock file stays
            raise ValueError(f"'{path.parent}' is being written by another process (pid {pid});"
                             " wait for it to finish, or choose another --out") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            now = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            now = None
        if now is not None and now.st_ino == os.fstat(fd).st_ino:
            return fd
        os.close(fd)  # we locked a file its holder had already unlinked: try the new one
    raise ValueError(f"cannot lock '{path.parent}': its lock file keeps changing")


@contextlib.contextmanager
def run_lock(out: Path, clean_prefix: str | None = None):
    """Hold an exclusive lock on run folder ``out`` (``fcntl.flock`` on ``out/.lock``, which
    holds the writer's pid): a second writer is refused at once. The kernel drops the lock
    when its process dies, so a killed run leaves no stale lock. Holding it, the temporary
    files named ``clean_prefix*`` that a killed writer left are removed (the caller has
    checked the folder is its own)."""
    path = out / LOCK
    fd = _open_lock(path)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        if clean_prefix:
            for entry in os.scandir(out):  # left by a killed writer; we hold the lock now
                if entry.name.startswith(clean_prefix) and entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still locked: the next writer makes a fresh one
        os.close(fd)


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
