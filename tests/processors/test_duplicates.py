from __future__ import annotations

import asyncio
import gc
import json
import os
import pickle
import random
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np
import pytest

from autoissue import ConfigurationError
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.github import GitHubClient
from autoissue.model import Comment, Issue, Priority
from autoissue.pool import PoolConfig, SharedArray, SharedArrays, WarmPool
from autoissue.processors import ProcessContext, ReadOnlyGitHub, get_processor
from autoissue.processors._duplicates import Duplicates, quote_title
from autoissue.processors._tfidf import TfidfIndex, share_matrix, tfidf_matrix
from tests.processors._fakes import FakeClient, context_for, make_issue

CORPUS = [
    make_issue(1, "Crash when the parser receives an empty input", "Traceback KeyError parser"),
    make_issue(2, "Add YAML support to the config loader", "Please support YAML files"),
    make_issue(3, "Scheduler stops after ten thousand jobs", "The scheduler hangs forever"),
    make_issue(4, "Parser crash on empty input", "KeyError traceback from the parser"),
    make_issue(5, "Docs typo in the README", "recieve should be receive"),
]


def index_of(processor: Duplicates) -> TfidfIndex | None:
    search = processor.search("o/r")
    return None if search is None else search.index


@pytest.fixture
def context() -> ProcessContext:
    return context_for(FakeClient())


async def test_plans_a_comment_linking_similar_older_issues(context: ProcessContext) -> None:
    with_corpus = Duplicates(corpus=CORPUS)
    plan = await with_corpus.process(CORPUS[3], context)
    (action,) = plan.actions
    assert isinstance(action, Comment)
    assert action.slot == "duplicates"
    assert '- #1 "Crash when the parser receives an empty input" (similarity 0.' in action.body
    assert "#4" not in action.body  # never itself
    assert plan.reasons[0].startswith("similar to #1 (0.")
    with_corpus.close()


async def test_below_the_threshold_the_plan_is_empty(context: ProcessContext) -> None:
    processor = Duplicates(corpus=CORPUS)
    plan = await processor.process(CORPUS[4], context)
    assert plan.actions == ()
    assert plan.reasons == ("no similar open issue (threshold 0.6)",)
    strict = Duplicates(corpus=CORPUS, threshold=1.0)
    assert (await strict.process(CORPUS[3], context)).actions == ()
    processor.close()
    strict.close()


async def test_newer_issues_are_listed_only_when_asked(context: ProcessContext) -> None:
    older_only = Duplicates(corpus=CORPUS)
    assert (await older_only.process(CORPUS[0], context)).actions == ()
    both_ways = Duplicates(corpus=CORPUS, older_only=False)
    (action,) = (await both_ways.process(CORPUS[0], context)).actions
    assert isinstance(action, Comment)
    assert "#4" in action.body
    assert "#1 " not in action.body
    older_only.close()
    both_ways.close()


async def test_matches_are_best_first_and_capped(context: ProcessContext) -> None:
    corpus = [
        make_issue(1, "Memory leak in the worker pool during long runs"),
        make_issue(2, "Memory leak in the worker pool"),
        make_issue(3, "Memory leak in the worker pool during long runs!"),
        make_issue(4, "Memory leak in the worker pool during long nightly runs"),
    ]
    processor = Duplicates(corpus=corpus, threshold=0.3, max_matches=2, older_only=False)
    plan = await processor.process(corpus[0], context)
    (action,) = plan.actions
    assert isinstance(action, Comment)
    listed = [line.split()[1] for line in action.body.splitlines() if line.startswith("- #")]
    assert listed == ["#3", "#4"]
    processor.close()


async def test_the_corpus_is_listed_once_for_concurrent_issues() -> None:
    page = [
        *CORPUS[:3],
        make_issue(9, "Parser crash on empty input", state="closed"),
        make_issue(10, "Parser crash on empty input", pull=True),
    ]
    client = FakeClient(pages=[page, CORPUS[3:]])
    processor = Duplicates()
    assert repr(processor) == "<Duplicates threshold=0.6 corpus=unloaded>"
    plans = await asyncio.gather(
        *(processor.process(issue, context_for(client)) for issue in CORPUS)
    )
    assert client.listings == 1
    assert repr(processor) == "<Duplicates threshold=0.6 corpus=o/r:5>"
    (action,) = plans[3].actions
    assert isinstance(action, Comment)
    assert "#9" not in action.body  # closed issues and pull requests are not in the corpus
    assert "#10" not in action.body
    processor.close()


