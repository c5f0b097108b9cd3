from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autoissue._exceptions import GitCommandError
from autoissue.agent import Completed, run_command
from autoissue.agent._push import BatchedPush, _failures, _Request, _retrieved, _settle

URL = "https://git.example.invalid/acme/widgets.git"
FAST = 0.05  # linger of the tests that do not measure the linger itself


class RunnerBrokeError(Exception):
    """What the fake runner raises when it cannot run git at all."""


def sha(branch: str) -> str:
    """A made-up commit id, one per branch name."""
    return hashlib.sha256(branch.encode()).hexdigest()[:40]


def done(returncode: int = 0, stdout: str = "", stderr: str = "") -> Completed:
    return Completed(
        returncode=returncode, stdout=stdout.encode(), stderr=stderr.encode(), seconds=0.0
    )


class FakeGit:
    """Answers ``git push --porcelain`` as git would, by rules on the pushed branch names.

    ``bad``: the remote rejects that ref (a ``!`` line whose reason names the branch).
    ``poison``: the whole push fails and no ref is reported; alone, it fails on its own.
    ``offline``: the remote cannot be reached (exit 128, a long stderr).
    ``explode``: the runner itself raises; ``fragile``: it raises when pushed alone.
    ``same`` / ``force`` / ``gone``: up to date, forced, deleted; any other name: a new branch.
    ``gate`` holds every call until set; ``entered`` is set once a call has started.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    @property
    def batches(self) -> list[list[str]]:
        """The branches of each push, in the order of the calls and of their refspecs."""
        return [[names for _, names in refspecs(call)] for call in self.calls]

    async def __call__(self, *args: str) -> Completed:
        self.calls.append(args)
        self.entered.set()
        await self.gate.wait()
        assert args[:4] == ("push", "--porcelain", "--no-verify", URL)
        specs = refspecs(args)
        names = [name for _, name in specs]
        alone = len(names) == 1
        if any("explode" in name or ("fragile" in name and alone) for name in names):
            raise RunnerBrokeError(f"cannot run git for {', '.join(names)}")
        if any("offline" in name for name in names):
            long_story = "remote: " + "x" * 1000
            return done(128, stderr=f"{long_story}\nfatal: Could not resolve host: example\n")
        if any("poison" in name for name in names):
            if alone:
                return done(1, stderr=f"fatal: bad object for {names[0]}\n")
            return done(1, stderr="error: the pack is spoiled\n")
        return self._porcelain(specs)

    @staticmethod
    def _porcelain(specs: list[tuple[str, str]]) -> Completed:
        lines, rejected = [f"To {URL}"], False
        for spec, name in specs:
            if "bad" in name:
                rejected = True
                lines.append(f"!\t{spec}\t[remote rejected] (hook declined {name})")
            elif "same" in name:
                lines.append(f"=\t{spec}\t[up to date]")
            elif "force" in name:
                lines.append(f"+\t{spec}\taaaaaaa...bbbbbbb (forced update)")
            elif "gone" in name:
                lines.append(f"-\t{spec}\t[deleted]")
            else:
                lines.append(f"*\t{spec}\t[new branch]")
        if rejected:
            return done(1, "\n".join(lines) + "\n", f"error: failed to push some refs to '{URL}'")
        return done(0, "\n".join([*lines, "Done"]) + "\n")


def refspecs(args: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(src:dst, branch)`` of each ``+src:refs/heads/branch`` of a push's argv."""
    specs = []
    for arg in args[4:]:
        assert arg.startswith("+")
        _, _, dst = arg.partition(":")
        assert dst.startswith("refs/heads/")
        specs.append((arg[1:], dst.removeprefix("refs/heads/")))
    return specs


async def push_all(pusher: BatchedPush, *branches: str) -> list[BaseException | None]:
    """Push each branch (to its made-up commit) concurrently; each waiter's outcome."""
    waiters = (pusher.push(sha(branch), branch) for branch in branches)
    return await asyncio.gather(*waiters, return_exceptions=True)


