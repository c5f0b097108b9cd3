"""``autoissue serve`` end to end: the emulator's signed webhooks in, labels out, kills survived."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from autoissue.cli import main
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from tests.serve.conftest import named

ROOT = Path(__file__).resolve().parents[2]
REPOS = ("acme/alpha", "acme/beta")
SECRET = "a webhook secret"
TOKEN = "t0k3n"
#: Someone else opens the issues: what the token's own user does is an echo, and ignored.
REPORTER = "r3p0rt3r"
BUG = "Traceback: the app crashes with an error"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def setting(tmp_path: Path) -> Iterator[tuple[Emulator, int, Path]]:
    port = free_port()
    config = EmulatorConfig(
        repos=REPOS,
        issues=20,
        webhook_url=f"http://127.0.0.1:{port}/webhook",
        webhook_secret=SECRET,
    )
    (tmp_path / "secret").write_text(SECRET + "\n", encoding="utf-8")
    with run_in_thread(config) as emulator:
        yield emulator, port, tmp_path


def serve(emulator: Emulator, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "autoissue", "serve", "--base-url", emulator.base_url]
    argv += [arg for repo in REPOS for arg in ("--repo", repo)]
    argv += ["--port", str(port), "--webhook-secret-file", str(tmp_path / "secret")]
    argv += ["--state-dir", str(tmp_path / "state"), "--reconcile", "600"]
    env = {**os.environ, "GITHUB_TOKEN": TOKEN}
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_until(condition: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def create_issue(emulator: Emulator, repo: str, title: str) -> int:
    request = urllib.request.Request(
        f"{emulator.base_url}/repos/{repo}/issues",
        data=json.dumps({"title": f"Crash: {title}", "body": BUG}).encode(),
        headers={"Authorization": f"token {REPORTER}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        number: int = json.load(answer)["number"]
        return number


def labels(emulator: Emulator, repo: str, number: int) -> list[str]:
    [served] = [r for r in emulator.state()["repos"] if r["full_name"] == repo]
    [item] = [i for i in served["issues"] if i["number"] == number]
    return list(item["labels"])


def labelled(emulator: Emulator, created: list[tuple[str, int]]) -> bool:
    return all("bug" in labels(emulator, repo, number) for repo, number in created)


def stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return err.decode()


@pytest.mark.timeout(240)
def test_new_issues_are_labelled_as_they_arrive_and_a_kill_loses_none(
    setting: tuple[Emulator, int, Path],
) -> None:
    emulator, port, tmp_path = setting
    first = serve(emulator, port, tmp_path)
    try:
        wait_until(lambda: healthy(port))
        created = [(repo, create_issue(emulator, repo, "TypeError on save")) for repo in REPOS]
        wait_until(lambda: labelled(emulator, created))
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    # While nothing listens, more issues arrive: their deliveries fail.
    missed = [(repo, create_issue(emulator, repo, "KeyError on load")) for repo in REPOS]
    second = serve(emulator, port, tmp_path)
    try:
        wait_until(lambda: labelled(emulator, created + missed))
    finally:
        err = stop(second)
    stats = emulator.stats()
    assert stats["duplicate_writes"] == 0
    assert stats["redundant_writes"] == 0
    assert "listening for webhooks on http://127.0.0.1:" in err
    assert SECRET not in err


def scrape(port: int) -> tuple[set[str], dict[str, float]]:
    """``GET /metrics`` on the webhook port: the family names, and the samples by name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    assert TOKEN not in text
    assert SECRET not in text
    families = list(text_string_to_metric_families(text))
    samples = {named(s.name, s.labels): s.value for family in families for s in family.samples}
    return {family.name for family in families}, samples


def swept_and_delivered(port: int) -> bool:
    """Every repository swept once, and a delivery accepted: the receiver's figures moved."""
    _, samples = scrape(port)
    sweeps = [samples.get(f'autoissue_sweeps_total{{repo="{repo}"}}', 0) for repo in REPOS]
    return min(sweeps) >= 1 and samples[f'{DELIVERIES}{{outcome="accepted"}}'] >= 1


DELIVERIES = "autoissue_webhook_deliveries_total"

#: A worker's families, as ``autoissue worker --metrics-port`` serves them.
WORKER_FAMILIES = {
    "autoissue_run_info",
    "autoissue_issues_processed",
    "autoissue_concurrency_limit",
    "autoissue_issue_latency_seconds",
    "autoissue_github_requests",
    "autoissue_github_rate_limit_mode",
    "autoissue_queue_depth",
    "autoissue_queue_acked",
}


@pytest.mark.timeout(120)
def test_serve_answers_metrics_on_its_webhook_port(setting: tuple[Emulator, int, Path]) -> None:
    emulator, port, tmp_path = setting
    process = serve(emulator, port, tmp_path)
    try:
        wait_until(lambda: healthy(port))
        created = [(REPOS[0], create_issue(emulator, REPOS[0], "TypeError on save"))]
        wait_until(lambda: labelled(emulator, created))
        wait_until(lambda: swept_and_delivered(port))
        families, samples = scrape(port)
    finally:
        stop(process)
    assert families >= WORKER_FAMILIES
    assert samples['autoissue_run_info{processor="triage"}'] == 1
    assert samples["autoissue_issues_processed_total"] >= 1
    assert samples["autoissue_webhook_deliveries_received_total"] >= 1
    assert samples[f'{DELIVERIES}{{outcome="rejected"}}'] == 0


def test_the_secret_file_must_hold_a_secret(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["serve", "--webhook-secret-file", str(empty)], env={"GITHUB_TOKEN": "t"}
    )
    assert result.exit_code != 0
    assert "is empty" in result.output
    missing = CliRunner().invoke(
        main,
        ["serve", "--webhook-secret-file", str(tmp_path / "nope")],
        env={"GITHUB_TOKEN": "t"},
    )
    assert "cannot read the webhook secret file" in missing.output


def test_a_malformed_repository_is_refused_before_anything_starts(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["serve", "--webhook-secret-file", str(secret), "--repo", "not a repo"],
        env={"GITHUB_TOKEN": "t"},
    )
    assert result.exit_code != 0
    assert "OWNER/NAME" in result.output
