"""The ``command`` processor: one independent agent process per issue, in its own worktree.

::

    issue ─▶ open PR already? ──yes──▶ Plan(skip_reason="already_exists")
               │ no
               ▼
      worktree on autoissue/<name>/issue-<n> ─▶ agent (argv; issue JSON on stdin and in a file)
               │                                   │ exit 0, result file, changes
               ▼                                   ▼
      trust checks (labels, paths, diff size) ─▶ commit + force-push ─▶ Plan(OpenPullRequest)
                                                 or no change        ─▶ Plan(Comment)

The open pull requests, the repository's clone URL and default branch, and the mirror's
fetch are done once per run under one lock, however many issues run at the same time.
The processor pushes its branch (that is git, not the API) and writes nothing to GitHub.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from autoissue._exceptions import AgentError, TrustViolationError
from autoissue.agent import (
    ChangeSet,
    CommandConfig,
    Completed,
    Containment,
    OpenPullIndex,
    RepoMirror,
    Worktree,
    branch_name,
    closing_references,
    expand_argv,
    git_env,
    load_open_pulls,
    run_command,
    scrubbed_env,
)
from autoissue.model import (
    Action,
    AddLabels,
    Comment,
    Issue,
    OpenPullRequest,
    Plan,
    Priority,
    priority_from_labels,
)
from autoissue.processors._base import Isolation, ProcessContext

__all__ = ["AgentResult", "CommandProcessor"]

logger = logging.getLogger(__name__)

ALREADY_EXISTS = "already_exists"
_RESULT_LIMIT = 1 << 20
_TREES_PER_AGENT = 2
_TITLE_CHARS = 200
_TEXT_CHARS = 60_000  # GitHub refuses comment and pull-request bodies over 65,536 characters
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AgentResult(msgspec.Struct, frozen=True):
    """What an agent may write to its result file; every field is optional."""

    labels: tuple[str, ...] = ()
    comment: str = ""
    title: str = ""
    body: str = ""
    #: What the agent says the run cost (its API spend), for the run's cost cap.
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class _Prepared:
    mirror: RepoMirror
    pulls: OpenPullIndex


def _clean(text: str, limit: int) -> str:
    return _CONTROL.sub("", text)[:limit]


def _one_line(text: str, limit: int = _TITLE_CHARS) -> str:
    return " ".join(_clean(text, limit * 4).split())[:limit]


def _read_result(path: Path) -> AgentResult:
    # Never through a link: the agent made this file, and a link would have us read ours.
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return AgentResult()
    except OSError as exc:
        raise AgentError(f"the result file cannot be read: {exc.strerror}") from None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise AgentError("the result file is not a regular file")
        data = file.read(_RESULT_LIMIT + 1)
    if len(data) > _RESULT_LIMIT:
        raise AgentError(f"the result file is over {_RESULT_LIMIT} bytes")
    if not data.strip():
        return AgentResult()
    try:
        return msgspec.json.decode(data, type=AgentResult)
    except msgspec.DecodeError as exc:
        raise AgentError(f"the result file is not a valid result: {exc}") from None


@dataclass(frozen=True, slots=True)
class _IssueFiles:
    payload: bytes
    placeholders: dict[str, str]
    env: dict[str, str]
    result: Path

    @property
    def mounts(self) -> tuple[tuple[Path, Path, bool], ...]:
        """How a sandboxed agent sees them: the issue read-only, its result's folder writable."""
        issue, prompt = (
            Path(self.env["AUTOISSUE_ISSUE_FILE"]),
            Path(self.env["AUTOISSUE_PROMPT_FILE"]),
        )
        return (
            (issue, issue, False),
            (prompt, prompt, False),
            (self.result.parent, self.result.parent, True),
        )


def _write_issue_files(issue: Issue, repo: str, tree: Worktree) -> _IssueFiles:
    """The issue as JSON and as Markdown, beside (never inside) the worktree."""
    payload = msgspec.json.encode({"repository": repo, "branch": tree.branch, "issue": issue})
    prompt = f"# {_one_line(issue.title)}\n\n{_CONTROL.sub('', issue.body or '')}\n"
    tree.write_issue(payload, prompt)
    result = tree.result_file
    paths = {
        "issue_file": tree.issue_file,
        "prompt_file": tree.prompt_file,
        "result_file": result,
        "worktree": tree.path,
    }
    placeholders = {"{" + key + "}": str(path) for key, path in paths.items()}
    placeholders["{number}"] = str(issue.number)
    return _IssueFiles(payload, placeholders, _agent_env(paths, issue, repo, tree), result)


def _agent_env(paths: dict[str, Path], issue: Issue, repo: str, tree: Worktree) -> dict[str, str]:
    """The variables that tell the agent where the issue's files are and what it works on."""
    env = {f"AUTOISSUE_{key.upper()}": str(path) for key, path in paths.items()}
    return env | {
        "AUTOISSUE_REPO": repo,
        "AUTOISSUE_ISSUE_NUMBER": str(issue.number),
        "AUTOISSUE_BRANCH": tree.branch,
    }


