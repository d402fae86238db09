"""What a command accepts before anything is allocated or written: seeds, and how much memory
a request may take (estimated, and refused with one line when over the limit)."""

from __future__ import annotations

import os

import numpy as np

SEED_MAX = 2**63 - 2  # jax.random.key takes an int64; the evaluation uses seed + 1


def check_int(value, what: str, low: int, high: int | None, accepted: str) -> int:
    """``value`` as an int in low..high (no bound above when None), else one line saying
    that ``what`` must be ``accepted``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__} {value!r}")
    if not low <= value <= (value if high is None else high):
        raise ValueError(f"{what} must be {accepted}, got {value}")
    return int(value)


def check_seed(seed, what: str = "--seed") -> int:
    """A seed as an int in 0..2**63-2 (a larger one is refused, not wrapped or hashed: two
    different seeds must never give the same run)."""
    return check_int(seed, what, 0, SEED_MAX, f"an integer in 0..{SEED_MAX} (2**63 - 2)")


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


def model_bytes(config, batch_size: int) -> float:
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
