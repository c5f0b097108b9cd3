"""GitHub's delivery signature: ``X-Hub-Signature-256: sha256=`` + hex HMAC-SHA256 of the body.

GitHub signs the raw bytes it sends with the webhook's secret; the receiver recomputes the HMAC
over exactly the bytes it received (never over re-serialised JSON) and compares in constant time.
Pure code, no I/O. The secret lives only inside :class:`Secret`, whose ``repr`` and ``str``
never show it, so neither a log line, a traceback's locals nor an error message can.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from autoissue._exceptions import ConfigurationError

__all__ = ["SIGNATURE_HEADER", "Secret", "signature_for", "well_formed"]

#: The header GitHub signs deliveries in (SHA-256; the older ``X-Hub-Signature`` is SHA-1).
SIGNATURE_HEADER = "X-Hub-Signature-256"

_PREFIX = "sha256="
_WELL_FORMED = re.compile(r"sha256=[0-9a-fA-F]{64}")


class Secret:
    """A webhook secret: it signs and verifies, and never shows itself."""

    __slots__ = ("_key",)

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if not key:
            raise ConfigurationError("the webhook secret is empty")
        self._key = key

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key out in clear (to a process pool, a cache file...).
        raise TypeError("a webhook secret cannot be pickled")

    def sign(self, body: bytes) -> str:
        """The ``X-Hub-Signature-256`` value GitHub would send with ``body``."""
        return _PREFIX + hmac.new(self._key, body, hashlib.sha256).hexdigest()

    def verifies(self, signature: str | None, body: bytes) -> bool:
        """Whether ``signature`` is well formed and is ``body``'s, compared in constant time."""
        if signature is None or not well_formed(signature):
            return False
        given = signature.lower().encode("ascii")
        return hmac.compare_digest(given, self.sign(body).encode("ascii"))


def well_formed(signature: str) -> bool:
    """Whether ``signature`` is ``sha256=`` and 64 hex digits: ASCII, so it compares safely."""
    return _WELL_FORMED.fullmatch(signature) is not None


def signature_for(body: bytes, secret: str | bytes) -> str:
    """The ``X-Hub-Signature-256`` value for ``body`` under ``secret``, as GitHub computes it.

    For clients that replay or forward deliveries to a receiver, and for tests.
    """
    return Secret(secret).sign(body)