async def test_the_matrix_lives_in_shared_memory_until_close(context: ProcessContext) -> None:
    shared = SharedArrays()
    processor = Duplicates(corpus=CORPUS, shared=shared)
    assert index_of(processor) is None
    await processor.process(CORPUS[0], context)
    index = index_of(processor)
    assert index is not None
    assert len(index.handles) == 7  # the words are two arrays
    assert len(shared) == 9  # and the titles two more
    # What a pool worker receives: a small handle that attaches to the same pages.
    handle = pickle.loads(pickle.dumps(index))
    assert handle.size == 5
    np.testing.assert_array_equal(handle.numbers.attach(), [1, 2, 3, 4, 5])
    rows = handle.similarities(["parser", "crash", "empty", "input"])
    assert rows.argmax() in (0, 3)
    processor.close()
    processor.close()  # idempotent
    assert len(shared) == 0
    assert index_of(processor) is None
    with pytest.raises(FileNotFoundError):
        index.weights.attach()


async def test_a_pool_worker_plans_what_the_processor_plans_here(context: ProcessContext) -> None:
    processor = Duplicates(corpus=CORPUS)
    work = await processor.prepare(context)
    assert len(pickle.dumps(work.state)) < 2_000  # names of shared arrays, not the corpus
    here = await processor.process(CORPUS[3], context)
    assert here.actions
    async with WarmPool(PoolConfig(min_workers=1, max_workers=1)) as pool:
        there = await pool.submit(work.function, work.state, CORPUS[3])
    assert there == here
    assert work.run(CORPUS[3]) == here
    processor.close()


async def test_rows_are_unit_vectors_and_identical_text_scores_one(
    context: ProcessContext,
) -> None:
    corpus = [make_issue(1, "Same words here"), make_issue(2, "Same words here"), make_issue(3)]
    processor = Duplicates(corpus=corpus, threshold=0.99)
    plan = await processor.process(corpus[1], context)
    assert "(similarity 1.00)" in plan.actions[0].body  # type: ignore[union-attr]
    index = index_of(processor)
    assert index is not None
    sums = np.bincount(index.rows.attach(), weights=index.weights.attach() ** 2, minlength=3)
    np.testing.assert_allclose(sums, [1.0, 1.0, 1.0], rtol=1e-5)
    processor.close()


async def test_an_empty_corpus_and_empty_text_plan_nothing(context: ProcessContext) -> None:
    processor = Duplicates(corpus=[])
    assert (await processor.process(make_issue(1, ""), context)).actions == ()
    processor.close()


def test_selects_open_issues_at_their_priority() -> None:
    processor = Duplicates(corpus=[])
    assert processor.select(make_issue(1, "App crashes")) is Priority.HIGH
    assert processor.select(make_issue(1, "Hello", labels=("p2",))) is Priority.MEDIUM
    assert processor.select(make_issue(1, state="closed")) is None
    assert processor.select(make_issue(1, pull=True)) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": 0}, "threshold"),
        ({"threshold": 1.01}, "threshold"),
        ({"max_matches": 0}, "max_matches"),
        ({"max_matches": 21}, "max_matches"),
        ({"max_features": 0}, "max_features"),
    ],
)
def test_bad_options_are_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Duplicates(**options)  # type: ignore[arg-type]


