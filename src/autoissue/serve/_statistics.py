"""The receiver's figures: a mutable tally it keeps, and the frozen snapshot it hands out.

Every delivery is counted once as received and, once answered, once in exactly one outcome:
accepted (offered and queued), duplicate (an id already admitted), rejected (401, 400, 413, by
reason), ignored (by reason, ``ping`` included) or failed (by reason: ``unavailable``, a 503,
or ``in_progress``, a 409; not queued, so GitHub shows a failure a redelivery can retry).
Received minus the outcomes is what is in flight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Tally", "WebhookStatistics"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookStatistics:
    """A frozen snapshot of a :class:`~autoissue.serve.WebhookReceiver`'s deliveries.

    ``enqueued`` sums what admission said it queued (an accepted delivery may queue nothing,
    when the issue needs no processing); ``last_delivery_at`` is the epoch time the last
    delivery arrived (``None``: none yet).
    """

    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    enqueued: int = 0
    rejected_by: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    ignored_by: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    failed_by: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    last_delivery_at: float | None = None

    @property
    def rejected(self) -> int:
        """Deliveries refused: bad signature, too large or malformed."""
        return sum(self.rejected_by.values())

    @property
    def ignored(self) -> int:
        """Deliveries answered without asking for any work."""
        return sum(self.ignored_by.values())

    @property
    def failed(self) -> int:
        """Deliveries not queued: admission failed or timed out, or the id was being admitted."""
        return sum(self.failed_by.values())

    @property
    def in_flight(self) -> int:
        """Deliveries received and not answered yet."""
        answered = self.accepted + self.duplicate + self.failed + self.rejected + self.ignored
        return self.received - answered

    def as_json(self) -> dict[str, Any]:
        """The figures as ``/healthz`` shows them."""
        return {
            "deliveries": {
                "received": self.received,
                "accepted": self.accepted,
                "duplicate": self.duplicate,
                "rejected": self.rejected,
                "ignored": self.ignored,
                "failed": self.failed,
            },
            "enqueued": self.enqueued,
            "rejected_by": dict(self.rejected_by),
            "ignored_by": dict(self.ignored_by),
            "failed_by": dict(self.failed_by),
            "last_delivery_at": self.last_delivery_at,
        }


@dataclass(slots=True)
class Tally:
    """The live counts behind :class:`WebhookStatistics`; one event loop changes them."""

    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    enqueued: int = 0
    rejected_by: Counter[str] = field(default_factory=Counter)
    ignored_by: Counter[str] = field(default_factory=Counter)
    failed_by: Counter[str] = field(default_factory=Counter)
    last_delivery_at: float | None = None

    def snapshot(self) -> WebhookStatistics:
        """Freeze the counts as they are now."""
        return WebhookStatistics(
            received=self.received,
            accepted=self.accepted,
            duplicate=self.duplicate,
            enqueued=self.enqueued,
            rejected_by=MappingProxyType(dict(self.rejected_by)),
            ignored_by=MappingProxyType(dict(self.ignored_by)),
            failed_by=MappingProxyType(dict(self.failed_by)),
            last_delivery_at=self.last_delivery_at,
        )
