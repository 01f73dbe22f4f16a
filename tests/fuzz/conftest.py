"""Fuzz tests: bounded and deterministic in `make test`; `make chaos` runs more, freshly seeded.

FUZZ_EXAMPLES sets the examples per property (and turns derandomization off, so each run tries
new inputs; hypothesis prints the seed of a failure, `@seed` or --hypothesis-seed replays it).
"""

from __future__ import annotations

import os

import celpy
from hypothesis import HealthCheck, settings

# celpy sets the recursion limit (2500) whenever it builds an environment; build one before
# hypothesis records the limit, or it warns that the limit changed during a test.
celpy.Environment()

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None

settings.register_profile(
    "fuzz",
    max_examples=EXAMPLES or 100,
    deadline=None,
    database=None,
    derandomize=EXAMPLES is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("fuzz")


def examples(default: int) -> int:
    """Examples for a slower property: FUZZ_EXAMPLES when set, else `default`."""
    return EXAMPLES or default
