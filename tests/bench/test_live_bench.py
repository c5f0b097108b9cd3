"""``autoissue bench live``: the creator, the turn's end, and ``live --quick`` end to end.

What is checked is that the bench works and referees honestly (fields present, nothing lost,
nothing written twice), not how fast ``serve`` was.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.error import URLError

import pytest
from aiohttp import web
from click.testing import CliRunner

from autoissue.bench._contenders import TOKEN
from autoissue.bench._creator import IssueCreator, new_issue
from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._live import (
    REPORTER_TOKEN,
    SECRET,
    LiveBenchConfig,
    Logins,
    Watch,
    run_turn,
)
from autoissue.bench._live_figures import new_issue_check
from autoissue.bench._serve_process import ServeProcess, free_port, login_of
from autoissue.cli import main
from autoissue.model import Issue
from autoissue.processors._triage import classify


def test_every_new_issue_is_a_certain_bug_with_text_of_its_own() -> None:
    issues = [new_issue(index) for index in range(50)]
    assert len({(issue["title"], issue["body"]) for issue in issues}) == 50
    for index, issue in enumerate(issues):
        kind, confidence = classify(Issue(number=index, title=issue["title"], body=issue["body"]))
        assert kind == "bug"
        assert confidence >= 0.9


class ScriptedGitHub:
    """Answers ``POST /repos/{o}/{r}/issues`` as scripted per issue index; records the posts."""

    def __init__(self, script: dict[int, list[str]]) -> None:
        self.script = script
        self.posts: list[tuple[str, int]] = []

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        index = int(re.match(r"Crash (\d+):", body["title"]).group(1))  # type: ignore[union-attr]
        self.posts.append((f"{request.match_info['o']}/{request.match_info['r']}", index))
        answer = self.script[index].pop(0)
        if answer == "drop":
            assert request.transport is not None
            request.transport.close()
        return web.json_response(
            {"message": answer}, status=int(answer) if answer.isdigit() else 500
        )


async def test_the_creator_retries_only_what_was_not_written(unused_tcp_port: int) -> None:
    script = {0: ["503", "201"], 1: ["502"], 2: ["422"], 3: ["drop"], 4: ["201"], 5: ["503"] * 10}
    github = ScriptedGitHub(script)
    app = web.Application()
    app.router.add_post("/repos/{o}/{r}/issues", github.create)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        base = f"http://127.0.0.1:{unused_tcp_port}"
        creator = IssueCreator(base, ["a/x", "a/y"], count=6, rate=100.0, token="t")
        assert not creator.done
        creator.start()
        report = await asyncio.to_thread(creator.join, 30)
    finally:
        await runner.cleanup()
    assert creator.done
    assert report.outcomes == {"opened": 2, "unknown": 2, "refused": 2}
    # The 503s only: a 502 or a dropped answer was written. #5 is given up after 10 tries.
    assert report.retried == 1 + 9
    assert sorted(set(github.posts)) == [
        ("a/x", 0),
        ("a/x", 2),
        ("a/x", 4),
        ("a/y", 1),
        ("a/y", 3),
        ("a/y", 5),
    ]
    assert 0 < report.rate < 1000
    assert repr(creator) == "<IssueCreator 6/6 at 100.0/s>"


def test_a_server_never_reached_is_tried_again_then_refused() -> None:
    creator = IssueCreator(f"http://127.0.0.1:{free_port()}", ["a/x"], count=1, rate=1, token="t")
    creator.start()
    report = creator.join(30)
    assert report.outcomes == {"refused": 1}
    assert report.retried == 9
    assert report.rate == 0.0  # one issue: no rate to speak of


def test_no_login_without_an_emulator() -> None:
    with pytest.raises(URLError, match="refused"):
        login_of(f"http://127.0.0.1:{free_port()}", "t", attempts=2)


def test_a_watch_ends_when_serve_is_gone_or_time_is_up(tmp_path: Path) -> None:
    serve = ServeProcess("http://127.0.0.1:1", ("a/x",), folder=tmp_path, port=1, secret="s")
    logins = Logins(serve="me", reporter="them")
    emulator = EmulatorProcess({})
    creator = IssueCreator("http://127.0.0.1:1", ["a/x"], count=0, rate=1, token="t")
    ended = Watch(emulator, serve, logins, LiveBenchConfig.quick()).finish(creator)
    assert ended == "serve exited"  # never started
    timed_out = Watch(emulator, serve, logins, LiveBenchConfig.quick(timeout_s=0))
    assert timed_out.finish(creator) == "timed out"
    assert serve.stop() is None
    assert "running=False" in repr(serve)


def test_a_serve_that_never_works_its_backlog_is_an_error(tmp_path: Path) -> None:
    config = LiveBenchConfig.quick(repos=1, issues=20, start_after=10**9, timeout_s=3.0)
    result = run_turn(config, tmp_path)
    assert result["error"].startswith("serve never got to work: ")
    assert result["serve_exit"] == 143  # stopped by SIGTERM, as an operator does


def _drained(health: dict[str, Any]) -> bool:
    return health["queue"]["unfinished"] == 0 and bool(health["swept"])


@pytest.mark.timeout(120)
def test_an_issue_serve_never_hears_of_is_waited_for_then_lost(tmp_path: Path) -> None:
    # serve serves one repository of two: the issue opened in the other is never labelled.
    config = LiveBenchConfig.quick(repos=2, issues=20, settle_s=1.0)
    port = free_port()
    with EmulatorProcess(config.emulator_options(port)) as emulator:
        base = emulator.base_url
        logins = Logins(serve=login_of(base, TOKEN), reporter=login_of(base, REPORTER_TOKEN))
        served, unserved = config.full_names
        serve = ServeProcess(base, (served,), folder=tmp_path, port=port, secret=SECRET)
        watch = Watch(emulator, serve, logins, config)
        serve.start()
        try:
            assert watch.until(_drained, 60)
            creator = IssueCreator(base, [served, unserved], count=2, rate=10, token=REPORTER_TOKEN)
            creator.start()
            assert watch.finish(creator) == "new issues unlabelled after settle_s"
        finally:
            serve.stop()
        checked = new_issue_check(watch.timeline(), dead=set())
    assert checked == {"new_issues": 2, "new_failed": 0, "new_lost": 1}
    assert sum(creator.join().outcomes.values()) == 2


@pytest.mark.timeout(180)
def test_live_quick_reports_latency_fairness_and_nothing_lost(tmp_path: Path) -> None:
    out, table = tmp_path / "live.json", tmp_path / "live.md"
    args = ["bench", "live", "--quick", "--json", str(out), "--markdown", str(table)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    report = json.loads(out.read_text())
    assert report["workload"] == "live"
    assert report["params"]["repos"] == 5
    assert report["params"]["backlog_items"] == 1000
    (result,) = report["results"]
    assert result["contender"] == "autoissue"
    assert result["ended"] == "done"
    latency = result["live_latency_s"]
    assert set(latency) >= {"p50", "p95", "p99"}
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert latency["labelled"] == result["new_issues"] == 50
    assert 0 <= result["min_fair_share"] <= 1
    assert set(result["fair_share_by_repo"]) == {f"acme/widgets-{n}" for n in range(1, 6)}
    assert result["lost"] == 0
    assert result["duplicate_writes"] == 0
    assert result["failed"] == 0
    assert result["serve_unsettled"] == 0
    assert result["backlog_eligible"] > 100
    assert result["issues"] == result["new_issues"] + result["backlog_open"]
    assert result["serve"]["worker"]["enqueued"] == result["issues"]
    assert result["webhook_deliveries"]["dropped"] == 0
    assert "latency p50" in done.output
    assert "`autoissue bench live`" in table.read_text()
