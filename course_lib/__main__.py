"""``python -m course_lib`` and the ``course-lib`` script: Ctrl-C is caught from the first moment.

The handler goes in before the command line (and JAX, which takes seconds) is imported: a
Ctrl-C then leaves at once with one line and exit status 130 (nothing is written yet);
:func:`course_lib.cli.main` installs its own once it runs.
"""

import os
import signal
import sys


def _interrupted_early(signum, frame):
    os.write(2, b"error: interrupted\n")
    os._exit(130)


def entry() -> int:
    signal.signal(signal.SIGINT, _interrupted_early)
    from course_lib.cli import main

    status = main()
    if status == 130:
        # interrupted: everything of ours is cleaned up by now; leave without the
        # interpreter's shutdown, which waits for XLA's work in flight (seconds under load)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    return status


if __name__ == "__main__":
    sys.exit(entry())
