"""Where a run keeps its queue and state, named by one DSN string.

``memory://`` (this process only), ``sqlite:///relative/path.db`` or ``sqlite:////abs/path.db``
(SQLAlchemy's convention; ``sqlite://`` alone means ``.autoissue/state.db``), and
``redis://[:password@]host:port/db?prefix=autoissue:run1`` (also ``rediss://``).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from autoissue._exceptions import ConfigurationError
from autoissue.queue._base import Queue
from autoissue.queue._memory import MemoryQueue
from autoissue.queue._sqlite import SqliteQueue
from autoissue.queue._sqlite_db import DEFAULT_SQLITE_PATH

Kind = Literal["memory", "sqlite", "redis"]

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
            f"backend {_redact(dsn)!r} has an unknown scheme {scheme!r}: "
            "use memory, sqlite or redis"
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
                f"backend {_redact(dsn)!r}: needs a host and a non-empty prefix"
            )
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise ConfigurationError(
                f"backend {_redact(dsn)!r}: the database {database!r} is not a number"
            )
        url = parts._replace(query=urllib.parse.urlencode(query, doseq=True)).geturl()
        return cls("redis", url=url, prefix=prefix)

    def describe(self) -> str:
        """The DSN again, without any password."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        if self.kind == "redis":
            return f"{_redact(self.url or '')}?prefix={self.prefix}"
        return "memory://"


def _redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}{port}").geturl()


async def open_queue(dsn: str = DEFAULT_DSN, **options: Any) -> Queue:
    """Open the queue named by ``dsn``; ``options`` go to the backend (see :class:`Queue`).

    Raises :class:`ConfigurationError` for a bad DSN and :class:`BackendUnavailableError`
    when the database or server cannot be reached.
    """
    spec = BackendSpec.from_dsn(dsn)
    if spec.kind == "memory":
        return MemoryQueue(**options)
    if spec.kind == "sqlite":
        return await SqliteQueue(spec.path or DEFAULT_SQLITE_PATH, **options).open()
    return await _open_redis(spec, options)


async def _open_redis(spec: BackendSpec, options: dict[str, Any]) -> Queue:
    # redis is an optional dependency (the "redis" extra), imported only for redis:// DSNs.
    from autoissue.queue._redis import RedisQueue, connect_redis  # noqa: PLC0415

    client = await connect_redis(spec)
    return RedisQueue(client, prefix=spec.prefix, where=spec.describe(), **options)
