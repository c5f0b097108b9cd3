"""Listing several pages at once: URLs from the server's links, order, early ends, loops."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

import pytest

from autoissue import NotFoundError
from autoissue.emulator import Emulator, EmulatorConfig
from autoissue.github import GitHubClient, Response
from autoissue.github._pages import PageWindow, iter_pages, page_number, plan_window, with_page

pytestmark = pytest.mark.timeout(20)

BASE = "https://api.example/repositories/1/issues?state=open&per_page=2"


def link(url: str, page: int, last: int | None) -> str:
    parts = [f'<{url}&page={page}>; rel="next"']
    if last is not None:
        parts.append(f'<{url}&page={last}>; rel="last"')
    return ", ".join(parts)


class Pages:
    """A fake client: page N of ``sizes`` items, answers held until released, in flight counted.

    ``links`` overrides the link header of a page; pages beyond ``sizes`` are empty.
    """

    def __init__(self, sizes: Sequence[int], *, last: bool = True, held: bool = False) -> None:
        self.sizes, self.last, self.held = list(sizes), last, held
        self.links: dict[int, str | None] = {}
        self.requested: list[str] = []
        self.release: dict[int, asyncio.Event] = {}
        self.in_flight = self.most = 0
        self.cancelled: list[int] = []
        self.missing: set[int] = set()

    async def request(self, method: str, path_or_url: str, /) -> Response:
        assert method == "GET"
        self.requested.append(path_or_url)
        number = page_number(path_or_url) or 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            if self.held:
                await self.release.setdefault(number, asyncio.Event()).wait()
        except asyncio.CancelledError:
            self.cancelled.append(number)
            raise
        finally:
            self.in_flight -= 1
        return self.answer(number, path_or_url)

    def answer(self, number: int, url: str) -> Response:
        if number in self.missing:
            return Response(404, {}, b"", url)
        count = self.sizes[number - 1] if number <= len(self.sizes) else 0
        items = [{"n": number * 100 + index} for index in range(count)]
        header = self.links.get(number, self.default_link(number))
        headers = {"link": header} if header else {}
        return Response(200, headers, json.dumps(items).encode(), url)

    def default_link(self, number: int) -> str | None:
        total = len(self.sizes)
        if number >= total:
            return None
        return link(BASE, number + 1, total if self.last else None)

    def done(self, *numbers: int) -> None:
        for number in numbers:
            self.release.setdefault(number, asyncio.Event()).set()


def decode(response: Response) -> list[int]:
    if response.status == 404:
        raise NotFoundError("gone", status=404)
    return [item["n"] for item in json.loads(response.body)]


async def numbers(pages: AsyncIterator[list[int]]) -> list[list[int]]:
    return [page async for page in pages]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


# --- pure functions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "number"),
    [
        ("https://h/r/1/issues?per_page=100&page=7", 7),
        ("https://h/r/1/issues?page=12&per_page=100", 12),
        ("https://h/r/1/issues?per_page=100", None),  # per_page is not page
        ("https://h/r/1/issues?page=2&page=3", None),
        ("https://h/r/1/issues?page=x", None),
    ],
)
def test_page_number_reads_only_the_page_parameter(url: str, number: int | None) -> None:
    assert page_number(url) == number


def test_with_page_changes_only_the_page_number() -> None:
    url = "https://h/repositories/1/issues?state=open&per_page=100&page=2&sort=created"
    assert with_page(url, 17) == url.replace("page=2&", "page=17&")


@pytest.mark.parametrize(
    ("links", "window"),
    [
        ({"next": f"{BASE}&page=2", "last": f"{BASE}&page=9"}, PageWindow(f"{BASE}&page=2", 2, 9)),
        ({"next": f"{BASE}&page=2"}, None),  # cursor pagination: no last
        ({"next": f"{BASE}&page=2", "last": f"{BASE}&page=2"}, None),  # one page left
        ({"next": f"{BASE}&after=abc", "last": f"{BASE}&page=9"}, None),
        ({"next": f"{BASE}&page=2", "last": f"{BASE}&state=all&page=9"}, None),  # not the same list
    ],
)
def test_a_window_is_planned_only_from_links_that_differ_by_page(
    links: dict[str, str], window: PageWindow | None
) -> None:
    assert plan_window(links) == window


# --- the listing -----------------------------------------------------------------------------


async def test_pages_are_fetched_concurrently_and_yielded_in_order() -> None:
    fake = Pages([2] * 10, held=True)
    fake.done(1)
    listing = asyncio.create_task(numbers(iter_pages(fake, BASE, decode, concurrency=4)))
    await settle()
    assert fake.in_flight == 4  # pages 2 to 5
    fake.done(5, 4, 3)  # the later pages land first…
    await settle()
    assert fake.in_flight == 1  # …and wait in their tasks for page 2: nothing more is sent
    assert len(fake.requested) == 5
    fake.done(*range(2, 11))
    pages = await listing
    assert pages == [[n * 100, n * 100 + 1] for n in range(1, 11)]
    assert fake.most == 4
    assert fake.requested[1:] == [with_page(f"{BASE}&page=2", n) for n in range(2, 11)]


async def test_without_a_last_link_next_links_are_followed_one_by_one() -> None:
    fake = Pages([2, 2, 1], last=False)
    pages = await numbers(iter_pages(fake, BASE, decode, concurrency=8))
    assert pages == [[100, 101], [200, 201], [300]]
    assert fake.most == 1


async def test_concurrency_one_follows_next_links_even_with_a_last_link() -> None:
    fake = Pages([2, 2, 2, 1])
    assert len(await numbers(iter_pages(fake, BASE, decode, concurrency=1))) == 4
    assert fake.most == 1
    with pytest.raises(ValueError, match="at least 1"):
        iter_pages(fake, BASE, decode, concurrency=0)


async def test_a_short_page_ends_the_window_and_cancels_the_pages_beyond() -> None:
    # The list shrank while it was read: page 3 is now the last, short, with no next link.
    fake = Pages([2, 2, 1, 2, 2, 2], held=True)
    fake.links[3] = None
    fake.done(1, 2, 3)
    pages = await numbers(iter_pages(fake, BASE, decode, concurrency=3))
    assert pages == [[100, 101], [200, 201], [300]]
    assert 4 in fake.cancelled  # page 5 was cancelled before it was even sent
    assert fake.in_flight == 0


async def test_an_empty_page_ends_the_listing() -> None:
    fake = Pages([2, 2, 0, 2])
    fake.links[3] = None
    pages = await numbers(iter_pages(fake, BASE, decode, concurrency=8))
    assert pages == [[100, 101], [200, 201]]


async def test_a_short_page_that_still_links_on_is_followed() -> None:
    fake = Pages([2, 1, 2, 2])
    pages = await numbers(iter_pages(fake, BASE, decode, concurrency=8))
    assert [len(page) for page in pages] == [2, 1, 2, 2]
    assert len(fake.requested) == 4  # each page fetched once


async def test_a_list_that_grew_is_read_past_its_first_last_link() -> None:
    fake = Pages([2, 2, 2, 2, 1])
    fake.links[1] = link(BASE, 2, 3)  # when the first page was served, there were three
    pages = await numbers(iter_pages(fake, BASE, decode, concurrency=8))
    assert [page[0] for page in pages] == [100, 200, 300, 400, 500]


async def test_a_window_that_loops_back_stops_the_listing_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = Pages([2, 2, 2])
    fake.links[1] = f'<{BASE}&page=1>; rel="next", <{BASE}&page=3>; rel="last"'
    with caplog.at_level(logging.WARNING):
        pages = await numbers(iter_pages(fake, f"{BASE}&page=1", decode, concurrency=8))
    assert pages == [[100, 101]]
    assert f"pagination loops back to {BASE}&page=1" in caplog.text
    assert fake.in_flight == 0  # the window's other pages were cancelled


async def test_an_error_on_a_page_ends_the_listing_and_cancels_the_rest() -> None:
    fake = Pages([2] * 6, held=True)
    fake.missing.add(3)
    fake.done(1, 2, 3)
    with pytest.raises(NotFoundError):
        await numbers(iter_pages(fake, BASE, decode, concurrency=3))
    assert 4 in fake.cancelled  # page 5 was cancelled before it was even sent
    assert fake.in_flight == 0
    assert len(fake.requested) <= 5


async def test_closing_the_listing_early_cancels_the_requests_in_flight() -> None:
    fake = Pages([2] * 10, held=True)
    fake.done(1, 2)
    async with aclosing(iter_pages(fake, BASE, decode, concurrency=4)) as pages:
        assert (await anext(pages))[0] == 100
        assert (await anext(pages))[0] == 200
        await settle()
    assert sorted(fake.cancelled)[:3] == [3, 4, 5]
    assert fake.in_flight == 0
    assert len(fake.requested) <= 6


# --- against the emulator, through the client's whole pipeline -----------------------------


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(issues=250, seed=3)) as running:
        yield running


async def test_the_client_lists_the_same_issues_at_any_concurrency(emulator: Emulator) -> None:
    async with GitHubClient(base_url=emulator.base_url, token="t") as client:
        listed = {}
        for concurrency in (1, 4):
            pages = client.iter_issue_pages(
                "acme/widgets", state="all", per_page=30, concurrency=concurrency
            )
            listed[concurrency] = [issue.number async for page in pages for issue in page]
        stats = client.statistics()
    assert listed[4] == listed[1] == list(range(1, 251))
    assert stats.cache_hits == 9  # the second listing revalidated every page: same URLs
    by_id = emulator.stats()["requests"]["GET /repositories/{id}/issues"]
    assert by_id == {"200": 8, "304": 8}