def test_the_registry_builds_it_with_options() -> None:
    processor = get_processor("duplicates", threshold=0.8, max_matches=1)
    assert isinstance(processor, Duplicates)
    assert (processor.threshold, processor.max_matches) == (0.8, 1)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("<script>alert(1)</script>", "&lt;script\\>alert\\(1\\)&lt;/script\\>"),
        ("ping @octocat about #12", "ping @\u200boctocat about #\u200b12"),
        ("![x](https://e.invalid/p.png)", "\\!\\[x\\]\\(https\\://e.invalid/p.png\\)"),
        ("**bold** _it_ `code` a|b ~~s~~", r"\*\*bold\*\* \_it\_ \`code\` a\|b \~\~s\~\~"),
        ("line\nbreak\x00nul\u202eevil", "line break nul evil"),
        ("&amp; \\", "&amp;amp; \\\\"),
    ],
)
def test_titles_are_quoted_inert(title: str, expected: str) -> None:
    assert quote_title(title) == expected


def test_long_titles_are_capped() -> None:
    quoted = quote_title("word " * 1_000)
    assert len(quoted) == 100
    assert quoted.endswith("word\u2026")


async def test_hostile_issues_cannot_break_out_of_the_comment(context: ProcessContext) -> None:
    hostile = "</details><img src=x onerror=alert(1)> @admin #1 ](http://x) " + "\x00" * 10
    corpus = [
        make_issue(1, hostile + "parser crash", "x" * 1_000_000),
        make_issue(2, hostile + "parser crash", "\x00" * 1_000_000),
    ]
    processor = Duplicates(corpus=corpus, threshold=0.3)
    started = time.perf_counter()
    plan = await processor.process(corpus[1], context)
    assert time.perf_counter() - started < 1.0
    (action,) = plan.actions
    assert isinstance(action, Comment)
    assert "<" not in action.body
    assert "\x00" not in action.body
    assert "@admin" not in action.body
    assert "](" not in action.body
    assert len(action.body) < 1_000
    processor.close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo="acme/widgets", issues=80, seed=7)) as running:
        yield running


