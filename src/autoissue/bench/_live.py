"""The ``live`` workload: ``autoissue serve`` labelling new issues as they arrive (BENCH.md).

Each turn starts a fresh emulator process (``R`` repositories of ``issues`` items each, pull
requests included; triage's latency and faults) whose webhook points at ``serve``, then the
real command line in a process of its own with its defaults (SQLite backend in its own state
directory, the ``triage`` processor), a ``GITHUB_TOKEN`` and the webhook's secret::

    emulator ──signed webhooks──▶ autoissue serve ──sweep: R backlogs──▶ queue ──▶ worker
        ▲  ▲                                                                         │
        │  └──── creator: POST /repos/…/issues, new_issues at rate/s, round robin    │
        └──────────────────────────── label writes ◀─────────────────────────────────┘

The creator (:class:`~autoissue.bench._creator.IssueCreator`, another token) starts once
``serve`` has labelled its first backlog issue, so the new issues arrive while the backlog is
worked. The turn ends when the creator is done, every repository has been swept to the end,
``serve``'s queue is empty, no delivery is in flight and every new issue is labelled; or,
with the queue empty and new issues still unlabelled, ``settle_s`` later (a delivery that
failed is only caught by ``serve``'s next reconcile sweep, 300 s by default); or at
``timeout_s``. ``serve`` is then stopped with SIGTERM, as an operator stops it.

What the referee (the emulator) says: every latency, every fair share, the new issues and
eligible backlog issues left unlabelled, duplicate and redundant writes, API calls (see
:mod:`autoissue.bench._live_figures`). What ``serve`` says, on its ``/healthz``: how many
items it enqueued, processed, failed, found nothing to do for, and what its queue still
holds; items queued and never settled count as lost too, which covers the backlog issues
the referee cannot check (triage rightly writes nothing to an issue whose labels already
name a priority and whose type it is unsure of). Dead letters come from ``serve``'s queue.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from autoissue import _runtime
from autoissue.bench._contenders import TOKEN
from autoissue.bench._creator import CreatorReport, IssueCreator
from autoissue.bench._dead import dead_letter_items
from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._live_figures import (
    Timeline,
    backlog_check,
    fair_shares,
    latency_figures,
    new_issue_check,
    serve_unsettled,
)
from autoissue.bench._report import BenchReport, median
from autoissue.bench._serve_process import Health, ServeProcess, free_port, login_of
from autoissue.emulator import numbered_repos

logger = logging.getLogger(__name__)

REPO = "acme/widgets"
CONTENDER = "autoissue"
SECRET = "live-bench-webhook-secret"  # noqa: S105 - the emulator's hook, not a real secret
#: The people opening issues: not serve's account, whose events serve ignores as echoes.
REPORTER_TOKEN = "bench-reporter-token"  # noqa: S105 - the emulator's stand-in


@dataclass(frozen=True, kw_only=True)
class LiveBenchConfig:
    """The workload's parameters; the defaults are BENCH.md's ``live``."""

    repos: int = 5
    issues: int = 4_000  # items per repository, pull requests included: the backlog
    new_issues: int = 1_000
    rate: float = 50.0  # new issues a second
    latency_ms: float = 50.0
    faults: float = 0.01
    seed: int = 1
    repeats: int = 1
    window_s: float = 1.0
    start_after: int = 1  # backlog issues serve has processed when the creator starts
    settle_s: float = 330.0
    timeout_s: float = 1800.0
    poll_s: float = 0.25

    @classmethod
    def quick(cls, **overrides: Any) -> LiveBenchConfig:
        """Small enough for CI: 200 backlog items in each repository, 50 new issues at 50/s."""
        return replace(cls(issues=200, new_issues=50, latency_ms=10.0, settle_s=30.0), **overrides)

    @property
    def full_names(self) -> tuple[str, ...]:
        """The repositories served: ``acme/widgets-1`` … ``acme/widgets-R``."""
        return numbered_repos(REPO, self.repos)

    def emulator_options(self, port: int) -> dict[str, Any]:
        """The emulator's command-line options; its webhook posts to ``serve`` on ``port``."""
        return {
            "repo": REPO,
            "repos": self.repos,
            "issues": self.issues,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "faults": self.faults,
            "limits": "none",
            "webhook_url": f"http://127.0.0.1:{port}/webhook",
            "webhook_secret": SECRET,
        }


@dataclass
class Turn:
    """What one turn saw: ``serve``'s last health, the creator's report, how it ended."""

    seconds: float
    health: Health
    creator: CreatorReport
    ended: str


@dataclass(frozen=True)
class Logins:
    """Who is who at the emulator: ``serve``'s token, and the reporter's."""

    serve: str
    reporter: str