class CommandProcessor:
    """Runs a configured command per issue in a fresh worktree; changes become a pull request.

    The command is ``config.argv`` (a list, never a shell string). The issue reaches it as
    JSON on stdin and in ``AUTOISSUE_ISSUE_FILE``; it may leave labels, a title, a body or a
    comment in ``AUTOISSUE_RESULT_FILE``. Its environment is scrubbed (``config.pass_env``
    names what else crosses). Issues that an open pull request already covers are skipped
    as ``already_exists``; an agent that fails, times out or breaks a trust rule fails its
    issue with an :class:`~autoissue.AgentError`.
    """

    isolation = Isolation.COMMAND

    def __init__(self, config: CommandConfig, *, environ: dict[str, str] | None = None) -> None:
        self.config = config
        self.name = config.name
        # Read once here, never at import: the base of every child's scrubbed environment.
        self._environ = dict(os.environ if environ is None else environ)
        self._lock = asyncio.Lock()
        self._agents = asyncio.Semaphore(config.max_agents)
        # Worktrees on disk at once: enough for every agent slot and as many being prepared or
        # committed, however many issues the engine has in flight (a checkout may be large);
        # an issue waiting for its push holds none.
        self._trees = asyncio.Semaphore(_TREES_PER_AGENT * config.max_agents)
        self._prepared: dict[str, _Prepared] = {}
        self._containment = Containment(
            config.sandbox, state_dir=config.state_dir, environ=self._environ
        )

    @classmethod
    def from_preset(cls, preset: str, *extra: str, **options: Any) -> CommandProcessor:
        """A processor running preset ``preset`` (see :meth:`CommandConfig.preset`)."""
        return cls(CommandConfig.preset(preset, *extra, **options))

    def __repr__(self) -> str:
        return f"<CommandProcessor {self.name} {self.config.argv[0]!r}>"

    def notes(self) -> list[str]:
        """The sandbox in force, and the processes agents left behind (killed after them)."""
        notes = [self._containment.describe()]
        if self._containment.killed:
            notes.append(f"agents left {self._containment.killed} processes running: killed")
        return notes

    @property
    def git_pushes(self) -> int:
        """``git push`` processes started so far: each carries one or more issues' branches."""
        return sum(prepared.mirror.pusher.pushes for prepared in self._prepared.values())

    def select(self, issue: Issue) -> Priority | None:
        """Every issue (not a pull request); its priority comes from its labels."""
        if issue.is_pull_request:
            return None
        priority = priority_from_labels(issue.label_names)
        return Priority.LOW if priority is None else priority

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """Run the agent on ``issue`` and plan a pull request, a comment, or nothing."""
        branch = branch_name(self.name, issue.number)
        prepared = await self._prepare(context)
        plan = Plan(self.name, context.repo, issue.number, issue.updated_at)
        if prepared.pulls.already_covered(issue.number, branch):
            return self._already_covered(plan, branch, prepared)
        with prepared.mirror.pusher.expect() as expected:
            async with self._trees, prepared.mirror.checkout(branch) as tree:
                completed, result = await self._run_agent(issue, context.repo, tree)
                changes = await self._check(tree, result)
                pull, commit = await self._commit(issue, context.repo, tree, result, changes)
            # The worktree is the next issue's while this one waits for its batch's push.
            if commit is not None:
                await expected.push(commit, branch)
        actions = self._actions(issue, completed, result, pull)
        return msgspec.structs.replace(
            plan,
            actions=actions,
            reasons=_reasons(completed, changes),
            cost_usd=max(0.0, result.cost_usd),
        )

    async def _commit(
        self, issue: Issue, repo: str, tree: Worktree, result: AgentResult, changes: ChangeSet
    ) -> tuple[OpenPullRequest | None, str | None]:
        """The pull request to open and the commit it will carry; neither without a change."""
        if not changes.paths:
            return None, None
        pull = self._pull_request(issue, repo, tree.branch, result)
        message = f"Resolve #{issue.number}\n\nBranch {tree.branch}."
        return pull, await tree.commit(message, changes)

    def _already_covered(self, plan: Plan, branch: str, prepared: _Prepared) -> Plan:
        reason = "an open pull request already covers this issue"
        actions: tuple[Action, ...] = ()
        if branch in prepared.pulls.heads and self.config.pr_labels:
            # Our own pull request may lack its labels (the run that opened it died before
            # adding them): write-back finds it by branch and only adds the labels.
            actions = (OpenPullRequest(branch, "", "", labels=self.config.pr_labels),)
        return msgspec.structs.replace(
            plan, actions=actions, reasons=(reason,), skip_reason=ALREADY_EXISTS
        )

    async def _prepare(self, context: ProcessContext) -> _Prepared:
        async with self._lock:
            if context.repo not in self._prepared:
                self._prepared[context.repo] = await self._load(context)
            return self._prepared[context.repo]

    async def _load(self, context: ProcessContext) -> _Prepared:
        """Once per run: the sandbox's check, the repository, its open PRs, the mirror's fetch."""
        await self._containment.check()
        repository = await context.github.get(f"/repos/{context.repo}")
        owner, name = context.repo.split("/", 1)
        path = self.config.state_dir.resolve() / "repos" / f"{owner}__{name}.git"
        env = git_env(self._environ, author=self.config.author, token=self.config.git_token)
        mirror = RepoMirror(
            path,
            url=self.config.clone_url or repository["clone_url"],
            base=self.config.base or repository["default_branch"],
            env=env,
        )
        pulls = await load_open_pulls(context.github, context.repo)
        await mirror.fetch()
        logger.info(
            "command %s: %d open pull requests in %s", self.name, len(pulls.heads), context.repo
        )
        return _Prepared(mirror, pulls)

    async def _run_agent(
        self, issue: Issue, repo: str, tree: Worktree
    ) -> tuple[Completed, AgentResult]:
        files = _write_issue_files(issue, repo, tree)
        config = self.config
        argv, env = self._command_for(files)
        async with (
            self._agents,
            self._containment.around(argv, env, tree, files.mounts) as (contained, inside),
        ):
            completed = await run_command(
                contained,
                cwd=tree.path,
                env=inside,
                stdin=files.payload,
                timeout_s=config.timeout_s,
                kill_grace_s=config.kill_grace_s,
                output_limit=config.output_limit,
            )
        # Checked after each agent whatever its exit, and before each push: an agent that
        # changed the mirror's configuration fails its own issue, not a batch it shares.
        tree.mirror.verify_untampered()
        return completed, _outcome(completed, files.result)

    def _command_for(self, files: _IssueFiles) -> tuple[list[str], dict[str, str]]:
        """The agent's argv and its scrubbed environment, for the issue's ``files``."""
        config = self.config
        env = scrubbed_env(
            self._environ, passthrough=config.pass_env, extra={**config.env, **files.env}
        )
        return expand_argv(config.argv, files.placeholders), env

    async def _check(self, tree: Worktree, result: AgentResult) -> ChangeSet:
        trust = self.config.trust
        trust.check_labels(result.labels)
        changes = await tree.stage(max_diff_bytes=trust.max_diff_bytes)
        trust.check_paths(changes.paths)
        trust.check_diff_size(changes.diff_bytes)
        return changes

    def _pull_request(
        self, issue: Issue, repo: str, branch: str, result: AgentResult
    ) -> OpenPullRequest:
        number = issue.number
        title = _one_line(result.title) or _one_line(f"Resolve #{number}: {issue.title}")
        body = _clean(result.body, _TEXT_CHARS).strip()
        others = closing_references(body, repo) - {number}
        if others:
            listed = ", ".join(f"#{n}" for n in sorted(others))
            raise TrustViolationError(f"the pull-request body would close other issues: {listed}")
        body = body or f"Changes made by the `{self.name}` command processor for #{number}."
        if number not in closing_references(body, repo):
            body += f"\n\nCloses #{number}"
        return OpenPullRequest(
            head=branch,
            title=title,
            body=body,
            base=self.config.base,
            labels=self.config.pr_labels,
            draft=self.config.draft,
        )

    def _actions(
        self,
        issue: Issue,
        completed: Completed,
        result: AgentResult,
        pull: OpenPullRequest | None,
    ) -> tuple[Action, ...]:
        actions: list[Action] = []
        labels = tuple(dict.fromkeys(x for x in result.labels if x not in issue.label_names))
        if labels:
            actions.append(AddLabels(labels))
        if pull is not None:
            actions.append(pull)
        elif self.config.comment_when_unchanged:
            said = result.comment or completed.stdout.decode("utf-8", "replace")
            text = _clean(said, _TEXT_CHARS).strip()
            if text:
                actions.append(Comment(text, slot="analysis"))
        return tuple(actions)


def _outcome(completed: Completed, result: Path) -> AgentResult:
    """What a finished agent left in its result file; AgentError if it exited non-zero."""
    if completed.returncode:
        raise AgentError(f"the agent exited with {completed.returncode}: {completed.tail()}")
    return _read_result(result)


def _reasons(completed: Completed, changes: ChangeSet) -> tuple[str, ...]:
    ran = f"the agent exited 0 after {completed.seconds:.1f} s"
    if not changes.paths:
        return (ran, "no change")
    return (ran, f"{len(changes.paths)} path(s) changed, {changes.diff_bytes} bytes of diff")