def edit(emulator: Emulator, number: int, **fields: str) -> None:
    url = f"{emulator.base_url}/_emulator/issues/acme/widgets/{number}"
    request = urllib.request.Request(url, data=msgspec.json.encode(fields), method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


async def test_finds_a_near_duplicate_in_the_emulator(emulator: Emulator) -> None:
    async with GitHubClient(base_url=emulator.base_url, token="t0k3n") as client:
        github = ReadOnlyGitHub(client)
        issues = [issue async for page in github.issue_pages("acme/widgets") for issue in page]
        open_issues = [issue for issue in issues if not issue.is_pull_request]
        original, copy = open_issues[0], open_issues[-1]
        body = "Syncing a 2 GB archive through the exporter loses the final chunk every time."
        edit(emulator, original.number, title="Exporter drops the last chunk of big archives")
        edit(emulator, original.number, body=body)
        edit(emulator, copy.number, title="exporter drops last chunk of large archives", body=body)
        payload = await github.get(f"/repos/acme/widgets/issues/{copy.number}")
        snapshot = msgspec.convert(payload, Issue)
        processor = Duplicates(max_matches=5)
        context = ProcessContext(repo="acme/widgets", github=github)
        plan = await processor.process(snapshot, context)
        processor.close()
    (action,) = plan.actions
    assert isinstance(action, Comment)
    assert f'#{original.number} "Exporter drops the last chunk of big archives"' in action.body
    assert f"#{copy.number} " not in action.body


SHM = Path("/dev/shm")  # noqa: S108 - where POSIX shared memory lives on Linux: listed, not written


def segments(handles: Iterator[SharedArray] | tuple[SharedArray, ...]) -> set[str]:
    """Which of ``handles`` still have a segment in /dev/shm."""
    return {handle.name for handle in handles if (SHM / handle.name).exists()}


def large_corpus(size: int) -> list[Issue]:
    rng = random.Random(11)
    words = [f"term{number}" for number in range(20_000)]
    return [
        make_issue(number, " ".join(rng.choices(words, k=8)), " ".join(rng.choices(words, k=120)))
        for number in range(1, size + 1)
    ]


async def test_the_event_loop_keeps_ticking_while_a_large_index_builds(
    context: ProcessContext,
) -> None:
    corpus = large_corpus(4_000)
    processor = Duplicates(corpus=corpus)
    gaps: list[float] = []
    building = True

    async def ticker() -> None:
        last = time.perf_counter()
        while building:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker starts before the build
    started = time.perf_counter()
    await processor.process(corpus[-1], context)
    took = time.perf_counter() - started
    building = False
    await ticking
    processor.close()
    # Indexing blocking the loop would show as one gap as long as the whole build.
    assert took > 0.2, f"the build took {took:.3f} s: too short to tell"
    assert max(gaps) < took / 4, f"longest tick gap {max(gaps):.3f} s of a {took:.3f} s build"
    assert len(gaps) > 20


async def test_a_call_cancelled_while_the_index_builds_leaves_no_shared_memory(
    context: ProcessContext,
) -> None:
    corpus = large_corpus(2_000)
    shared = SharedArrays()
    processor = Duplicates(corpus=corpus, shared=shared)
    first = asyncio.create_task(processor.process(corpus[0], context))
    await asyncio.sleep(0.05)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert len(shared) == 0
    assert index_of(processor) is None
    await processor.process(corpus[0], context)  # the next call builds it
    assert len(shared) == 9  # the index's seven arrays and the titles' two
    processor.close()
    assert len(shared) == 0


class FullSharedMemory(SharedArrays):
    """Shared memory that runs out after ``room`` arrays."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def from_array(self, source: object) -> SharedArray:
        if len(self) >= self.room:
            raise OSError(28, "No space left on device")
        return super().from_array(source)  # type: ignore[arg-type]


def test_a_copy_into_full_shared_memory_releases_what_it_made() -> None:
    matrix = tfidf_matrix([1, 2], [["parser", "crash"], ["parser"]], max_features=10)
    full = FullSharedMemory(room=3)
    with pytest.raises(OSError, match="No space left"):
        share_matrix(matrix, full)
    assert len(full) == 0
    index = share_matrix(matrix, roomy := FullSharedMemory(room=7))
    assert index.size == 2
    roomy.close()


async def test_titles_that_do_not_fit_release_the_index_made_before_them(
    context: ProcessContext,
) -> None:
    full = FullSharedMemory(room=7)  # the index fits, its titles do not
    processor = Duplicates(corpus=CORPUS, shared=full)
    with pytest.raises(OSError, match="No space left"):
        await processor.process(CORPUS[0], context)
    assert len(full) == 0
    assert index_of(processor) is None


async def test_a_processor_never_closed_frees_its_shared_memory_once_collected(
    context: ProcessContext,
) -> None:
    processor = Duplicates(corpus=CORPUS)
    await processor.process(CORPUS[0], context)
    index = index_of(processor)
    assert index is not None
    handles = index.handles
    assert segments(handles) == {handle.name for handle in handles}
    del processor
    gc.collect()
    assert segments(handles) == set()


@pytest.mark.slow
def test_a_duplicates_run_leaks_no_shared_memory(emulator: Emulator, tmp_path: Path) -> None:
    before = {path.name for path in SHM.glob("autoissue-*")}
    run = ["run", "--repo", "acme/widgets", "--base-url", emulator.base_url, "--dry-run"]
    argv = [sys.executable, "-m", "autoissue", *run, "--processor", "duplicates", "--quiet"]
    argv += ["--state-dir", str(tmp_path / "state")]
    env = {**os.environ, "GITHUB_TOKEN": "t0k3n"}
    with subprocess.Popen(
        argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as running:
        _, stderr = running.communicate(timeout=120)
    assert running.returncode == 0, stderr
    assert "leaked shared_memory" not in stderr
    assert "resource_tracker" not in stderr
    assert {path.name for path in SHM.glob("autoissue-*")} <= before
    plans = list((tmp_path / "state" / "plans").glob("*.jsonl"))
    assert len(plans) == 1
    planned = plans[0].read_bytes().count(b"\n")
    assert planned > 10  # it did index and plan the open issues
    (saved,) = (tmp_path / "state" / "runs").glob("*.json")
    pool = json.loads(saved.read_text())["pool"]
    assert pool["tasks"] == planned  # every issue was scored in a pool worker...
    assert str(running.pid) not in pool["tasks_by_pid"]  # ...not in the run's own process