def message(outcome: BaseException | None) -> str:
    assert isinstance(outcome, GitCommandError)
    return str(outcome)


# --- batching ---------------------------------------------------------------------------------


async def test_a_lone_push() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    assert repr(pusher) == "<BatchedPush waiting=0 expected=0 pushes=0>"
    await pusher.push("0123abc", "autoissue/acme-widgets/issue-7")
    assert git.calls == [
        (
            "push",
            "--porcelain",
            "--no-verify",
            URL,
            "+0123abc:refs/heads/autoissue/acme-widgets/issue-7",
        ),
    ]
    assert pusher.pushes == 1
    assert repr(pusher) == "<BatchedPush waiting=0 expected=0 pushes=1>"


async def test_requests_queued_together_go_in_one_push() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    branches = [f"issue-{n}" for n in range(5)]
    assert await push_all(pusher, *branches) == [None] * 5
    assert pusher.pushes == 1
    assert git.batches == [branches]
    assert git.calls[0][4:] == tuple(f"+{sha(b)}:refs/heads/{b}" for b in branches)


async def test_a_request_lingers_for_the_issues_still_expected() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=60.0)
    with pusher.expect() as a, pusher.expect() as b:
        assert repr(a) == "<ExpectedPush pending=True>"
        first = asyncio.create_task(a.push(sha("a"), "a"))
        await asyncio.sleep(0.01)  # the drain is lingering now, for b
        assert git.calls == []
        assert repr(pusher) == "<BatchedPush waiting=1 expected=1 pushes=0>"
        # The last one expected: the batch leaves at once, not after a minute.
        await asyncio.wait_for(b.push(sha("b"), "b"), 10.0)
        await first
        assert repr(a) == "<ExpectedPush pending=False>"
    assert git.batches == [["a", "b"]]
    assert repr(pusher) == "<BatchedPush waiting=0 expected=0 pushes=1>"


async def test_an_expected_issue_leaving_without_a_push_ends_the_wait() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=60.0)
    with pusher.expect() as a:
        with pusher.expect():  # an issue whose agent failed, or changed nothing
            first = asyncio.create_task(a.push(sha("a"), "a"))
            await asyncio.sleep(0.01)
            assert git.calls == []
        await asyncio.wait_for(first, 10.0)
    assert git.batches == [["a"]]


async def test_the_linger_bounds_the_wait_for_issues_still_expected() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=0.2)
    loop = asyncio.get_running_loop()
    with pusher.expect() as a, pusher.expect():
        started = loop.time()
        await asyncio.wait_for(a.push(sha("a"), "a"), 10.0)
        assert loop.time() - started >= 0.2
    assert git.batches == [["a"]]


async def test_a_request_after_a_push_that_waited_for_no_one_still_waits_for_the_expected() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=60.0)
    await pusher.push(sha("a"), "a")  # nothing expected: at once
    with pusher.expect() as b, pusher.expect():
        waiting = asyncio.create_task(b.push(sha("b"), "b"))
        await asyncio.sleep(0.05)
        assert git.batches == [["a"]]  # b waits for the other issue still expected
    await asyncio.wait_for(waiting, 10.0)
    assert git.batches == [["a"], ["b"]]


async def test_the_linger_counts_from_the_oldest_request_not_from_the_last_push() -> None:
    git = FakeGit()
    git.gate.clear()
    pusher = BatchedPush(git, URL, linger_s=1.5)
    first = asyncio.create_task(pusher.push(sha("a"), "a"))  # nothing expected: at once
    await git.entered.wait()
    with pusher.expect():  # an issue still running when the push ends
        later = asyncio.create_task(pusher.push(sha("b"), "b"))
        await asyncio.sleep(2.0)  # b has lingered all its time during a's push
        git.gate.set()
        await first
        await asyncio.wait_for(later, 1.2)  # not another 1.5 s
    assert git.batches == [["a"], ["b"]]


