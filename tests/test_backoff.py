"""One backoff for every retry: full jitter under a doubling ceiling, capped."""

from __future__ import annotations

import random

from autoissue._backoff import full_jitter


class Highest(random.Random):
    """Always the top of the range: the ceiling itself."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_ceiling_doubles_per_retry_up_to_the_cap() -> None:
    ceilings = [full_jitter(n, base_s=1.0, cap_s=10.0, rng=Highest()) for n in range(1, 7)]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert full_jitter(0, base_s=1.0, cap_s=10.0, rng=Highest()) == 1.0


def test_every_wait_falls_between_zero_and_the_ceiling() -> None:
    rng = random.Random(7)
    waits = [full_jitter(3, base_s=0.5, cap_s=60.0, rng=rng) for _ in range(500)]
    assert all(0.0 <= wait <= 2.0 for wait in waits)
    assert max(waits) > 1.5  # spread over the range, not in step
    assert min(waits) < 0.5
