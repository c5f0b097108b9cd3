"""``autoissue serve`` as the ``live`` workload runs it: a process of its own, asked and stopped.

:class:`ServeProcess` starts the real command line with its defaults (SQLite in its own state
directory, the ``triage`` processor), reads its ``GET /healthz`` and stops it with SIGTERM, as
an operator does. :func:`login_of` asks the emulator who a token is.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

from autoissue.bench._contenders import TOKEN

__all__ = ["Health", "ServeProcess", "free_port", "login_of"]

#: What ``serve``'s ``GET /healthz`` answers.
Health = dict[str, Any]


def free_port() -> int:
    """A port free on loopback just now, for ``serve`` (the emulator must know it first)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServeProcess:
    """``autoissue serve`` in a process of its own: started, asked how it is, stopped.

    It serves ``repos`` from the emulator at ``base_url`` on loopback ``port``, with the
    webhook ``secret``; its state directory, secret file and output live in ``folder``.
    """

    def __init__(
        self, base_url: str, repos: tuple[str, ...], *, folder: Path, port: int, secret: str
    ) -> None:
        self.base_url, self.repos, self.folder, self.port = base_url, repos, folder, port
        self._secret = secret
        self._process: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []

    def __repr__(self) -> str:
        return f"<ServeProcess port={self.port} running={self.running}>"

    @property
    def backend(self) -> str:
        """Where its queue is: ``serve``'s default, ``STATE_DIR/state.db``."""
        return f"sqlite:///{self.folder / 'state' / 'state.db'}"

    def argv(self) -> list[str]:
        """The command line: ``serve`` with its defaults, every repository, the secret file."""
        secret = self.folder / "webhook.secret"
        secret.write_text(self._secret + "\n", encoding="utf-8")
        return [
            *(sys.executable, "-m", "autoissue", "--config", os.devnull, "serve"),
            *("--base-url", self.base_url, "--port", str(self.port)),
            *(arg for repo in self.repos for arg in ("--repo", repo)),
            *("--webhook-secret-file", str(secret), "--state-dir", str(self.folder / "state")),
        ]

    def start(self) -> None:
        """Start it, its output to ``serve.out`` and ``serve.err`` in the folder."""
        self._logs = [(self.folder / name).open("wb") for name in ("serve.out", "serve.err")]
        env = {**os.environ, "GITHUB_TOKEN": TOKEN}
        self._process = subprocess.Popen(
            self.argv(), env=env, stdout=self._logs[0], stderr=self._logs[1]
        )

    @property
    def running(self) -> bool:
        """Whether its process is alive."""
        return self._process is not None and self._process.poll() is None

    def health(self) -> Health | None:
        """What ``GET /healthz`` answers, or ``None`` while it does not answer 200."""
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                found: Health = json.load(answer)
                return found
        except OSError:
            return None

    def stop(self) -> int | None:
        """SIGTERM, as an operator stops it; its exit status (``None``: never started)."""
        if self._process is None:
            return None
        if self.running:
            self._process.send_signal(signal.SIGTERM)
        try:
            code = self._process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        for log in self._logs:
            log.close()
        return code

    def last_error(self) -> str:
        """The last line ``serve`` wrote to its standard error."""
        lines = (self.folder / "serve.err").read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"


def login_of(base_url: str, token: str, attempts: int = 10) -> str:
    """The emulator's login for ``token`` (``GET /user``; its 1% faults are tried again)."""
    request = urllib.request.Request(  # noqa: S310 - the loopback emulator the bench started
        f"{base_url}/user", headers={"Authorization": f"token {token}"}
    )
    for _ in range(attempts - 1):
        try:
            return _login(request)
        except OSError:
            time.sleep(0.05)
    return _login(request)


def _login(request: urllib.request.Request) -> str:
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        login: str = json.load(answer)["login"]
        return login
