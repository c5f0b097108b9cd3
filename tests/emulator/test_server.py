"""Running the emulator: lifecycle, thread mode, the ``serve`` program, the command line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue import EmulatorError
from autoissue.cli import main
from autoissue.emulator import (
    Emulator,
    EmulatorConfig,
    FakeClock,
    SystemClock,
    run_in_thread,
    serve,
)

from .conftest import Start


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        loaded: dict[str, object] = json.loads(response.read())
        return loaded


def test_run_in_thread_serves_beside_the_caller(tmp_path: Path) -> None:
    config = EmulatorConfig(issues=50, data_dir=tmp_path / "data")
    with run_in_thread(config) as emulator:
        issue = _get(f"{emulator.base_url}/repos/acme/widgets/issues/3")
        assert issue["number"] == 3
        assert emulator.stats()["requests_total"] == 1
        assert len(emulator.state()["repos"][0]["issues"]) == 50
        url = emulator.base_url
    assert (tmp_path / "data" / "widgets.git").is_dir()  # a given data_dir is kept
    with pytest.raises(OSError, match="refused"):
        _get(f"{url}/user")


async def test_lifecycle_errors_and_temp_dir_cleanup(start: Start) -> None:
    emulator = Emulator(EmulatorConfig(issues=5), clock=FakeClock())
    with pytest.raises(EmulatorError, match="not running"):
        _ = emulator.base_url
    async with emulator:
        clone = Path(emulator.state()["repos"][0]["clone_url"])
        assert await asyncio.to_thread(clone.is_dir)
        assert repr(emulator).startswith("Emulator(acme/widgets, http://127.0.0.1:")
        with pytest.raises(EmulatorError, match="already running"):
            await emulator.start()
    assert not await asyncio.to_thread(clone.exists)
    assert repr(emulator) == "Emulator(acme/widgets, not started)"
    await emulator.close()  # closing twice is harmless


async def test_a_busy_port_is_an_emulator_error(start: Start) -> None:
    first = await start()
    port = int(first.base_url.rsplit(":", 1)[1])
    with pytest.raises(EmulatorError, match="cannot listen"):
        await start(port=port)


def test_clocks_describe_themselves() -> None:
    assert repr(SystemClock()) == "SystemClock()"
    assert SystemClock().time() > 1_600_000_000
    assert repr(FakeClock(start=5.0)) == "FakeClock(now=5.0, sleeps=0)"


def test_serve_prints_its_url_and_stops_on_sigint(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "autoissue",
        "emulator",
        "--port",
        "0",
        "--issues",
        "20",
        "--seed",
        "3",
        "--data-dir",
        str(tmp_path),
    ]
    env = os.environ | {"COVERAGE_PROCESS_START": ""}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        assert _get(f"{url}/repos/acme/widgets")["full_name"] == "acme/widgets"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "abc"], "Invalid value for '--port'"),
        (["--faults", "2"], "faults must be between 0 and 1"),
        (["--limits", "gitlab"], "Invalid value for '--limits'"),
        (["--repo", "noslash"], "repo must be OWNER/NAME"),
        (["--time-scale", "0"], "time_scale must be > 0"),
    ],
)
def test_cli_rejects_bad_values_in_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["emulator", *args])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_reports_a_busy_port(tmp_path: Path) -> None:
    with run_in_thread(EmulatorConfig(issues=1)) as emulator:
        port = emulator.base_url.rsplit(":", 1)[1]
        result = CliRunner().invoke(main, ["emulator", "--port", port, "--token", "a"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot listen on 127.0.0.1:")


class _Announced(io.StringIO):
    """Stdout that tells a waiting thread when the listening line arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = threading.Event()

    def write(self, text: str) -> int:
        if text.startswith("listening on "):
            self.ready.set()
        return super().write(text)


def test_serve_in_process_until_sigterm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = _Announced()
    monkeypatch.setattr(sys, "stdout", out)

    def stop_when_ready() -> None:
        if out.ready.wait(30):
            url = out.getvalue().split()[-1]
            assert _get(f"{url}/repos/acme/widgets/issues/1")["number"] == 1
        os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=stop_when_ready)
    helper.start()
    serve(EmulatorConfig(issues=10, data_dir=tmp_path))
    helper.join()
    assert out.getvalue().startswith("listening on http://127.0.0.1:")
    assert out.getvalue().count("\n") == 1


class Heard(logging.Handler):
    """Keeps every record, and says when one containing ``words`` arrives (from any thread)."""

    def __init__(self, words: str) -> None:
        super().__init__(logging.DEBUG)
        self.words, self.records, self.arrived = words, [], threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.words in record.getMessage():
            self.arrived.set()


def test_a_client_that_hangs_up_mid_body_is_no_server_error() -> None:
    # A run SIGKILLed while it sent a label: half a body, then a reset connection.
    heard = Heard("hung up")
    root = logging.getLogger()
    level, root.level = root.level, logging.DEBUG
    root.addHandler(heard)
    try:
        with run_in_thread(EmulatorConfig(issues=3)) as emulator:
            host, port = emulator.base_url.removeprefix("http://").rsplit(":", 1)
            sock = socket.create_connection((host, int(port)))
            sock.sendall(
                b"POST /repos/acme/widgets/issues/1/labels HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: token t\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"labels": ['
            )
            # SO_LINGER 0: close() sends a reset, as a killed process's kernel does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            assert heard.arrived.wait(timeout=10)
            issue = _get(f"{emulator.base_url}/repos/acme/widgets/issues/1")
    finally:
        root.removeHandler(heard)
        root.level = level
    messages = [record.getMessage() for record in heard.records]
    assert not [m for m in messages if "Error handling request" in m]
    assert issue["number"] == 1
