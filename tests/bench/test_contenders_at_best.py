"""Every contender at its best: concurrent listing, swept concurrencies, no wasted requests."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from autoissue import _runtime
from autoissue.bench import TriageBenchConfig, run_triage_bench
from autoissue.bench._contenders import TOKEN, WIRE_PAGES_IN_FLIGHT, Target, _wire_pages
from autoissue.bench._libraries import _githubkit_retry, pygithub, run_githubkit
from autoissue.bench._triage import SWEEPS, comparable
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread

pytestmark = pytest.mark.timeout(180)
REPO = "acme/widgets"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """Enough pages to show the listing's concurrency, slow enough for pages to overlap."""
    with run_in_thread(EmulatorConfig(repo=REPO, issues=1200, seed=5, latency_ms=40)) as running:
        yield running


@pytest.fixture(scope="module")
def quick() -> Iterator[Emulator]:
    """A few hundred issues answered at once: counting calls, not waiting."""
    with run_in_thread(EmulatorConfig(repo=REPO, issues=240, seed=6)) as running:
        yield running


def _reset(emulator: Emulator) -> None:
    request = urllib.request.Request(emulator.base_url + "/_emulator/reset", method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


def test_the_wire_ceiling_lists_its_pages_concurrently(emulator: Emulator) -> None:
    _reset(emulator)

    async def listed() -> int:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            first = f"{emulator.base_url}/repos/{REPO}/issues?per_page=100"
            return sum([len(page) async for page in _wire_pages(session, first)])

    items = asyncio.run(listed())
    stats = emulator.stats()
    open_items = sum(i["state"] == "open" for i in emulator.state()["repos"][0]["issues"])
    assert items == open_items  # every page, once
    assert stats["requests_total"] == -(-open_items // 100)
    assert stats["in_flight_max"] >= WIRE_PAGES_IN_FLIGHT  # not one page after another


def _calls_per_issue(emulator: Emulator, runner: Any, concurrency: int = 0) -> float:
    _reset(emulator)
    target = Target(base_url=emulator.base_url, repo=REPO, rounds=1, concurrency=concurrency)
    outcome = _runtime.run(runner(target))
    assert outcome.failed == 0
    return float(emulator.stats()["requests_total"]) / outcome.handled


@pytest.mark.parametrize("threads", [1, 10])
def test_pygithub_reads_the_list_payload_instead_of_fetching_each_issue_again(
    quick: Emulator, threads: int
) -> None:
    # GET comments and POST labels per issue, plus the pages shared by 100 issues each.
    assert _calls_per_issue(quick, pygithub(threads)) <= 2.1


def test_the_best_variants_take_the_swept_concurrency(quick: Emulator) -> None:
    assert _calls_per_issue(quick, pygithub(0), concurrency=25) <= 2.1
    assert _calls_per_issue(quick, run_githubkit, concurrency=50) <= 2.1


def test_a_swept_contender_keeps_its_fastest_setting_and_shows_the_sweep() -> None:
    config = TriageBenchConfig.for_workload(
        "triage", issues=60, latency_ms=1.0, cpu_ms=0.05, contenders=("wire-ceiling",)
    )
    (result,) = run_triage_bench(config).results
    points = result["sweep"]
    assert [point["concurrency"] for point in points] == list(SWEEPS["wire-ceiling"])
    best = max(points, key=lambda point: point["issues_per_s"])
    assert result["concurrency"] == best["concurrency"]
    assert result["lost"] == 0


def test_under_githubs_limits_only_contenders_told_the_clock_scale_are_compared() -> None:
    results = [{"contender": "autoissue"}, {"contender": "pygithub-threads-10"}]
    assert comparable(results, "none") == (results, [])
    kept, left_out = comparable(results, "github")
    assert [r["contender"] for r in kept] == ["autoissue"]
    assert left_out == ["pygithub-threads-10"]


def test_githubkit_retries_a_dropped_connection_as_it_retries_a_server_error() -> None:
    import httpx  # noqa: PLC0415 - githubkit's transport
    from githubkit.exception import RequestError, RequestFailed  # noqa: PLC0415
    from githubkit.response import Response  # noqa: PLC0415

    decide = _githubkit_retry()
    request = httpx.Request("GET", "http://emulator/repos/acme/widgets/issues?page=3")
    dropped = RequestError(httpx.RemoteProtocolError("Server disconnected", request=request))
    assert decide(dropped, 0).do_retry
    assert decide(dropped, 2).retry_after.total_seconds() == 9.0  # the library's own schedule
    assert not decide(dropped, 3).do_retry

    def failed(status: int) -> RequestFailed:
        return RequestFailed(Response(httpx.Response(status, request=request), Any))

    assert not decide(failed(404), 0).do_retry
    assert decide(failed(502), 0).do_retry
