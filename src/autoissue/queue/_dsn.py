"""Open the queue a DSN names (see :mod:`autoissue._dsn` for the DSNs)."""

from __future__ import annotations

from typing import Any

from autoissue._dsn import DEFAULT_DSN, DEFAULT_SQLITE_PATH, BackendSpec
from autoissue.queue._base import Queue
from autoissue.queue._memory import MemoryQueue
from autoissue.queue._sqlite import SqliteQueue


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
    from autoissue._redis import connect_redis  # noqa: PLC0415
    from autoissue.queue._redis import RedisQueue  # noqa: PLC0415

    client = await connect_redis(spec)
    return RedisQueue(client, prefix=spec.prefix, where=spec.describe(), **options)
