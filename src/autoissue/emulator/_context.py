"""Everything one running emulator shares between its routes, and how to reset it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autoissue._clock import Clock
from autoissue.emulator._apps import Installations
from autoissue.emulator._config import EmulatorConfig
from autoissue.emulator._events import SILENT, Hooks, Notifier
from autoissue.emulator._latency import LatencyModel
from autoissue.emulator._listing import Listing
from autoissue.emulator._payloads import Payloads
from autoissue.emulator._ratelimit import RateLimiter
from autoissue.emulator._repos import REPO_ID, Repositories
from autoissue.emulator._stats import Stats
from autoissue.emulator._store import RepoStore
from autoissue.emulator._timeline import Timeline
from autoissue.emulator._webhooks import WebhookSender

__all__ = ["REPO_ID", "Context"]

_NO_DELIVERIES = {"sent": 0, "failed": 0, "dropped": 0, "pending": 0}


class Context:
    """The live parts of one emulator: repositories, limiter, latency model, stats, webhooks.

    ``bares`` are the bare git repositories of ``config.full_names``, in order. ``store``,
    ``listing``, ``payloads`` and ``bare`` are the first repository's. ``timeline`` (with a
    webhook URL only, else ``None``) records when items were opened and first labelled.
    """

    def __init__(
        self, *, config: EmulatorConfig, clock: Clock, base_url: str, bares: Sequence[Path]
    ) -> None:
        self.config = config
        self.clock = clock
        self.base_url = base_url
        self.repos = Repositories.configured(config, bares=bares, base_url=base_url, clock=clock)
        self.latency = LatencyModel(
            median_ms=config.latency_ms,
            capacity=config.capacity,
            faults=config.faults,
            seed=config.seed,
        )
        self.limits = config.limits == "github"
        self.installations = Installations(clock=clock, time_scale=config.time_scale)
        self.webhooks = _sender(config, clock)
        # Kept only while webhooks are on: the notifier sees the events it records anyway.
        self.timeline = Timeline() if self.webhooks else None
        self.hooks: Hooks = Notifier(self.webhooks, self.timeline) if self.webhooks else SILENT
        self._restart_counters()

    def __repr__(self) -> str:
        return f"Context({len(self.repos)} repos at {self.base_url}, {self.stats!r})"

    @property
    def store(self) -> RepoStore:
        """The first repository's store."""
        return self.repos.first.store

    @property
    def listing(self) -> Listing:
        """The first repository's listing."""
        return self.repos.first.listing

    @property
    def payloads(self) -> Payloads:
        """The first repository's payload builder."""
        return self.repos.first.payloads

    @property
    def bare(self) -> Path:
        """The first repository's bare git repository."""
        return self.repos.first.bare

    def reset(self) -> None:
        """Restore the seeded repositories and clear every counter, limit window and delivery."""
        for repo in self.repos:
            repo.reset()
        self._restart_counters()

    def _restart_counters(self) -> None:
        self.limiter = RateLimiter(clock=self.clock, time_scale=self.config.time_scale)
        self.stats = Stats()
        self.installations.clear()
        if self.webhooks is not None:
            self.webhooks.clear()
        if self.timeline is not None:
            self.timeline.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        """Every repository as ``GET /_emulator/state`` shows it."""
        return [repo.store.snapshot() for repo in self.repos]

    def statistics(self) -> dict[str, Any]:
        """The body of ``GET /_emulator/stats``: the request counters and the deliveries'."""
        deliveries = self.webhooks.statistics() if self.webhooks else dict(_NO_DELIVERIES)
        return {**self.stats.snapshot(), "webhook_deliveries": deliveries}


def _sender(config: EmulatorConfig, clock: Clock) -> WebhookSender | None:
    if config.webhook_url is None:
        return None
    return WebhookSender(url=config.webhook_url, secret=config.webhook_secret, clock=clock)
