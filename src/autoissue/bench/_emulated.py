"""The emulator as the benchmarks use it: a separate process, reset between contenders."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from types import TracebackType
from typing import Any

from autoissue._exceptions import EmulatorError


class EmulatorProcess:
    """``autoissue emulator`` in a subprocess; ``with`` starts it and stops it."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def __repr__(self) -> str:
        return f"<EmulatorProcess {self.base_url or 'not started'}>"

    def __enter__(self) -> EmulatorProcess:
        argv = [sys.executable, "-m", "autoissue", "emulator", "--port", "0"]
        for name, value in self.options.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        self._process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None  # noqa: S101 - asked for a pipe above
        line = self._process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.__exit__(None, None, None)
            raise EmulatorError(f"the emulator did not start: {line!r}")
        self.base_url = line.removeprefix("listening on ")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            if self._process.stdout is not None:
                self._process.stdout.close()

    def admin(self, what: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
        """Call the admin API: ``state``, ``stats``, ``reset``, ``config``."""
        return admin_call(self.base_url, what, method, body)


def admin_call(
    base_url: str, what: str, method: str = "GET", body: dict[str, Any] | None = None
) -> Any:
    """Call the admin API of the emulator at ``base_url`` (blocking; JSON in, JSON out)."""
    data = None if body is None else json.dumps(body).encode()
    url = f"{base_url}/_emulator/{what}"  # always a loopback emulator the bench started
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
        return json.load(answer)
