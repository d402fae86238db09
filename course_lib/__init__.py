"""course_lib: the JAX library behind the FYS5429 generative-models notebooks.

Layout follows the course: ``data`` -> ``nets`` -> the model families (``gan/``,
``diffusion/``, ``baseline``) -> ``cli/``, with ``train`` (the one training loop),
``theory/`` (exact NumPy references) and ``plots`` (the shared figures) beside them.

Importing course_lib changes no global JAX setting. :func:`enable_compile_cache` keeps JAX's
compiled programs on disk between runs; the command line calls it, and so can a notebook's
first cell (``make`` exports the same settings as environment variables, which JAX reads).
"""

import os

__version__ = "0.1.0"


def enable_compile_cache(directory: str | None = None) -> str | None:
    """Compile once per machine, not once per run: turn on JAX's persistent compilation cache
    in ``directory`` (default ``$JAX_COMPILATION_CACHE_DIR``, else ``~/.cache/course_lib/jax``),
    with the thresholds lowered so that the course's small CPU programs are cached too (by
    default JAX caches only programs that took over a second to compile).

    This changes three global JAX settings (jax_compilation_cache_dir,
    jax_persistent_cache_min_compile_time_secs, jax_persistent_cache_min_entry_size_bytes).
    ``COURSE_LIB_NO_CACHE=1`` makes it do nothing. Returns the folder, or None.
    """
    if os.environ.get("COURSE_LIB_NO_CACHE"):
        return None
    import jax

    directory = directory or os.environ.get("JAX_COMPILATION_CACHE_DIR",
                                            os.path.expanduser("~/.cache/course_lib/jax"))
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return directory