async def test_max_batch_splits_the_queue() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, max_batch=2, linger_s=FAST)
    assert await push_all(pusher, "a", "b", "c", "d", "e") == [None] * 5
    assert git.batches == [["a", "b"], ["c", "d"], ["e"]]
    assert pusher.pushes == 3


async def test_a_full_batch_leaves_without_waiting_for_the_expected() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, max_batch=2, linger_s=60.0)
    with pusher.expect():  # an issue that is still running
        outcomes = await asyncio.wait_for(push_all(pusher, "a", "b", "c", "d"), 10.0)
    assert outcomes == [None] * 4
    assert git.batches == [["a", "b"], ["c", "d"]]


async def test_a_batch_filling_up_wakes_the_lingering_drain() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, max_batch=3, linger_s=60.0)
    with pusher.expect():
        first = asyncio.create_task(pusher.push(sha("a"), "a"))
        await asyncio.sleep(0.01)  # the drain lingers, for up to a minute
        assert git.calls == []
        assert await asyncio.wait_for(push_all(pusher, "b", "c"), 10.0) == [None, None]
        await first
    assert git.batches == [["a", "b", "c"]]


async def test_requests_arriving_during_a_push_join_the_next_batch() -> None:
    git = FakeGit()
    git.gate.clear()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    first = asyncio.create_task(pusher.push(sha("a"), "a"))
    await git.entered.wait()
    drain = pusher._pusher
    later = [asyncio.create_task(pusher.push(sha(b), b)) for b in ("b", "c", "d")]
    await asyncio.sleep(0)  # they queue up behind the running push
    assert repr(pusher) == "<BatchedPush waiting=3 expected=0 pushes=1>"
    git.gate.set()
    await first
    assert await asyncio.gather(*later) == [None] * 3
    assert git.batches == [["a"], ["b", "c", "d"]]
    assert pusher._pusher is drain  # one drain task did both
    assert repr(pusher) == "<BatchedPush waiting=0 expected=0 pushes=2>"


async def test_a_push_after_the_drain_ended_starts_a_new_drain_task() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    await pusher.push(sha("a"), "a")
    first_drain = pusher._pusher
    assert first_drain is not None
    await first_drain
    await pusher.push(sha("b"), "b")
    assert pusher._pusher is not first_drain
    assert git.batches == [["a"], ["b"]]
    assert pusher.pushes == 2


async def test_every_ok_flag_is_an_update() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    outcomes = await push_all(pusher, "new", "same", "force", "gone")
    assert outcomes == [None] * 4
    assert pusher.pushes == 1


# --- failures ---------------------------------------------------------------------------------


async def test_a_rejected_ref_fails_only_its_own_waiter() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    a, bad_b, c, bad_d = await push_all(pusher, "a", "bad-b", "c", "bad-d")
    assert a is None
    assert c is None
    assert message(bad_b) == "git push of bad-b failed (1): [remote rejected] (hook declined bad-b)"
    assert message(bad_d) == "git push of bad-d failed (1): [remote rejected] (hook declined bad-d)"
    assert pusher.pushes == 1  # some refs went through: nothing to isolate


async def test_a_whole_batch_failure_is_retried_ref_by_ref() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    a, poison, c = await push_all(pusher, "a", "poison", "c")
    assert a is None
    assert c is None
    assert message(poison) == "git push of poison failed (1): fatal: bad object for poison"
    assert git.batches == [["a", "poison", "c"], ["a"], ["poison"], ["c"]]
    assert pusher.pushes == 4


async def test_a_batch_of_only_rejected_refs_keeps_each_its_own_reason() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    bad_1, bad_2 = await push_all(pusher, "bad-1", "bad-2")
    assert "(hook declined bad-1)" in message(bad_1)
    assert "(hook declined bad-2)" in message(bad_2)
    assert git.batches == [["bad-1", "bad-2"], ["bad-1"], ["bad-2"]]


async def test_a_failing_lone_push_reports_the_stderr_tail() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    with pytest.raises(GitCommandError, match=r"^git push of offline failed \(128\): ") as caught:
        await pusher.push(sha("offline"), "offline")
    text = str(caught.value)
    assert text.endswith("fatal: Could not resolve host: example")
    assert "x" * 300 not in text  # the tail of stderr, not all of it
    assert pusher.pushes == 1  # a lone ref is not pushed again


