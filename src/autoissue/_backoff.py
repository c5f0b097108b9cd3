"""Full-jitter exponential backoff: how long every retry in the project waits first.

The wait before retry ``n`` (from 1) is uniform in ``[0, min(cap_s, base_s * 2**(n-1))]``:
AWS's "full jitter", which spreads the retries of many clients that failed together instead
of sending them back in step. The queue (items) and the GitHub client (requests) both wait by
it; GitHub's own rule for secondary limits (a minute first) is the client's, not this one.
"""

from __future__ import annotations

import random

__all__ = ["full_jitter"]


def full_jitter(retry: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first)."""
    ceiling = min(cap_s, base_s * 2.0 ** max(0, retry - 1))
    return rng.uniform(0.0, ceiling)
