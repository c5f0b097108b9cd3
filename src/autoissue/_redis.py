"""The distributed backend's Redis client: one per backend, shared by every part on it.

Imported only for ``redis://`` DSNs: redis-py is an optional dependency (the ``redis`` extra).
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from autoissue._dsn import BackendSpec
from autoissue._exceptions import BackendUnavailableError

__all__ = ["connect_redis", "redis_client"]


def redis_client(spec: BackendSpec, *, timeout_s: float = 10.0) -> aioredis.Redis:
    """A client for ``spec``'s server that keeps payloads as bytes and never hangs for ever."""
    return aioredis.Redis.from_url(
        spec.url or "redis://127.0.0.1:6379/0",
        decode_responses=False,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
    )


async def connect_redis(spec: BackendSpec) -> aioredis.Redis:
    """A client for ``spec``'s server that has answered a ping (closed again if it did not)."""
    client = redis_client(spec)
    try:
        await _ping(client, spec)
    except BaseException:  # cancelled too: the client's pool must not outlive this call
        await client.aclose()
        raise
    return client


async def _ping(client: aioredis.Redis, spec: BackendSpec) -> None:
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        raise BackendUnavailableError(
            f"redis at {spec.describe()} is unreachable: {error}"
        ) from error