class Watch:
    """Polls ``serve``'s health and the emulator until the turn is over (see the module)."""

    def __init__(
        self,
        emulator: EmulatorProcess,
        serve: ServeProcess,
        logins: Logins,
        config: LiveBenchConfig,
    ) -> None:
        self.emulator, self.serve, self.logins, self.config = emulator, serve, logins, config
        self.health: Health = {}

    def until(self, condition: Callable[[Health], bool], timeout_s: float) -> bool:
        """Poll until ``condition(health)``; False if ``serve`` exited or time ran out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.serve.running:
            found = self.serve.health()
            if found is not None:
                self.health = found
                if condition(found):
                    return True
            time.sleep(self.config.poll_s)
        return False

    def drained(self, health: Health) -> bool:
        """Every repository swept, nothing queued or leased, no delivery being admitted."""
        deliveries = health["deliveries"]
        answered = sum(value for key, value in deliveries.items() if key != "received")
        swept = all(health["swept"].get(repo, 0) >= 1 for repo in self.serve.repos)
        return swept and health["queue"]["unfinished"] == 0 and answered == deliveries["received"]

    def all_new_labelled(self) -> bool:
        """Whether ``serve`` has labelled every issue the creator opened (the referee's view)."""
        timeline = self.timeline()
        return set(timeline.opened) <= set(timeline.labelled)

    def timeline(self) -> Timeline:
        """The referee's timeline: the reporter's openings, ``serve``'s labels."""
        raw = self.emulator.admin("timeline")
        return Timeline.read(raw, creator=self.logins.reporter, labeller=self.logins.serve)

    def finish(self, creator: IssueCreator) -> str:
        """Wait for the end of the turn; how it ended."""
        deadline = time.monotonic() + self.config.timeout_s
        settled_by: float | None = None
        while time.monotonic() < deadline:
            if not self.until(lambda h: creator.done and self.drained(h), self._left(deadline)):
                return "serve exited" if not self.serve.running else "timed out"
            if self.all_new_labelled():
                return "done"
            settled_by = settled_by or time.monotonic() + self.config.settle_s
            if time.monotonic() > settled_by:
                return "new issues unlabelled after settle_s"
            time.sleep(self.config.poll_s)
        return "timed out"

    @staticmethod
    def _left(deadline: float) -> float:
        return max(0.0, deadline - time.monotonic())


def run_turn(config: LiveBenchConfig, folder: Path) -> dict[str, Any]:
    """One turn: a fresh emulator, ``serve`` started, the creator, the referee's figures."""
    port = free_port()
    with EmulatorProcess(config.emulator_options(port)) as emulator:
        seeded = emulator.admin("state")["repos"]
        base = emulator.base_url
        logins = Logins(serve=login_of(base, TOKEN), reporter=login_of(base, REPORTER_TOKEN))
        serve = ServeProcess(base, config.full_names, folder=folder, port=port, secret=SECRET)
        watch = Watch(emulator, serve, logins, config)
        serve.start()
        try:
            turn = drive(watch, config)
        finally:
            code = serve.stop()
        if isinstance(turn, str):
            return {"contender": CONTENDER, "error": turn, "serve_exit": code}
        dead = _runtime.run(dead_letter_items(serve.backend, 10**6))
        referee = Referee(watch.timeline(), seeded, emulator.admin("state")["repos"], dead)
        return referee.result(turn, emulator.admin("stats"), config) | {"serve_exit": code}


def drive(watch: Watch, config: LiveBenchConfig) -> Turn | str:
    """Start the creator once ``serve`` works its backlog, and wait for the end of the turn.

    A string says why the turn could not run.
    """
    started = time.perf_counter()
    if not watch.until(lambda h: h["worker"]["processed"] >= config.start_after, config.timeout_s):
        return f"serve never got to work: {watch.serve.last_error()}"
    creator = IssueCreator(
        watch.emulator.base_url,
        config.full_names,
        count=config.new_issues,
        rate=config.rate,
        token=REPORTER_TOKEN,
    )
    creator.start()
    ended = watch.finish(creator)
    report = creator.join(config.timeout_s)
    return Turn(time.perf_counter() - started, watch.health, report, ended)


@dataclass(frozen=True)
class Referee:
    """The emulator's view of a finished turn, and ``serve``'s dead letters.

    ``seeded`` and ``final`` are the emulator's repositories before and after the turn.
    """

    timeline: Timeline
    seeded: list[dict[str, Any]]
    final: list[dict[str, Any]]
    dead: set[tuple[str, int]]

    def result(self, turn: Turn, stats: dict[str, Any], config: LiveBenchConfig) -> dict[str, Any]:
        """The turn's result: BENCH.md's fields, then what explains them."""
        checks = self.checks(turn.health)
        return {
            "contender": CONTENDER,
            "issues": checks["new_issues"] + checks["backlog_open"],
            "seconds": round(turn.seconds, 3),
            "live_latency_s": latency_figures(self.timeline),
            **self.fairness(config),
            "lost": checks["new_lost"] + checks["backlog_lost"] + checks["serve_unsettled"],
            "failed": checks["new_failed"] + checks["backlog_failed"],
            **checks,
            **_referee_counts(stats),
            **self.pace(turn.creator),
            "serve": {key: turn.health[key] for key in ("worker", "queue", "swept")},
            "ended": turn.ended,
        }

    def checks(self, health: Health) -> dict[str, int]:
        """New and backlog issues failed and lost by the referee, unsettled by ``serve``."""
        checks = {
            **new_issue_check(self.timeline, self.dead),
            **backlog_check(self.seeded, self.final, self.dead),
        }
        expected = checks["new_issues"] + checks["backlog_open"]
        return {**checks, "serve_unsettled": serve_unsettled(health, expected)}

    def fairness(self, config: LiveBenchConfig) -> dict[str, Any]:
        """``min_fair_share`` and how it was made (see :func:`fair_shares`)."""
        shares = fair_shares(self.timeline.backlog(), config.full_names, config.window_s)
        return {
            "min_fair_share": shares["min_fair_share"],
            "fair_share_by_repo": shares["by_repo"],
            "fair_share_windows": shares.get("windows", {}),
            "fair_share_once_all_started": shares.get("once_all_started", {}),
            "contested_s": shares["period_s"],
        }

    def pace(self, creator: CreatorReport) -> dict[str, Any]:
        """How fast the backlog went, how fast issues arrived, and how many during the backlog."""
        backlog = sorted(self.timeline.backlog().values())
        span = backlog[-1] - backlog[0] if len(backlog) > 1 else 0.0
        last = backlog[-1] if backlog else 0.0
        return {
            "backlog_labelled": len(backlog),
            "backlog_labelled_per_s": round(len(backlog) / span, 1) if span else 0.0,
            "created": creator.outcomes,
            "created_retried": creator.retried,
            "created_rate": round(creator.rate, 2),
            "created_during_backlog": sum(at < last for at in self.timeline.opened.values()),
        }


def _referee_counts(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "duplicate_writes": stats["duplicate_writes"],
        "redundant_writes": stats["redundant_writes"],
        "api_calls": stats["requests_total"],
        "faults_injected": stats["faults_injected"],
        "webhook_deliveries": stats["webhook_deliveries"],
    }


_WORST = frozenset(
    {"lost", "failed", "duplicate_writes", "redundant_writes", "serve_unsettled", "new_lost"}
)
_LAST = frozenset({"serve_exit"})  # an exit status: the last turn's, never a median


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result over the turns: the worst of what must not happen, medians of the rest.

    Latency percentiles are the medians of each turn's; anything else that is not a number
    is the last turn's.
    """
    good = [run for run in runs if "error" not in run]
    if not good:
        return runs[-1] if runs else {"contender": CONTENDER, "error": "not run"}
    summary: dict[str, Any] = {**good[-1], "turns": len(good), "errors": len(runs) - len(good)}
    for key, value in good[0].items():
        if isinstance(value, int | float) and key not in _LAST:
            values = [run[key] for run in good]
            summary[key] = max(values) if key in _WORST else median(values)
    summary["live_latency_s"] = {
        key: median([run["live_latency_s"][key] for run in good])
        for key in good[0]["live_latency_s"]
    }
    return summary


def run_live_bench(*, quick: bool = False, **overrides: Any) -> BenchReport:
    """Run the ``live`` workload (BENCH.md) and report.

    ``quick`` shrinks it for CI; ``overrides`` set :class:`LiveBenchConfig`'s fields
    (``issues``: backlog items per repository, ``repeats``: turns).
    """
    config = LiveBenchConfig.quick(**overrides) if quick else LiveBenchConfig(**overrides)
    return measure_live(config)


def measure_live(config: LiveBenchConfig) -> BenchReport:
    """Run ``config.repeats`` turns, each on a fresh emulator, and report."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="autoissue-bench-live-") as folder:
        for index in range(config.repeats):
            turn_folder = Path(folder) / f"turn-{index}"
            turn_folder.mkdir()
            runs.append(run_turn(config, turn_folder))
    params = {
        **asdict(config),
        "backlog_items": config.repos * config.issues,
        "contenders": [CONTENDER],
        "note": "autoissue serve only: the peers have no webhook receiver",
    }
    return BenchReport("live", params, results=[summarise(runs)])
