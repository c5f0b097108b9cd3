"""A stand-in coding agent for tests and the bench: ``python -m autoissue.agent.fake``.

As BENCH.md defines it, by default it sleeps 0.2-1.0 s, holds 20 MB, writes one file in its
worktree and exits non-zero for 2% of issues. Which issues fail and how long each sleeps
follow from ``--seed`` and the issue number alone, so a run is reproducible and its
expected outcome computable (:func:`should_fail`).

The issue reaches it on stdin; it reads that input to its end and ignores it. It learns the
issue number from ``AUTOISSUE_ISSUE_NUMBER`` and never reads, executes or interprets the
title or the body.

Modes: ``change`` (write ``--path``), ``none`` (change nothing, print an analysis),
``hang`` (start a child, then wait forever: for timeout tests), ``crash`` (exit 3).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main", "should_fail"]


def _rng(seed: int, number: int) -> random.Random:
    return random.Random(f"{seed}:{number}")  # noqa: S311 - reproducible, not secret


def should_fail(number: int, *, seed: int, rate: float) -> bool:
    """Whether the fake agent exits non-zero for issue ``number`` (the first draw decides)."""
    return _rng(seed, number).random() < rate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autoissue.agent.fake")
    parser.add_argument("--mode", choices=("change", "none", "hang", "crash"), default="change")
    parser.add_argument("--sleep-min", type=float, default=0.2)
    parser.add_argument("--sleep-max", type=float, default=1.0)
    parser.add_argument("--alloc-mb", type=int, default=20)
    parser.add_argument("--fail-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--path", default="autoissue-fake/issue-{number}.md")
    parser.add_argument("--bytes", type=int, default=0, help="Extra bytes in the changed file.")
    parser.add_argument("--label", action="append", default=[], help="Propose this label.")
    parser.add_argument("--cost", type=float, default=0.0, help="Report this spend (USD).")
    parser.add_argument("--title", default="", help="Propose this pull-request title.")
    parser.add_argument(
        "--pid-file", type=Path, default=Path(os.devnull), help="hang: write the child's pid here."
    )
    return parser


def _write_result(args: argparse.Namespace, comment: str) -> None:
    target = os.environ.get("AUTOISSUE_RESULT_FILE")
    if target:
        result = {
            "labels": args.label,
            "comment": comment,
            "title": args.title,
            "cost_usd": args.cost,
        }
        Path(target).write_text(json.dumps(result), encoding="utf-8")


def _hang(pid_file: Path) -> int:
    # Leave on SIGTERM as a well-behaved agent does, but leave behind a grandchild in our
    # process group that ignores it: the runner's SIGKILL of the group must stop it too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"
    child = subprocess.Popen([sys.executable, "-c", code])
    pid_file.write_text(str(child.pid), encoding="utf-8")
    while True:
        time.sleep(3600)


def _change(args: argparse.Namespace, number: int) -> None:
    target = Path(args.path.replace("{number}", str(number)))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"Issue #{number} was handled.\n" + "x" * args.bytes, encoding="utf-8")
    _write_result(args, "")


def main(argv: list[str] | None = None) -> int:
    """Act as the options say; return the exit code."""
    args = _parser().parse_args(argv)
    number = int(os.environ.get("AUTOISSUE_ISSUE_NUMBER", "0"))
    sys.stdin.buffer.read()  # drained, never parsed
    rng = _rng(args.seed, number)
    failing = rng.random() < args.fail_rate
    ballast = b"\x01" * (args.alloc_mb << 20)  # written, so the pages are really resident
    time.sleep(rng.uniform(args.sleep_min, args.sleep_max))  # the agent's defined cost
    del ballast
    if args.mode == "hang":
        return _hang(args.pid_file)
    if args.mode == "crash" or failing:
        sys.stderr.write(f"fake agent: issue #{number} failed ({args.mode})\n")
        return 3
    if args.mode == "none":
        sys.stdout.write(f"Looked at issue #{number}: nothing to change.\n")
        _write_result(args, f"The fake agent changed nothing for #{number}.")
        return 0
    _change(args, number)
    return 0


if __name__ == "__main__":
    sys.exit(main())
