from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from autoissue import BackendUnavailableError, ConfigurationError
from autoissue.cli._observe_options import ObserveOptions, observed_run
from autoissue.emulator import Emulator
from autoissue.engine import Engine, EngineOptions
from autoissue.github import GitHubClient
from autoissue.observe import MetricsServer, Sources
from autoissue.processors import Triage
from autoissue.queue import QueueStatistics
from tests.engine._pooled import PlannedWhere

Figures = dict[str, float]


async def scrape(session: aiohttp.ClientSession, url: str, accept: str = "") -> str:
    async with session.get(url, headers={"Accept": accept} if accept else {}) as answer:
        assert answer.status == 200
        return await answer.text()


def figures(text: str) -> Figures:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


async def scrape_while(url: str, running: asyncio.Event, seen: list[Figures]) -> None:
    async with aiohttp.ClientSession() as session:
        while not running.is_set():
            seen.append(figures(await scrape(session, url)))
            await asyncio.sleep(0.05)


async def test_metrics_move_while_a_real_run_goes(slow_emulator: Emulator, tmp_path: Path) -> None:
    options = ObserveOptions(metrics_port=0, quiet=True, report_json=tmp_path / "run.json")
    seen: list[Figures] = []
    finished = asyncio.Event()
    async with GitHubClient(base_url=slow_emulator.base_url, token="t") as client:
        await client.warm_up()  # learns the emulator has no limits: no spacing of writes
        async with observed_run(options, client=client, state_dir=tmp_path, total=400) as run:
            assert run.metrics_url is not None
            assert run.metrics_url.startswith("http://127.0.0.1:")
            engine = Engine(client, "acme/widgets", Triage(), options=EngineOptions(concurrency=4))
            scraper = asyncio.create_task(scrape_while(run.metrics_url, finished, seen))
            summary = await run.run(engine)
            finished.set()
            await scraper
    during = [
        f["autoissue_issues_processed_total"]
        for f in seen
        if "autoissue_issues_processed_total" in f
    ]
    assert len(set(during)) >= 2, during  # read at least twice while the count moved
    assert during == sorted(during)
    assert 0 < during[-1] <= summary.processed
    requests = [f["autoissue_process_resident_memory_bytes"] for f in seen]
    assert all(rss > 0 for rss in requests)
    assert (tmp_path / "run.json").exists()


async def test_a_runs_warm_pool_is_in_its_metrics(fast_emulator: Emulator, tmp_path: Path) -> None:
    options = ObserveOptions(metrics_port=0, quiet=True)
    async with (
        GitHubClient(base_url=fast_emulator.base_url, token="t") as client,
        observed_run(options, client=client, state_dir=tmp_path) as run,
    ):
        await client.warm_up()
        assert run.metrics_url is not None
        engine = Engine(client, "acme/widgets", PlannedWhere(), options=EngineOptions(dry_run=True))
        summary = await run.run(engine)
        async with aiohttp.ClientSession() as http:
            text = await scrape(http, run.metrics_url)
    assert summary.processed > 0
    completed = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "autoissue_pool_tasks_total" and sample.labels == {"outcome": "completed"}
    ]
    assert completed == [summary.processed]  # every plan was made in the pool


async def test_a_scrape_before_the_engine_exists_serves_the_client_alone(
    fast_emulator: Emulator,
) -> None:
    async with GitHubClient(base_url=fast_emulator.base_url, token="secret-t0ken") as client:
        await client.warm_up()
        sources = Sources(client=client, labels={"repo": "acme/widgets"})
        async with MetricsServer(sources, port=0) as server, aiohttp.ClientSession() as http:
            text = await scrape(http, server.url)
            openmetrics = await scrape(http, server.url, "application/openmetrics-text")
    assert 'autoissue_run_info{repo="acme/widgets"} 1.0' in text
    assert "autoissue_github_requests_total" in text
    assert "autoissue_issues_processed_total" not in text
    assert openmetrics.endswith("# EOF\n")
    assert "t0ken" not in text + openmetrics


async def test_a_port_in_use_is_a_clear_configuration_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MetricsServer(Sources(), port=port)
        with pytest.raises(ConfigurationError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            await server.start()


async def test_the_server_says_where_it_serves() -> None:
    server = MetricsServer(Sources(), host="::1", port=0)
    assert repr(server) == "<MetricsServer ::1:0 (stopped)>"
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    async with server:
        assert server.url.startswith("http://[::1]:")
        assert repr(server) == f"<MetricsServer {server.url}>"


async def test_a_session_whose_engine_never_ran_writes_no_report(
    fast_emulator: Emulator, tmp_path: Path
) -> None:
    options = ObserveOptions(quiet=True)
    async with (
        GitHubClient(base_url=fast_emulator.base_url, token="t") as client,
        observed_run(options, client=client, state_dir=tmp_path) as session,
    ):
        await session.sample()
    assert session.summary is None
    assert session.reports == []
    assert not (tmp_path / "reports").exists()
    assert len(session.timeline.samples) == 2  # the one asked for, and the last


class UnreadableQueue:
    """A queue whose backend cannot be read (a locked database, say); ``asked`` is set on a read."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    async def statistics(self) -> QueueStatistics:
        self.asked.set()
        raise BackendUnavailableError("database is locked")


async def test_a_source_that_cannot_be_read_costs_a_sample_not_the_run(
    fast_emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = ObserveOptions(quiet=True, sample_s=0.01)
    queue = UnreadableQueue()
    async with (
        GitHubClient(base_url=fast_emulator.base_url, token="t") as client,
        observed_run(options, client=client, state_dir=tmp_path) as session,
    ):
        session.sources.queue = queue
        await queue.asked.wait()  # the sampler logs the failure before it next awaits
        session.sources.queue = None  # readable again before the last sample
    assert "could not read the run's figures: database is locked" in caplog.text


async def test_a_scrape_that_cannot_read_a_source_is_a_503_saying_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sources = Sources(queue=UnreadableQueue())
    async with MetricsServer(sources, port=0) as server, aiohttp.ClientSession() as http:
        async with http.get(server.url) as answer:
            assert answer.status == 503
            assert await answer.text() == "metrics unavailable: database is locked\n"
        sources.queue = None  # readable again: the next scrape is served
        assert "autoissue_run_info" in await scrape(http, server.url)
    assert "metrics unavailable: database is locked" in caplog.text
