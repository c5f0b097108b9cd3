"""Conditional GETs: an ETag / Last-Modified cache, and single-flight for identical GETs."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from autoissue._exceptions import MalformedResponseError
from autoissue.github._transport import Response


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """What is kept of a 200 answer to revalidate it later."""

    etag: str | None
    last_modified: str | None
    response: Response

    @property
    def size(self) -> int:
        """Bytes the entry holds (the body dominates)."""
        return len(self.response.body) + 200


class ETagCache:
    """A bounded LRU of GET answers keyed by URL; a 304 makes an answer cost nothing.

    Bounded by entries and by bytes, so a long run over a huge repository cannot grow it
    without limit: 32 MB by default, enough for the listing of a repository of about 12,000
    issues (its pages are most of what a rerun saves), small beside the memory budget.
    :func:`dump_cache` and :func:`load_cache` keep it across runs. ETags
    vary with the token: keep one cache per token.
    """

    def __init__(self, *, max_entries: int = 20_000, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._bytes = 0

    def __repr__(self) -> str:
        return f"<ETagCache {len(self._entries)} entries, {self._bytes} bytes>"

    def __len__(self) -> int:
        return len(self._entries)

    def validators(self, key: str) -> dict[str, str]:
        """The conditional headers for a GET of ``key`` (empty when nothing is cached)."""
        entry = self._entries.get(key)
        if entry is None:
            return {}
        headers = {"If-None-Match": entry.etag} if entry.etag else {}
        if entry.last_modified and not entry.etag:
            headers["If-Modified-Since"] = entry.last_modified
        return headers

    def hit(self, key: str) -> Response | None:
        """The cached answer for ``key`` (after a 304), marked as coming from the cache."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        cached = entry.response
        return Response(cached.status, cached.headers, cached.body, cached.url, from_cache=True)

    def store(self, key: str, response: Response) -> None:
        """Keep a 200 answer that carries a validator; drop the least recent beyond bounds."""
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if response.status != 200 or not (etag or modified):
            return
        self._drop(key)
        entry = CachedAnswer(etag, modified, response)
        if entry.size > self.max_bytes:
            return
        self._entries[key] = entry
        self._bytes += entry.size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def records(self) -> list[tuple[str, CachedAnswer]]:
        """Every entry, least recent first."""
        return list(self._entries.items())


class _Record(msgspec.Struct, array_like=True):
    key: str
    response: Response


def dump_cache(cache: ETagCache) -> bytes:
    """The cache's entries as bytes, to keep between runs."""
    return msgspec.msgpack.encode([_Record(key, entry.response) for key, entry in cache.records()])


def load_cache(cache: ETagCache, data: bytes) -> int:
    """Put entries saved by :func:`dump_cache` back; returns how many were restored.

    Bytes that are not a saved cache raise :class:`~autoissue.MalformedResponseError`.
    """
    try:
        records = msgspec.msgpack.decode(data, type=list[_Record])
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise MalformedResponseError(f"not a saved ETag cache: {error}") from error
    for record in records:
        cache.store(record.key, record.response)
    return len(records)


class SingleFlight:
    """Identical concurrent calls share one execution and its outcome."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[Response]] = {}
        self.shared = 0

    def __repr__(self) -> str:
        return f"<SingleFlight running={len(self._running)} shared={self.shared}>"

    async def run(self, key: str, call: Callable[[], Awaitable[Response]]) -> Response:
        """Run ``call`` for ``key``, or wait for the run already going for it."""
        while (running := self._running.get(key)) is not None:
            self.shared += 1
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                # The leader was cancelled, not us: run it ourselves.
                if not running.cancelled() or _cancelling():
                    raise
        return await self._lead(key, call)

    async def _lead(self, key: str, call: Callable[[], Awaitable[Response]]) -> Response:
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            result = await call()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # marks it retrieved when nobody else was waiting
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._running[key]


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
