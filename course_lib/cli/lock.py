"""The run folder's lock: one writer at a time, and no stale lock after a crash.

A second writer is refused with a one-line ``ValueError`` before it writes anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

from course_lib.cli.errors import oserror

LOCK = ".lock"


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
            raise oserror(path.parent, e, "lock the run folder") from None
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
