"""Where an agent runs: a bubblewrap or Docker sandbox that sees its worktree and little else.

An agent is a program that reads text written by strangers (the issue), so it is run as if
it were hostile. In the ``bwrap`` sandbox it gets new user, PID, IPC and UTS namespaces
(and a network namespace of its own with ``network=False``), no capabilities, and this view
of the machine:

=============================  ==============================================================
the system (``/``)              read-only
``$HOME``, ``/root``, ``/home``  empty and private (a tmpfs); so are ``/tmp``, ``/var/tmp`` and
                                ``/run``
``/proc``                       its own processes only: not ours, nor our environment
our state directory             hidden: no other worktree, mirror, queue or ledger
the issue's worktree            writable, at its own path
the issue files                 read-only; the folder of its result file writable
the mirror's objects and refs   read-only, so ``git`` works in the worktree; a commit of the
                                agent's goes to an object folder of its own
=============================  ==============================================================

The programs it needs are seen read-only wherever they live: the folder of ``argv[0]``, the
Python installation autoissue runs in (for agents written in Python), and the paths named in
``read_only``. Its processes live as long as its PID namespace: when the agent exits, every
process it left behind is killed by the kernel. The ``docker`` sandbox gives the same view
in a container of ``image``. ``none`` runs the agent as us, as a plain process group.
"""

from __future__ import annotations

import enum
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autoissue._exceptions import ConfigurationError

__all__ = [
    "DEFAULT_MEMORY_BYTES",
    "DEFAULT_PROCESSES",
    "AgentView",
    "Mount",
    "Sandbox",
    "SandboxKind",
    "bwrap_argv",
    "default_sandbox_kind",
    "docker_argv",
    "program_paths",
]

DEFAULT_MEMORY_BYTES = 4 << 30
DEFAULT_PROCESSES = 512
_MIN_MEMORY_BYTES = 16 << 20
#: Where the system keeps what an agent must not see: homes, temporary files, sockets.
_TMP = Path("/tmp")  # noqa: S108 - a private tmpfs, not a file in the shared one
_PRIVATE = (Path("/home"), Path("/root"), _TMP, Path("/var/tmp"), Path("/run"))  # noqa: S108
_NAMESPACES = (
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
)
# No capability, killed with us, no terminal to inject keys into; then the system read-only.
_ISOLATION = (
    "--cap-drop",
    "ALL",
    "--die-with-parent",
    "--new-session",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
)
_DOCKER_ISOLATION = (
    "--rm",
    "-i",
    "--init",
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
)
_RESOLV = Path("/etc/resolv.conf")

#: ``(source, seen_at, writable)``: a path of ours, where the agent sees it, and how.
Mount = tuple[Path, Path, bool]


class SandboxKind(enum.StrEnum):
    """How an agent is contained: bubblewrap namespaces, a Docker container, or not at all."""

    BWRAP = "bwrap"
    DOCKER = "docker"
    NONE = "none"


def default_sandbox_kind() -> SandboxKind | None:
    """``bwrap`` where bubblewrap is installed; ``None`` where no sandbox can be assumed."""
    return SandboxKind.BWRAP if shutil.which("bwrap") else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sandbox:
    """The sandbox agents run in, and the kernel limits on each run.

    ``network=False`` gives the agent no network at all (a model API included).
    ``memory_bytes`` and ``max_processes`` bound one agent run with all it starts;
    ``read_only`` names more paths it may read (a program installed in a hidden folder).
    ``image`` is the container image of the ``docker`` sandbox.
    """

    kind: SandboxKind = SandboxKind.BWRAP
    network: bool = True
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    max_processes: int = DEFAULT_PROCESSES
    read_only: tuple[Path, ...] = ()
    image: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SandboxKind(self.kind))
        object.__setattr__(self, "read_only", tuple(Path(p) for p in self.read_only))
        problem = _first_problem(self)
        if problem:
            raise ConfigurationError(f"invalid sandbox: {problem}")

    @property
    def contained(self) -> bool:
        """Whether agents run in a sandbox at all."""
        return self.kind is not SandboxKind.NONE

    def describe(self, limits: str = "") -> str:
        """One line for the scan and the summary: which sandbox, network, limits and how."""
        if not self.contained:
            return "agents run unsandboxed (--sandbox none): as this user, seeing what it sees"
        network = "network on" if self.network else "no network"
        mib = self.memory_bytes / (1 << 20)
        bound = f"at most {self.max_processes} processes and {mib:,.0f} MiB per agent"
        through = f" ({limits})" if limits else ""
        image = f" {self.image}" if self.image else ""
        return f"agents run in the {self.kind}{image} sandbox, {network}, {bound}{through}"


