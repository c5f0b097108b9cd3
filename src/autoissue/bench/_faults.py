"""The ``faults`` workload: triage with 5% faults while the engine is SIGKILLed (BENCH.md).

One emulator process (50 ms median latency, 5% transient faults, fixed seed) and the real
command line, ``python -m autoissue run --backend sqlite:///… --state-dir … --quiet``, in a
process group of its own::

    start ──▶ writes ≥ kill point? ──▶ SIGKILL ──▶ in-flight writes settle ──▶ restart
      ▲                                                                         │
      └─────────── MTTR: from the restart until the emulator's writes rise ◀────┘

Kill points are drawn by a seeded RNG as counts of the emulator's successful writes,
uniformly over 5-90% of the writes the run needs, so the kills fall at random moments
spread over the run, and each one lands while there is work left. After the last kill the
run is left to finish. MTTR is measured from the restart (a new interpreter: its start-up,
the listing and the lease of the killed run's items expiring are all part of resuming).

The final state is then checked: every eligible issue (open, not a pull request, not
locked, no skip label, no label naming a priority) must carry a priority label in the tool's
spelling, which the ``triage`` processor's plan writes to it, in the same write as its type
label. An eligible issue without one is ``lost`` unless the queue holds it as a dead letter
(``failed``). An issue whose labels already name a priority (``p1``, ``priority: high``) gets
no priority label, and perhaps no write at all: nothing would show it was triaged.
``duplicate_writes`` is the emulator's own counter; ``rewrites`` counts label writes past
one per issue (a kill between a write and its ack makes the resumed run write again, which
adding labels makes harmless - reported, not counted as duplicates).

Only ``autoissue`` runs: the other contenders keep no durable state to resume from.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from autoissue import _runtime
from autoissue.bench._contenders import TOKEN
from autoissue.bench._dead import dead_letter_numbers
from autoissue.bench._emulated import EmulatorProcess, admin_call
from autoissue.bench._report import BenchReport, median
from autoissue.engine import DEFAULT_SKIP_LABELS
from autoissue.model import Priority, priority_from_labels

logger = logging.getLogger(__name__)

REPO = "acme/widgets"
CONTENDER = "autoissue"
_RUN_TIMEOUT_S = 1800
_SETTLE_ROUNDS = 40  # at most this many quiet checks after a kill before giving up waiting


@dataclass(frozen=True, kw_only=True)
class FaultsBenchConfig:
    """The repository, the emulator's model, how many kills and where they may fall."""

    issues: int = 5_000
    latency_ms: float = 50.0
    faults: float = 0.05
    kills: int = 10
    seed: int = 1
    repeats: int = 1
    first: float = 0.05  # kill points fall within [first, last] of the writes the run needs
    last: float = 0.9
    poll_s: float = 0.02
    settle_s: float = 0.25  # no new write for this long: the killed run's requests are done

    @classmethod
    def quick(cls, **overrides: Any) -> FaultsBenchConfig:
        """A small run that checks the bench works, not how fast it resumes (for CI)."""
        return replace(cls(issues=600, kills=3), **overrides)

    def emulator_options(self) -> dict[str, Any]:
        """The emulator's command-line options: ``triage``'s latency, 5% faults."""
        return {
            "repo": REPO,
            "issues": self.issues,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "faults": self.faults,
            "limits": "none",
        }


#: The priority labels the ``triage`` processor writes, in its own spelling (``priority:high``);
#: it writes one only to an issue none of whose labels names a priority.
TRIAGED = frozenset(priority.label for priority in Priority)


def eligible(state: dict[str, Any]) -> set[int]:
    """The issues a run must be seen to triage: open, not pull requests, unlocked, not skipped.

    Issues with a label naming a priority are left out: triage adds no priority label to them.
    """
    return eligible_in(state["repos"][0])


def eligible_in(repo: Mapping[str, Any]) -> set[int]:
    """:func:`eligible` for one repository of the emulator's state."""
    return {
        item["number"] for item in selected_in(repo) if priority_from_labels(item["labels"]) is None
    }


