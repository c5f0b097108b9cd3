"""github.com's documented limits as numbers, and the least time they let a run of requests take.

:mod:`autoissue.emulator._ratelimit` enforces these numbers (the ``github`` profile); the
benchmarks read them here to tell how fast a run could have gone. Both follow the emulator's
own accounting: which routes create content, which are free, and which answers never reached
the limits (see :data:`NOT_ADMITTED`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CONTENT_ROUTES",
    "FREE_ROUTES",
    "GITHUB_LIMITS",
    "NOT_ADMITTED",
    "GithubLimits",
    "least_seconds",
]

#: Endpoints that trigger notifications: GitHub's content-creation limit applies to them.
#: Adding labels is not among them (GitHub's list: comments, issues, pull requests).
CONTENT_ROUTES = frozenset(
    {
        "POST /repos/{owner}/{repo}/issues/{n}/comments",
        "POST /repos/{owner}/{repo}/pulls",
        "POST /repos/{owner}/{repo}/issues",
    }
)
#: Endpoints that no limit applies to: ``GET /rate_limit`` is how a limited client learns the reset.
FREE_ROUTES = frozenset({"GET /rate_limit"})
#: Statuses of answers given before the limits spent anything: a 401 and a 503 fault come before
#: them, a 403 is a refusal (the emulator sends no other), and a reset may be a client giving
#: up during the latency. Leaving a request out can only shorten the least time, never lengthen it.
NOT_ADMITTED = frozenset({"401", "403", "503", "reset"})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True, kw_only=True)
class GithubLimits:
    """The numbers of github.com's limits for one identity; lengths in seconds of real time.

    With a ``time_scale`` K every length lasts 1/K of itself, as the emulator's windows do.
    ``mutation_spacing_s`` is GitHub's advice of at least one second between mutating requests:
    the emulator refuses nothing for it, but a client keeping github.com's rules keeps it, on
    the emulator's compressed clock (1/K s).
    """

    primary: int = 5000
    anonymous: int = 60
    hour_s: float = 3600.0
    max_concurrent: int = 100
    points_per_minute: int = 900
    read_points: int = 1
    write_points: int = 5
    content_per_minute: int = 80
    content_per_hour: int = 500
    mutation_spacing_s: float = 1.0

    @property
    def minute_s(self) -> float:
        """The length of the per-minute windows (points, content creation)."""
        return self.hour_s / 60

    def points(self, request: str) -> int:
        """The secondary-limit cost of a request (a method or a route template): 1 or 5.

        A read (GET, HEAD, OPTIONS) costs 1 point, a mutation 5.
        """
        method = request.split(" ", 1)[0]
        return self.read_points if method in _READS else self.write_points


#: What the emulator's ``github`` profile enforces.
GITHUB_LIMITS = GithubLimits()


def _fixed_windows_s(uses: int, per_window: int, length: float) -> float:
    """The least time ``uses`` take through a fixed window admitting ``per_window`` of them.

    The window opens at the first use, so up to ``per_window`` go at once; every further
    window opens a whole ``length`` after the one before: ``ceil(uses / per_window) - 1``
    lengths, and none at all while the uses fit into one window.
    """
    return max(uses - 1, 0) // per_window * length


def least_seconds(
    requests: Mapping[str, Mapping[str, int]],
    time_scale: float = 1.0,
    limits: GithubLimits = GITHUB_LIMITS,
) -> dict[str, float]:
    """The least seconds each limit lets ``requests`` take, by limit name.

    ``requests`` is the emulator's ``stats["requests"]``: route template, then status, then
    count. Each value is a lower bound on the time from a run's first request to its last, for
    one identity starting on fresh windows (the emulator's reset clears them). The names are
    the emulator's refusal kinds, ``primary``, ``points``, ``content_minute`` and
    ``content_hour``, and ``mutation_spacing``. Concurrency bounds no duration by itself.
    """
    hour, minute = limits.hour_s / time_scale, limits.minute_s / time_scale
    limited = {route: counts for route, counts in requests.items() if route not in FREE_ROUTES}
    # A 304 spends points, not the primary budget.
    charged = sum(_admitted(counts) - counts.get("304", 0) for counts in limited.values())
    content = sum(_admitted(counts) for route, counts in limited.items() if route in CONTENT_ROUTES)
    # Spacing is the client's rule: every mutating request it sent counts, answered or not.
    mutations = sum(sum(counts.values()) for route, counts in requests.items() if _mutates(route))
    points = (
        _fixed_windows_s(
            _admitted(counts), limits.points_per_minute // _cost(route, limits), minute
        )
        for route, counts in limited.items()
    )
    return {
        "primary": _fixed_windows_s(charged, limits.primary, hour),
        "points": max(points, default=0.0),
        "content_minute": _fixed_windows_s(content, limits.content_per_minute, minute),
        "content_hour": _fixed_windows_s(content, limits.content_per_hour, hour),
        "mutation_spacing": max(mutations - 1, 0) * limits.mutation_spacing_s / time_scale,
    }


def _admitted(counts: Mapping[str, int]) -> int:
    """How many of a route's requests got past the limits, which spent on them."""
    return sum(n for status, n in counts.items() if status not in NOT_ADMITTED)


def _mutates(route: str) -> bool:
    # Not "not a read": the emulator files requests to unknown paths under "unmatched".
    return route.split(" ", 1)[0] in _WRITES


def _cost(route: str, limits: GithubLimits) -> int:
    return limits.write_points if _mutates(route) else limits.read_points