async def test_an_exception_from_the_runner_reaches_every_waiter() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    outcomes = await push_all(pusher, "a", "explode", "c")
    assert isinstance(outcomes[0], RunnerBrokeError)
    assert all(outcome is outcomes[0] for outcome in outcomes)
    assert pusher.pushes == 1
    await pusher.push(sha("d"), "d")  # the pusher still works
    assert git.batches[-1] == ["d"]


async def test_an_exception_while_retrying_spares_the_waiters_already_settled() -> None:
    git = FakeGit()
    pusher = BatchedPush(git, URL, linger_s=FAST)
    a, poison, fragile = await push_all(pusher, "a", "poison", "fragile")
    assert a is None
    assert message(poison) == "git push of poison failed (1): fatal: bad object for poison"
    assert isinstance(fragile, RunnerBrokeError)
    assert git.batches == [["a", "poison", "fragile"], ["a"], ["poison"], ["fragile"]]


@pytest.mark.parametrize(
    ("cancelled", "expected"),
    [
        ("ok-c", type(None)),
        ("bad-c", type(None)),
        ("poison-c", type(None)),
        ("explode-c", RunnerBrokeError),
    ],
)
async def test_a_cancelled_waiter_stops_no_one_and_leaves_no_unretrieved_error(
    cancelled: str, expected: type[BaseException | None]
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        git = FakeGit()
        git.gate.clear()
        pusher = BatchedPush(git, URL, linger_s=FAST)
        gone = asyncio.create_task(pusher.push(sha(cancelled), cancelled))
        other = asyncio.ensure_future(push_all(pusher, "other"))
        await git.entered.wait()
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        git.gate.set()
        [outcome] = await other
        assert type(outcome) is expected
        assert [cancelled, "other"] in git.batches  # its push went on all the same
        drain = pusher._pusher
        assert drain is not None
        await drain
        del gone, other, outcome, drain, pusher, git
        gc.collect()
        await asyncio.sleep(0)  # any handler call the collection scheduled
    finally:
        loop.set_exception_handler(None)
    assert reported == []


# --- the helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdout", "failed"),
    [
        pytest.param("*\tx:refs/heads/a\t[new branch]\n", {}, id="updated"),
        pytest.param("To u\n=\tx:refs/heads/a\t[up to date]\nDone\n", {}, id="noise-around"),
        pytest.param("+\tx:refs/heads/a\tforced\tmore\n", {}, id="extra-tabs"),
        pytest.param("", {"a": "(1): the tail"}, id="nothing-reported"),
        pytest.param("*\tx:refs/heads/b\t[new branch]\n", {"a": "(1): the tail"}, id="other-ref"),
        pytest.param("*\tx:refs/heads/a\n", {"a": "(1): the tail"}, id="two-fields"),
        pytest.param("\tx:refs/heads/a\tok\n", {"a": "(1): the tail"}, id="empty-flag"),
        pytest.param("?\tx:refs/heads/a\tok\n", {"a": "(1): the tail"}, id="unknown-flag"),
        pytest.param(
            "!\tx:refs/heads/a\t[rejected] (fetch first)\n",
            {"a": "(1): [rejected] (fetch first)"},
            id="rejected",
        ),
        pytest.param("!\tx:refs/heads/a\t\n", {"a": "(1): the tail"}, id="rejected-no-reason"),
        pytest.param("*\tx:refs/heads/ab\t[new branch]\n", {"a": "(1): the tail"}, id="prefix"),
    ],
)
async def test_failures_reads_the_porcelain_lines(stdout: str, failed: dict[str, str]) -> None:
    found = _failures(done(1, stdout, "the tail\n"), [_Request("x", "a")])
    assert {ref: str(error) for ref, error in found.items()} == {
        f"refs/heads/{branch}": f"git push of {branch} failed {text}"
        for branch, text in failed.items()
    }