def _first_problem(sandbox: Sandbox) -> str:
    checks = (
        (sandbox.memory_bytes >= _MIN_MEMORY_BYTES, "memory must be at least 16 MiB"),
        (sandbox.max_processes >= 1, "max_processes must be >= 1"),
        (sandbox.kind is not SandboxKind.DOCKER or bool(sandbox.image), "docker needs an image"),
        (all(path.is_absolute() for path in sandbox.read_only), "read_only paths must be absolute"),
    )
    return next((message for ok, message in checks if not ok), "")


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentView:
    """What one agent sees besides the read-only system, path by path.

    ``mounts`` are ``(source, seen_at, writable)``: the worktree, the issue files, the result
    folder, the mirror's objects and refs, the agent's own git folder and object folder.
    ``hidden`` are folders seen empty (our state directory); ``home`` is its private home.
    """

    worktree: Path
    home: Path
    mounts: tuple[Mount, ...]
    hidden: tuple[Path, ...]


def program_paths(argv0: str, extra: Iterable[Path] = ()) -> tuple[Path, ...]:
    """The paths an agent's program needs to start, as far as can be told from ``argv[0]``.

    The folder it is found in and the one it resolves to, the Python installation we run in
    (an agent may be a Python script, the bundled fake agent is), and ``extra``.
    """
    found = shutil.which(argv0)
    program = [Path(found).parent, Path(os.path.realpath(found)).parent] if found else []
    python = [Path(sys.prefix), Path(sys.base_prefix), *(Path(p) for p in sys.path if p)]
    wanted = [*program, *python, *extra]
    return tuple(dict.fromkeys(path for path in wanted if path.is_absolute() and path.exists()))


def bwrap_argv(
    sandbox: Sandbox, view: AgentView, argv: Sequence[str], programs: Sequence[Path]
) -> list[str]:
    """The ``bwrap`` command that runs ``argv`` in ``view``.

    The order matters: bubblewrap mounts in order, so the private folders come first, the
    programs are shown again over them, our state is hidden after that (even inside a
    program's folder) and the issue's own paths are mounted last, inside the hidden state.
    """
    network = [] if sandbox.network else ["--unshare-net"]
    return [
        "bwrap",
        *_NAMESPACES,
        *network,
        *_ISOLATION,
        *_each("--tmpfs", _private_folders(view.home)),
        *_resolver(),
        *_each("--ro-bind", programs, twice=True),
        *_each("--tmpfs", view.hidden),
        *_mounts(view),
        "--chdir",
        str(view.worktree),
        "--",
        *argv,
    ]


def docker_argv(
    sandbox: Sandbox, view: AgentView, argv: Sequence[str], *, name: str, env: Iterable[str]
) -> list[str]:
    """The ``docker run`` command that runs ``argv`` in ``view``, in a container of its image.

    Variables are named (``-e NAME``), so their values come from the client's environment and
    never appear on a command line. ``name`` names the container, to remove it afterwards.
    """
    volumes = [f"{source}:{seen}" + ("" if rw else ":ro") for source, seen, rw in view.mounts]
    limits = ["--pids-limit", str(sandbox.max_processes), "--memory", str(sandbox.memory_bytes)]
    network = [] if sandbox.network else ["--network", "none"]
    user = ["--user", f"{os.getuid()}:{os.getgid()}"]
    private = _each("--tmpfs", [_TMP, view.home])
    isolation = [*_DOCKER_ISOLATION, *limits, *network, *user, *private]
    where = ["-w", str(view.worktree)]
    return [
        "docker",
        "run",
        "--name",
        name,
        *isolation,
        *_each("-e", env),
        *_each("-v", volumes),
        *where,
        sandbox.image,
        *argv,
    ]


def _private_folders(home: Path) -> list[Path]:
    # The home is mounted even inside another private folder: it must exist, to be written.
    # A home of ``/`` (a service account's) is no folder to hide.
    return list(dict.fromkeys([*_PRIVATE, home])) if home.parent != home else list(_PRIVATE)


def _resolver() -> list[str]:
    """The resolver's configuration, shown again when it lives in a private folder.

    On many systems ``/etc/resolv.conf`` links into ``/run``: hiding ``/run`` would take the
    agent's name lookups (its model API) with it.
    """
    real = Path(os.path.realpath(_RESOLV))
    if real == _RESOLV or not real.exists():
        return []
    return ["--ro-bind", str(real), str(real)]


def _mounts(view: AgentView) -> list[str]:
    argv = []
    for source, seen_at, writable in view.mounts:
        argv += ["--bind" if writable else "--ro-bind", str(source), str(seen_at)]
    return argv


def _each(flag: str, items: Iterable[object], *, twice: bool = False) -> list[str]:
    argv = []
    for item in items:
        argv += [flag, str(item), str(item)] if twice else [flag, str(item)]
    return argv
