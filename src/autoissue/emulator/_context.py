"""Everything one running emulator shares between its routes, and how to reset it."""

from __future__ import annotations

from pathlib import Path

from autoissue._clock import Clock
from autoissue.emulator._apps import Installations
from autoissue.emulator._config import EmulatorConfig
from autoissue.emulator._data import generate
from autoissue.emulator._imported import read_issues_file
from autoissue.emulator._latency import LatencyModel
from autoissue.emulator._listing import Listing
from autoissue.emulator._models import IssueRecord
from autoissue.emulator._payloads import Payloads
from autoissue.emulator._ratelimit import RateLimiter
from autoissue.emulator._stats import Stats
from autoissue.emulator._store import RepoStore

__all__ = ["REPO_ID", "Context"]

#: The repository's numeric id (``/repositories/{id}/...``): the id of GitHub's own Hello-World.
REPO_ID = 1296269


class Context:
    """The live parts of one emulator: store, listing caches, limiter, latency model, stats."""

    def __init__(self, *, config: EmulatorConfig, clock: Clock, base_url: str, bare: Path) -> None:
        self.config = config
        self.clock = clock
        self.base_url = base_url
        self.bare = bare
        self.payloads = Payloads(base_url=base_url, full_name=config.repo, repo_id=REPO_ID)
        self.latency = LatencyModel(
            median_ms=config.latency_ms,
            capacity=config.capacity,
            faults=config.faults,
            seed=config.seed,
        )
        self.limits = config.limits == "github"
        self.installations = Installations(clock=clock, time_scale=config.time_scale)
        self.reset()

    def __repr__(self) -> str:
        return f"Context({self.config.repo} at {self.base_url}, {self.stats!r})"

    def reset(self) -> None:
        """Restore the seeded repository and clear every counter and limit window."""
        self.store = RepoStore(
            payloads=self.payloads,
            records=_records(self.config),
            clock=self.clock,
            clone_url=str(self.bare),
        )
        self.listing = Listing(self.store)
        self.limiter = RateLimiter(clock=self.clock, time_scale=self.config.time_scale)
        self.stats = Stats()
        self.installations.clear()


def _records(config: EmulatorConfig) -> list[IssueRecord]:
    # A file's issues are read again on every reset, so a reset restores them as they were.
    if config.issues_file is not None:
        return read_issues_file(config.issues_file, config.repo)
    return generate(config.seed, config.issues)