async def test_failures_falls_back_to_stdout_and_survives_bad_utf8() -> None:
    completed = Completed(returncode=1, stdout=b"\xff\xfe garbage\n", stderr=b"", seconds=0.0)
    [error] = _failures(completed, [_Request("x", "a")]).values()
    assert str(error) == "git push of a failed (1): \ufffd\ufffd garbage"


async def test_failures_of_a_batch_are_keyed_by_ref() -> None:
    stdout = "*\tx:refs/heads/a\t[new branch]\n!\ty:refs/heads/b\t[remote rejected] (nope)\n"
    batch = [_Request("x", "a"), _Request("y", "b"), _Request("z", "c")]
    found = _failures(done(1, stdout, "error: failed to push some refs"), batch)
    assert sorted(found) == ["refs/heads/b", "refs/heads/c"]
    assert str(found["refs/heads/b"]).endswith("(1): [remote rejected] (nope)")
    assert str(found["refs/heads/c"]).endswith("(1): error: failed to push some refs")


async def test_settle_sets_each_outcome_once() -> None:
    ok, failing, settled = _Request("x", "a"), _Request("y", "b"), _Request("z", "c")
    settled.done.set_result(None)
    _settle([ok], None)
    error = GitCommandError("boom")
    _settle([failing, settled], error)
    assert ok.done.result() is None
    assert failing.done.exception() is error
    assert settled.done.exception() is None  # already settled: left alone


async def test_retrieved_marks_an_error_read_and_ignores_a_cancellation() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        failed: asyncio.Future[None] = loop.create_future()
        failed.set_exception(GitCommandError("nobody waits for this"))
        _retrieved(failed)
        cancelled: asyncio.Future[None] = loop.create_future()
        cancelled.cancel()
        _retrieved(cancelled)  # a cancelled future has no exception to read: no error
        del failed, cancelled
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert reported == []


async def test_a_fast_forward_is_an_update() -> None:
    # `git push --porcelain` flags a fast-forward update with a space (see git-push(1)).
    stdout = "To u\n \tx:refs/heads/a\t1111111..2222222\nDone\n"
    assert _failures(done(0, stdout), [_Request("x", "a")]) == {}


# --- against real git -------------------------------------------------------------------------

IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
ENV = os.environ | IDENTITY
MISSING = "1" * 40  # an object no repository has


@dataclass(frozen=True)
class Remote:
    """A bare repository to push to, and a scratch repository with two commits, c0 <- c1."""

    bare: Path
    scratch: Path
    commits: tuple[str, str]


