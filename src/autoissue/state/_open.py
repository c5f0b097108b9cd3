"""Open the state store a DSN names: the same file or server (and prefix) as the queue's."""

from __future__ import annotations

from autoissue._clock import Clock
from autoissue._dsn import DEFAULT_DSN, DEFAULT_SQLITE_PATH, BackendSpec
from autoissue.state._base import StateStore
from autoissue.state._memory import MemoryStateStore
from autoissue.state._sqlite import SqliteStateStore


async def open_state(dsn: str = DEFAULT_DSN, *, clock: Clock | None = None) -> StateStore:
    """Open the state store named by ``dsn`` (the same DSNs as :func:`~autoissue.queue.open_queue`).

    Raises :class:`ConfigurationError` for a bad DSN and :class:`BackendUnavailableError`
    when the database or server cannot be reached.
    """
    spec = BackendSpec.from_dsn(dsn)
    if spec.kind == "memory":
        return MemoryStateStore(clock=clock)
    if spec.kind == "sqlite":
        return await SqliteStateStore(spec.path or DEFAULT_SQLITE_PATH, clock=clock).open()
    return await _open_redis(spec, clock)


async def _open_redis(spec: BackendSpec, clock: Clock | None) -> StateStore:
    # redis is an optional dependency (the "redis" extra), imported only for redis:// DSNs.
    from autoissue._redis import connect_redis  # noqa: PLC0415
    from autoissue.state._redis import RedisStateStore  # noqa: PLC0415

    client = await connect_redis(spec)
    return RedisStateStore(client, prefix=spec.prefix, where=spec.describe(), clock=clock)
