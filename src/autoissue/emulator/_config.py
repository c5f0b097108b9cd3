"""The emulator's configuration: one frozen, keyword-only value object."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from autoissue._exceptions import ConfigurationError

__all__ = ["LIMIT_PROFILES", "EmulatorConfig"]

#: ``none``: GitHub Enterprise Server's default (no limits, no headers); ``github``: github.com.
LIMIT_PROFILES = ("none", "github")

_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_MAX_ISSUES = 1_000_000


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """How an emulator serves: where, which repository, and how GitHub-like it misbehaves.

    ``latency_ms`` is the median of a log-normal response time (0: no delay at all);
    ``capacity`` the in-flight requests served before a queueing delay grows (0: unlimited);
    ``faults`` the share of requests answered 502/503, reset or slowed; ``limits`` is ``"none"``
    or ``"github"``; ``time_scale`` K makes an hour of rate-limit windows pass in 1/K real hours;
    ``tokens`` restricts the valid tokens (``None``: any non-empty token); ``data_dir`` keeps the
    bare git repository (``None``: a temporary directory removed on close); ``issues_file``
    serves the real issues a file holds instead of ``issues`` generated ones (see
    :func:`~autoissue.emulator.read_issues_file`).
    """

    host: str = "127.0.0.1"
    port: int = 0
    repo: str = "acme/widgets"
    issues: int = 1000
    seed: int = 0
    latency_ms: float = 0.0
    capacity: int = 0
    faults: float = 0.0
    limits: str = "none"
    time_scale: float = 1.0
    tokens: frozenset[str] | None = None
    data_dir: Path | None = None
    issues_file: Path | None = None

    def __post_init__(self) -> None:
        problem = _first_problem(self)
        if problem:
            raise ConfigurationError(f"invalid emulator configuration: {problem}")

    @property
    def owner(self) -> str:
        """The repository's owner login."""
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The repository's name without its owner."""
        return self.repo.split("/", 1)[1]


def _first_problem(config: EmulatorConfig) -> str:
    """Say what is wrong with ``config`` in one phrase, or return an empty string."""
    checks = (
        (bool(config.host), f"host must not be empty (got {config.host!r})"),
        (0 <= config.port <= 65535, f"port must be 0-65535 (got {config.port})"),
        (bool(_REPO.match(config.repo)), f"repo must be OWNER/NAME (got {config.repo!r})"),
        (
            0 <= config.issues <= _MAX_ISSUES,
            f"issues must be 0-{_MAX_ISSUES} (got {config.issues})",
        ),
        (_finite(config.latency_ms) and config.latency_ms >= 0, "latency_ms must be >= 0"),
        (config.capacity >= 0, f"capacity must be >= 0 (got {config.capacity})"),
        (_finite(config.faults) and 0 <= config.faults <= 1, "faults must be between 0 and 1"),
        (config.limits in LIMIT_PROFILES, f"limits must be none or github (got {config.limits!r})"),
        (_finite(config.time_scale) and config.time_scale > 0, "time_scale must be > 0"),
        (config.tokens is None or all(config.tokens), "tokens must be non-empty strings"),
    )
    return next((message for ok, message in checks if not ok), "")


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
