"""Where a run keeps its queue, state and shared budget, named by one DSN string.

``memory://`` (this process only), ``sqlite:///relative/path.db`` or ``sqlite:////abs/path.db``
(SQLAlchemy's convention; ``sqlite://`` alone means ``.autoissue/state.db``), and
``redis://[:password@]host:port/db?prefix=autoissue:run1`` (also ``rediss://``). Every part of
the backend (:mod:`autoissue.backend`) reads the same DSN.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from autoissue._exceptions import ConfigurationError

__all__ = ["DEFAULT_DSN", "DEFAULT_SQLITE_PATH", "BackendSpec", "Kind", "redact"]

Kind = Literal["memory", "sqlite", "redis"]

#: Where the sqlite backend keeps its file unless told otherwise.
DEFAULT_SQLITE_PATH = Path(".autoissue") / "state.db"

#: The DSN used when none is given.
DEFAULT_DSN = f"sqlite:///{DEFAULT_SQLITE_PATH}"
_REDIS_SCHEMES = ("redis", "rediss")


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """A parsed backend DSN: which ``kind``, and its file ``path`` or Redis ``url``/``prefix``."""

    kind: Kind
    path: Path | None = None
    url: str | None = None
    prefix: str = "autoissue"

    @classmethod
    def from_dsn(cls, dsn: str) -> BackendSpec:
        """Parse ``dsn``; raise :class:`ConfigurationError` saying what is wrong with it."""
        scheme, sep, rest = dsn.partition("://")
        if not sep:
            raise ConfigurationError(
                f"backend {dsn!r} is not a DSN: use memory://, sqlite:///path.db or "
                "redis://host:port/db"
            )
        if scheme == "memory":
            return cls("memory")
        if scheme == "sqlite":
            return cls._sqlite(dsn, rest)
        if scheme in _REDIS_SCHEMES:
            return cls._redis(dsn)
        raise ConfigurationError(
            f"backend {redact(dsn)!r} has an unknown scheme {scheme!r}: use memory, sqlite or redis"
        )

    @classmethod
    def _sqlite(cls, dsn: str, rest: str) -> BackendSpec:
        if rest and not rest.startswith("/"):
            raise ConfigurationError(
                f"backend {dsn!r}: a sqlite DSN has three slashes, e.g. sqlite:///state.db "
                "(four for an absolute path)"
            )
        path = urllib.parse.unquote(rest[1:].split("?", 1)[0])
        return cls("sqlite", path=Path(path) if path else DEFAULT_SQLITE_PATH)

    @classmethod
    def _redis(cls, dsn: str) -> BackendSpec:
        parts = urllib.parse.urlsplit(dsn)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        prefix = query.pop("prefix", ["autoissue"])[-1]
        if not prefix or (not parts.hostname and not parts.path):
            raise ConfigurationError(
                f"backend {redact(dsn)!r}: needs a host and a non-empty prefix"
            )
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise ConfigurationError(
                f"backend {redact(dsn)!r}: the database {database!r} is not a number"
            )
        url = parts._replace(query=urllib.parse.urlencode(query, doseq=True)).geturl()
        return cls("redis", url=url, prefix=prefix)

    def describe(self) -> str:
        """The DSN again, without any password."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        if self.kind == "redis":
            return f"{redact(self.url or '')}?prefix={self.prefix}"
        return "memory://"


def redact(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}{port}").geturl()
