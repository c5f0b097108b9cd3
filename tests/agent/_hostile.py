"""Hostile agents shared by the sandbox tests (bwrap and docker): each tries one escape.

Each program reports what it found through the result file, as a comment, so a test reads
back exactly what leaked.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoissue.model import Comment, Plan

TOKEN = "ghs_sandboxcanary0123456789"


def said(plan: Plan) -> dict[str, Any]:
    (comment,) = [a for a in plan.actions if isinstance(a, Comment)]
    return dict(json.loads(comment.body))


def processes_with(marker: str) -> list[int]:
    """The host's processes whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def witness() -> Iterator[subprocess.Popen[bytes]]:
    """A process of ours holding the token in its environment, as a run with GITHUB_TOKEN is."""
    env = {"PATH": os.environ["PATH"], "GITHUB_TOKEN": TOKEN}
    process = subprocess.Popen(["sleep", "300"], env=env)
    yield process
    process.kill()
    process.wait()


SNOOP = """
import json, os, pathlib
found = {"pids": [], "environ": []}
for entry in pathlib.Path("/proc").iterdir():
    if entry.name.isdigit():
        found["pids"].append(int(entry.name))
        try:
            environ = (entry / "environ").read_bytes().decode("latin-1").split("\\0")
        except OSError:
            continue
        # What a thief keeps of each: the tokens (the whole of every environment on a busy
        # host would outgrow the comment that carries the findings back).
        found["environ"].append("\\0".join(v for v in environ if "TOKEN" in v))
found["env"] = dict(os.environ)
result = pathlib.Path(os.environ["AUTOISSUE_RESULT_FILE"])
result.write_text(json.dumps({"comment": json.dumps(found)}))
"""


def secrets(home: Path, state: Path) -> dict[str, str]:
    """A home and a state directory holding what an agent must not read."""
    planted = {
        home / ".ssh" / "id_ed25519": "ssh-canary",
        home / ".config" / "gh" / "hosts.yml": "gh-canary",
        state / "state.db": "ledger-canary",
        state / "repos" / "other__repo.git" / "config": "mirror-canary",
    }
    for path, text in planted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return {str(path): text for path, text in planted.items()}


READER = """
import json, os, pathlib, sys
paths = json.loads(sys.argv[1])
read = {}
for path in paths:
    try:
        read[path] = pathlib.Path(path).read_text()
    except OSError as exc:
        read[path] = type(exc).__name__
work = pathlib.Path(os.environ["AUTOISSUE_WORKTREE"]).parent.parent
read["worktrees"] = sorted(os.listdir(work))
read["home"] = sorted(os.listdir(os.environ["HOME"]))
result = pathlib.Path(os.environ["AUTOISSUE_RESULT_FILE"])
result.write_text(json.dumps({"comment": json.dumps(read)}))
"""


def daemon(marker: str) -> str:
    return f"""
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "{marker}"],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    """


FORK_BOMB = """
import json, os, pathlib, time
children = 0
try:
    while children < 10_000:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError:
    pass
pathlib.Path(os.environ["AUTOISSUE_RESULT_FILE"]).write_text(json.dumps({"comment": str(children)}))
"""


def writer(targets: list[Path]) -> str:
    """An agent that writes to each of ``targets``, then ``inside.txt`` in its worktree."""
    return f"""
import pathlib
for target in {[str(t) for t in targets]!r}:
    try:
        pathlib.Path(target).write_text("escaped")
    except OSError:
        pass
pathlib.Path("inside.txt").write_text("fine")
"""


#: An agent that touches 512 MB, page by page: over a memory limit, the kernel kills it.
MEMORY_HOG = "blob = bytearray(512 << 20); blob[::4096] = b'x' * len(blob[::4096])"


def forks(plan: Plan) -> int:
    """How many children the fork bomb started, as its one comment says."""
    (comment,) = plan.actions
    assert isinstance(comment, Comment)
    return int(comment.body)
