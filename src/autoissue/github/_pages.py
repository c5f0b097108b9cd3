"""Listing: follow GitHub's pagination, several pages at once when the server says how many.

::

    first page ──link: next=…page=2, last=…page=N──▶ window of ``concurrency`` GETs, pages 2…N
        │                                              (each yielded in page order as it lands)
        └──── no ``last``, or no page number ───────▶ follow ``next``, one page after another

GitHub asks clients to follow its links rather than build URLs, so every page of a window is
the server's own ``next`` link with nothing changed but its ``page`` parameter, and only when
the ``last`` link is that same URL with another page number. Cursor pagination (no ``last``)
is followed one link at a time.

Pages come out in order: the window is a sliding one, so a page that lands early waits in its
task for those before it, and at most ``concurrency`` pages are held at once whatever the
list's length. A consumer that stops pulling stops new requests. An empty page, or a page
without a ``next`` link, ends the listing early (the list shrank while it was read): the pages
requested beyond it are cancelled. A short page that still links on is not an end (GitHub
drops items the token may not see from some lists, so page size alone proves nothing), nor
is a page whose every item the decoder left out: emptiness is what the server sent. A
window's last page that still has a ``next`` link means the list grew: listing goes on from
that link. A link to a URL already read is a loop (servers that only speak GitHub's API
have them): the listing stops there with a warning, and what it yielded stands.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from autoissue.github._protocol import parse_link_header
from autoissue.github._transport import Response

__all__ = [
    "PAGE_CONCURRENCY",
    "PageWindow",
    "iter_pages",
    "page_number",
    "plan_window",
    "with_page",
]

#: Pages requested at once by default: a 100-item page costs the emulator and GitHub far
#: more than an issue's own requests, and beyond 8 the list outruns any consumer anyway.
PAGE_CONCURRENCY = 8

T = TypeVar("T")
Decode = Callable[[Response], Sequence[T]]

logger = logging.getLogger(__name__)

# ``page=`` as a whole parameter name: ``per_page=`` must not match.
_PAGE = re.compile(r"([?&]page=)(\d+)(?=[&#]|$)")
_EMPTY_LIST = re.compile(rb"\s*\[\s*\]\s*")


class Requester(Protocol):
    """What listing asks of a client: one GET that returns its 2xx answer."""

    async def request(self, method: str, path_or_url: str, /) -> Response:
        """Send one request through the client's whole pipeline and return its answer."""
        ...


def page_number(url: str) -> int | None:
    """The ``page`` parameter of ``url``, or ``None`` when it has none (or several)."""
    found = _PAGE.findall(url)
    return int(found[0][1]) if len(found) == 1 else None


def with_page(url: str, number: int) -> str:
    """``url`` with its ``page`` parameter set to ``number``, all else byte for byte."""
    return _PAGE.sub(lambda match: match.group(1) + str(number), url, count=1)


@dataclass(frozen=True, slots=True)
class PageWindow:
    """Pages ``first`` to ``last`` (both included), each ``template`` with its page number."""

    template: str
    first: int
    last: int

    def urls(self) -> Iterator[str]:
        """Every page's URL, in page order."""
        return (with_page(self.template, number) for number in range(self.first, self.last + 1))


def plan_window(links: dict[str, str]) -> PageWindow | None:
    """The pages still to read when ``links`` name them by number; ``None`` to follow ``next``.

    A window needs ``next`` and ``last`` links that differ only by their page numbers, and
    at least two pages in it: anything else is followed link by link.
    """
    following, last = links.get("next"), links.get("last")
    if following is None or last is None:
        return None
    first_number, last_number = page_number(following), page_number(last)
    if first_number is None or last_number is None or last_number <= first_number:
        return None
    if with_page(following, last_number) != last:
        return None
    return PageWindow(following, first_number, last_number)


def iter_pages(
    requester: Requester,
    first_url: str,
    decode: Decode[T],
    *,
    concurrency: int = PAGE_CONCURRENCY,
) -> AsyncGenerator[list[T], None]:
    """Yield every page of the list at ``first_url``, decoded, in order.

    ``concurrency`` bounds the pages requested at once (1 follows ``next`` links one by
    one). Close the generator (``contextlib.aclosing``) to cancel the requests in flight.
    A link back to a page already read ends the listing with a logged warning.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    return _Listing(requester, decode, concurrency).run(first_url)


class _Listing(Generic[T]):
    """One listing's state: the URLs seen and where to go after a window."""

    def __init__(self, requester: Requester, decode: Decode[T], concurrency: int) -> None:
        self._requester, self._decode, self._concurrency = requester, decode, concurrency
        self._seen: set[str] = set()
        self._after_window: str | None = None

    def _first_visit(self, url: str) -> bool:
        """Note ``url`` as read; ``False`` (with a warning) when it was read already."""
        if url in self._seen:
            logger.warning(
                "pagination loops back to %s, a page already read: the listing stops there", url
            )
            return False
        self._seen.add(url)
        return True

    async def run(self, first_url: str) -> AsyncGenerator[list[T], None]:
        url: str | None = first_url
        while url is not None and self._first_visit(url):
            response = await self._requester.request("GET", url)
            yield list(self._decode(response))
            links = parse_link_header(response.headers.get("link"))
            listed = not _served_nothing(response)
            window = plan_window(links) if self._concurrency > 1 and listed else None
            if window is None:
                url = links.get("next")
                continue
            async with aclosing(self._window(window)) as pages:
                async for item in pages:
                    yield item
            url = self._after_window

    async def _window(self, window: PageWindow) -> AsyncGenerator[list[T], None]:
        urls = window.urls()
        in_flight: deque[tuple[str, asyncio.Task[Response]]] = deque()
        self._after_window = None
        try:
            self._fill(in_flight, urls)  # a window has two pages or more: never empty here
            while True:
                url, task = in_flight.popleft()
                if not self._first_visit(url):
                    return
                response = await task
                page = list(self._decode(response))
                if page:
                    yield page
                if self._window_ends(response, more=bool(in_flight)):
                    return
                self._fill(in_flight, urls)
        finally:
            await _cancel(pending for _, pending in in_flight)

    def _window_ends(self, response: Response, *, more: bool) -> bool:
        """Whether the window ends with ``response``; if so, note where listing goes on."""
        following = parse_link_header(response.headers.get("link")).get("next")
        listed = not _served_nothing(response)
        if listed and following is not None and more:
            return False
        self._after_window = following if listed else None
        return True

    def _fill(
        self, in_flight: deque[tuple[str, asyncio.Task[Response]]], urls: Iterator[str]
    ) -> None:
        while len(in_flight) < self._concurrency:
            url = next(urls, None)
            if url is None:
                return
            in_flight.append((url, asyncio.ensure_future(self._requester.request("GET", url))))


def _served_nothing(response: Response) -> bool:
    """Whether the server sent an empty list (whatever the decoder kept of a longer one)."""
    return _EMPTY_LIST.fullmatch(response.body) is not None


async def _cancel(tasks: Iterator[asyncio.Task[Response]]) -> None:
    """Cancel requests no longer wanted and wait for them, their errors included."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
