"""Webhooks as an intake: GitHub's deliveries received, verified, deduplicated and admitted.

::

    GitHub ──POST /webhook──▶ WebhookReceiver ──offer(repo, [issue])──▶ Admission ──▶ queue
             X-Hub-Signature-256   │ verify, cap, classify        (the engine's: select,
             X-GitHub-Delivery     │ claim + remember the id        ledger, durable put)
                                   ▼ in the StateStore
                             2xx only after offer() returned; 503 if it raised or timed out

:class:`WebhookReceiver` is the component (its module docstring states the whole contract);
:class:`WebhookServer` serves it on the running event loop; :class:`Admission` is what it
hands issues to; :class:`WebhookOptions` configures it and :class:`WebhookStatistics` is the
frozen snapshot its ``statistics()`` and ``GET /healthz`` report, beside the
:data:`HealthFigures` the process around it adds; a :data:`MetricsPage`, when given, answers
``GET /metrics`` on the same port. :func:`signature_for`
signs a body as GitHub does, for anything that forwards or replays deliveries.
"""

from __future__ import annotations

from autoissue.serve._options import GITHUB_MAX_PAYLOAD_BYTES, WebhookOptions
from autoissue.serve._receiver import Admission, HealthFigures, MetricsPage, WebhookReceiver
from autoissue.serve._server import DEFAULT_WEBHOOK_HOST, WebhookServer
from autoissue.serve._signature import signature_for
from autoissue.serve._statistics import WebhookStatistics

__all__ = [
    "DEFAULT_WEBHOOK_HOST",
    "GITHUB_MAX_PAYLOAD_BYTES",
    "Admission",
    "HealthFigures",
    "MetricsPage",
    "WebhookOptions",
    "WebhookReceiver",
    "WebhookServer",
    "WebhookStatistics",
    "signature_for",
]