def git_sync(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    bare, scratch = tmp_path / "bare.git", tmp_path / "scratch"
    git_sync(tmp_path, "init", "-q", "--bare", str(bare))
    git_sync(tmp_path, "init", "-q", str(scratch))
    commits = []
    for n in range(2):
        git_sync(
            scratch, "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", f"c{n}"
        )
        commits.append(git_sync(scratch, "rev-parse", "HEAD"))
    return Remote(bare, scratch, (commits[0], commits[1]))


class RealGit:
    """Runs ``git ARGS`` in the scratch repository, recording each argv."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.calls: list[tuple[str, ...]] = []

    async def __call__(self, *args: str) -> Completed:
        self.calls.append(args)
        return await run_command(["git", *args], cwd=self.cwd, env=ENV, timeout_s=60.0)


async def head(remote: Remote, branch: str) -> str | None:
    """The commit ``branch`` points at in the bare repository, None if it does not exist."""
    argv = ["git", "-C", str(remote.bare), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"]
    done = await run_command(argv, cwd=remote.scratch, env=ENV)
    return done.stdout.decode().strip() if done.returncode == 0 else None


async def test_real_git_pushes_concurrent_branches_in_few_pushes(remote: Remote) -> None:
    git = RealGit(remote.scratch)
    pusher = BatchedPush(git, str(remote.bare), linger_s=FAST)
    branches = [f"autoissue/acme-widgets/issue-{n}" for n in range(6)]
    commit_of = {branch: remote.commits[n % 2] for n, branch in enumerate(branches)}
    await asyncio.gather(*(pusher.push(commit_of[b], b) for b in branches))
    assert pusher.pushes < len(branches)
    assert pusher.pushes == 1
    for branch in branches:
        assert await head(remote, branch) == commit_of[branch]
    # Force-pushed: each branch may move anywhere, here backwards and sideways.
    await asyncio.gather(*(pusher.push(remote.commits[0], b) for b in branches))
    for branch in branches:
        assert await head(remote, branch) == remote.commits[0]


async def three_pushes(pusher: BatchedPush, *requests: tuple[str, str]) -> list[object]:
    """Push all at once; the first and last must succeed, the middle one's outcome is given."""
    outcomes = await asyncio.gather(*(pusher.push(*r) for r in requests), return_exceptions=True)
    assert outcomes[0] is None
    assert outcomes[-1] is None
    return list(outcomes)


async def test_real_git_a_missing_object_fails_only_its_own_push(remote: Remote) -> None:
    git = RealGit(remote.scratch)
    pusher = BatchedPush(git, str(remote.bare), linger_s=FAST)
    c0, c1 = remote.commits
    outcomes = await three_pushes(pusher, (c0, "good-1"), (MISSING, "broken"), (c1, "good-2"))
    assert message(outcomes[1]).startswith("git push of broken failed (1): ")
    # The bad object spoiled the pack of all three: each was pushed again on its own.
    assert pusher.pushes == 4
    assert [len(call) - 4 for call in git.calls] == [3, 1, 1, 1]
    assert await head(remote, "good-1") == c0
    assert await head(remote, "good-2") == c1
    assert await head(remote, "broken") is None


async def test_real_git_a_ref_the_remote_rejects_fails_alone(remote: Remote) -> None:
    hook = remote.bare / "hooks" / "update"
    hook.write_text('#!/bin/sh\ncase "$1" in refs/heads/bad*) echo "no $1" >&2; exit 1;; esac\n')
    hook.chmod(0o755)
    git = RealGit(remote.scratch)
    pusher = BatchedPush(git, str(remote.bare), linger_s=FAST)
    c0, c1 = remote.commits
    outcomes = await three_pushes(pusher, (c0, "fine-1"), (c1, "bad-1"), (c1, "fine-2"))
    assert message(outcomes[1]) == "git push of bad-1 failed (1): [remote rejected] (hook declined)"
    assert pusher.pushes == 1
    assert await head(remote, "fine-1") == c0
    assert await head(remote, "fine-2") == c1
    assert await head(remote, "bad-1") is None


async def test_real_git_a_fast_forward_push_succeeds(remote: Remote) -> None:
    pusher = BatchedPush(RealGit(remote.scratch), str(remote.bare), linger_s=FAST)
    c0, c1 = remote.commits
    await pusher.push(c0, "issue-1")
    await pusher.push(c1, "issue-1")  # c1 is a child of c0: git flags it ' ', a fast-forward
    assert await head(remote, "issue-1") == c1


async def test_real_git_two_requests_for_one_branch_fail_no_other_branch(remote: Remote) -> None:
    git_sync(remote.scratch, "push", "-q", str(remote.bare), "HEAD:refs/heads/main")
    pusher = BatchedPush(RealGit(remote.scratch), str(remote.bare), linger_s=FAST)
    c0, c1 = remote.commits
    outcomes = await asyncio.gather(
        pusher.push(c0, "issue-1"),
        pusher.push(c1, "issue-1"),
        pusher.push(c1, "issue-2"),
        return_exceptions=True,
    )
    # git would refuse a push naming one destination twice ("dst ref refs/heads/issue-1
    # receives from more than one src"): the second request for issue-1 waits for the next.
    assert outcomes == [None, None, None]
    assert await head(remote, "issue-2") == c1
    assert await head(remote, "issue-1") == c1  # the later request, pushed last
    assert pusher.pushes == 2
