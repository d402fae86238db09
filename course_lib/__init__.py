"""course_lib: the JAX library behind the FYS5429 generative-models notebooks.

Layout follows the data: ``data`` -> ``nets`` -> models (``gan``, ``diffusion``) ->
``train`` -> evaluation, with the theory helpers beside the models they explain.
"""

import os

import jax

# Compile once per machine, not once per run: JAX keeps compiled programs on disk. The
# thresholds are lowered so that the small CPU programs of the course are cached too.
if not os.environ.get("COURSE_LIB_NO_CACHE"):
    jax.config.update(
        "jax_compilation_cache_dir",
        os.environ.get("JAX_COMPILATION_CACHE_DIR", os.path.expanduser("~/.cache/course_lib/jax")),
    )
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)

__version__ = "0.1.0"