def selected_in(repo: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The items of one repository a run takes up: open issues, unlocked, not skipped."""
    return [
        item
        for item in repo["issues"]
        if item["state"] == "open"
        and not item["is_pull_request"]
        and not item["locked"]
        and not DEFAULT_SKIP_LABELS & {label.lower() for label in item["labels"]}
    ]


def untriaged(state: dict[str, Any], numbers: set[int]) -> set[int]:
    """Those of ``numbers`` without a priority label of the tool's: their triage is not done.

    The plan's labels (priority, and type where one applies) go in one write, so the
    priority label stands for the whole plan, whatever priority the processor chose.
    """
    return untriaged_in(state["repos"][0], numbers)


def untriaged_in(repo: Mapping[str, Any], numbers: set[int]) -> set[int]:
    """:func:`untriaged` for one repository of the emulator's state."""
    return {
        item["number"]
        for item in repo["issues"]
        if item["number"] in numbers and not TRIAGED & set(item["labels"])
    }


def check(state: dict[str, Any], numbers: set[int], dead: set[int]) -> dict[str, int]:
    """Eligible issues left untriaged; ``lost`` are those not dead-lettered either."""
    missing = untriaged(state, numbers)
    return {
        "issues": len(numbers),
        "missing": len(missing),
        "failed": len(missing & dead),
        "lost": len(missing - dead),
    }


def write_count(stats: dict[str, Any]) -> int:
    """Successful writes the emulator has answered: 2xx answers to anything but a read."""
    return sum(
        count
        for route, answers in stats["requests"].items()
        if not route.startswith(("GET ", "HEAD "))
        for status, count in answers.items()
        if status.startswith("2")
    )


def kill_points(needed: int, config: FaultsBenchConfig) -> list[int]:
    """``config.kills`` write counts, drawn by the seeded RNG within ``[first, last]``, sorted."""
    rng = random.Random(config.seed)  # noqa: S311 - a reproducible schedule, not a secret
    low, high = max(1, round(needed * config.first)), max(1, round(needed * config.last))
    return sorted(rng.randint(low, max(low, high)) for _ in range(config.kills))


@dataclass(frozen=True)
class Recovery:
    """One kill: when, the writes done by then, the restart, and when writes rose again."""

    killed_at: float
    writes: int
    restarted_at: float
    resumed_at: float | None  # None: the restarted run ended without writing anything

    @property
    def seconds(self) -> float:
        """Time to resume: from the restart until the next write (0 if there was none)."""
        return 0.0 if self.resumed_at is None else self.resumed_at - self.restarted_at


def mttr(recoveries: list[Recovery]) -> dict[str, Any]:
    """The kills' times to resume: the worst (``mttr_s``), the median, and each one."""
    each = [round(recovery.seconds, 3) for recovery in recoveries]
    return {
        "kills": len(recoveries),
        "mttr_s": max(each, default=0.0),
        "mttr_median_s": median(each),
        "mttr_each_s": each,
        "resumed": sum(r.resumed_at is not None for r in recoveries),
    }


@dataclass
class KillLoop:
    """``autoissue run`` started, SIGKILLed at each kill point, restarted; timed from outside."""

    base_url: str
    folder: Path
    config: FaultsBenchConfig
    recoveries: list[Recovery] = field(default_factory=list)
    starts: int = 0
    _process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def backend(self) -> str:
        """The durable SQLite backend every start of the run resumes from."""
        return f"sqlite:///{self.folder / 'state.db'}"

    def argv(self) -> list[str]:
        """The command line: the real ``autoissue run`` on a durable SQLite backend."""
        return [
            sys.executable,
            "-m",
            "autoissue",
            "run",
            "--repo",
            REPO,
            "--base-url",
            self.base_url,
            "--backend",
            self.backend,
            "--state-dir",
            str(self.folder),
            "--quiet",
        ]

    def writes(self) -> int:
        """The emulator's successful writes so far."""
        return write_count(admin_call(self.base_url, "stats"))

    def start(self) -> None:
        """Start the run in a process group of its own, its output to a log file."""
        self.close_log()
        self.starts += 1
        self._log = (self.folder / f"run-{self.starts}.log").open("wb")
        env = {**os.environ, "GITHUB_TOKEN": TOKEN}
        self._process = subprocess.Popen(
            self.argv(), env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def close_log(self) -> None:
        """Close the current run's log file, if one is open."""
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        """Whether the current run's process is still alive."""
        return self._process is not None and self._process.poll() is None

    def kill(self) -> float:
        """SIGKILL the run's whole process group and reap it; when the signal was sent."""
        assert self._process is not None  # noqa: S101 - only called after start()
        killed_at = time.perf_counter()
        os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=30)
        return killed_at

    def watch(self, reached: Callable[[int], bool]) -> float | None:
        """Poll until ``reached(writes)``: when it was seen, or ``None`` if the run ended first."""
        while True:
            if reached(self.writes()):
                return time.perf_counter()
            if not self.running:
                return time.perf_counter() if reached(self.writes()) else None
            time.sleep(self.config.poll_s)

    def settled(self) -> int:
        """The write count once the killed run's requests in flight have all been answered."""
        last = self.writes()
        for _ in range(_SETTLE_ROUNDS):
            time.sleep(self.config.settle_s)
            now = self.writes()
            if now == last:
                break
            last = now
        return last

    def one_kill(self, point: int) -> bool:
        """Wait for ``point`` writes, kill, restart, time the resumption; False if it ended."""
        if self.watch(lambda writes: writes >= point) is None:
            return False
        killed_at = self.kill()
        baseline = self.settled()
        self.start()
        restarted_at = time.perf_counter()
        resumed_at = self.watch(lambda writes: writes > baseline)
        self.recoveries.append(Recovery(killed_at, baseline, restarted_at, resumed_at))
        logger.info(
            "faults: kill %d at %d writes, resumed in %.2f s",
            len(self.recoveries),
            baseline,
            self.recoveries[-1].seconds,
        )
        return True

    def run_through(self, points: list[int]) -> int:
        """Start the run, kill and restart it at each point it reaches, let the last one end."""
        self.start()
        for point in points:
            if not self.one_kill(point):
                break
        return self.finish()

    def finish(self) -> int:
        """Let the last run end; its exit status (1 when it counted failures, as designed)."""
        assert self._process is not None  # noqa: S101 - only called after start()
        code = self._process.wait(timeout=_RUN_TIMEOUT_S)
        self.close_log()
        return code

    def completed(self, code: int) -> bool:
        """Whether the last run finished its work: exit 0, or 1 for failures it counted.

        Only a run that ends saves its summary; an error before the end exits 1 too.
        """
        return code in {0, 1} and any((self.folder / "runs").glob("*.json"))

    def last_log_line(self) -> str:
        """The last line the current run wrote, for a report on a failed run."""
        lines = (self.folder / f"run-{self.starts}.log").read_text(errors="replace").splitlines()
        return lines[-1] if lines else ""


def run_round(emulator: EmulatorProcess, config: FaultsBenchConfig, folder: Path) -> dict[str, Any]:
    """One round on a freshly reset emulator: the kills, the restarts, the final check."""
    emulator.admin("reset", "POST", {})
    seeded = emulator.admin("state")
    numbers = eligible(seeded)
    needed = len(untriaged(seeded, numbers))
    loop = KillLoop(emulator.base_url, folder, config)
    started = time.perf_counter()
    code = loop.run_through(kill_points(needed, config))
    seconds = time.perf_counter() - started
    if not loop.completed(code):
        return {"error": f"autoissue run exited {code}: {loop.last_log_line()}"}
    dead = _runtime.run(dead_letter_numbers(loop.backend, len(numbers) + 1))
    return _figures(
        emulator,
        loop,
        check(emulator.admin("state"), numbers, dead),
        needed=needed,
        seconds=seconds,
    )


def _figures(
    emulator: EmulatorProcess,
    loop: KillLoop,
    checked: dict[str, int],
    *,
    needed: int,
    seconds: float,
) -> dict[str, Any]:
    stats = emulator.admin("stats")
    writes = write_count(stats)
    return {
        **checked,
        **mttr(loop.recoveries),
        "seconds": round(seconds, 3),
        "issues_per_s": checked["issues"] / seconds if seconds else 0.0,
        "starts": loop.starts,
        "writes": writes,
        "writes_needed": needed,
        "rewrites": max(0, writes - needed),
        "api_calls": stats["requests_total"],
        "duplicate_writes": stats["duplicate_writes"],
        "faults_injected": stats["faults_injected"],
    }


_WORST = frozenset({"failed", "lost", "missing", "duplicate_writes", "mttr_s", "rewrites"})


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result over the rounds: the worst of what must not happen, medians of the rest."""
    good = [run for run in runs if "error" not in run]
    if not good:
        return {"contender": CONTENDER, "error": runs[0]["error"] if runs else "not run"}
    summary: dict[str, Any] = {"contender": CONTENDER, "runs": len(good)}
    for key, value in good[0].items():
        values = [run[key] for run in good]
        if isinstance(value, int | float):
            summary[key] = max(values) if key in _WORST else median(values)
        else:
            summary[key] = [item for run in values for item in run]
    return summary


def run_faults_bench(config: FaultsBenchConfig) -> BenchReport:
    """Run ``repeats`` rounds of kills and restarts against one emulator, and report."""
    runs = []
    with (
        EmulatorProcess(config.emulator_options()) as emulator,
        tempfile.TemporaryDirectory(prefix="autoissue-bench-faults-") as folder,
    ):
        for index in range(config.repeats):
            round_folder = Path(folder) / f"round-{index}"
            round_folder.mkdir()
            runs.append(run_round(emulator, config, round_folder))
    params = {
        **config.emulator_options(),
        "kills": config.kills,
        "repeats": config.repeats,
        "kill_window": [config.first, config.last],
        "contenders": [CONTENDER],
        "note": "autoissue only: no other contender keeps state to resume from",
    }
    return BenchReport("faults", params, results=[summarise(runs)])
