"""The receiver's settings: a small frozen value object, checked when it is made."""

from __future__ import annotations

from dataclasses import dataclass

from autoissue._exceptions import ConfigurationError

__all__ = ["GITHUB_MAX_PAYLOAD_BYTES", "HEALTH_PATH", "METRICS_PATH", "WebhookOptions"]

#: GitHub caps webhook payloads at 25 MB and does not deliver larger ones: nothing GitHub
#: sends is bigger, so a bigger body is not GitHub's.
GITHUB_MAX_PAYLOAD_BYTES = 25 * 1024 * 1024

#: Where the receiver answers how it is doing, and where it serves metrics when given them:
#: both read only, unsigned, and never deliveries.
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookOptions:
    """How a :class:`~autoissue.serve.WebhookReceiver` receives; the secret is given apart.

    ``path`` takes the deliveries (``/healthz`` and ``/metrics`` are beside it).
    ``max_body_bytes`` caps a body (413 above it). ``own_login`` is the account autoissue
    writes as, whose events are echoes of its own writes and are ignored. ``offer_timeout_s``
    bounds admission: GitHub gives up on a delivery after 10 s, so the answer must come well
    before. A delivery id admitted is remembered ``remember_s`` on the state store (GitHub's
    redeliveries reuse the id). A bad signature is logged at most once per ``log_interval_s``.
    """

    path: str = "/webhook"
    max_body_bytes: int = GITHUB_MAX_PAYLOAD_BYTES
    own_login: str | None = None
    offer_timeout_s: float = 8.0
    remember_s: float = 24 * 3600.0
    log_interval_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.path.startswith("/") or self.path in (HEALTH_PATH, METRICS_PATH):
            raise ConfigurationError(
                f"the webhook path must start with / (not {HEALTH_PATH} or {METRICS_PATH}):"
                f" {self.path!r}"
            )
        for name in ("max_body_bytes", "offer_timeout_s", "remember_s"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name} must be positive, not {getattr(self, name)}")
        if self.log_interval_s < 0:
            raise ConfigurationError(f"log_interval_s must not be negative: {self.log_interval_s}")
