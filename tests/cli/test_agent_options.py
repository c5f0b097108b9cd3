"""The command processor's options on the command line, and the one-line errors around them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue import BackendUnavailableError, ConfigurationError
from autoissue.cli import main
from autoissue.cli._agent_options import processor_options
from autoissue.cli._errors import describe
from autoissue.emulator import Emulator
from autoissue.model import Plan, encode_plan

GITHUB = "https://api.github.com"
NO_AGENT = {
    "agent": None,
    "agent_args": (),
    "agent_timeout": None,
    "max_agents": None,
    "agent_pass_env": (),
    "pr_labels": (),
    "draft": False,
    "allowed_labels": (),
    "allowed_paths": (),
}


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        (GITHUB, False),
        ("https://github.example.com/api/v3", False),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:9", True),
        ("http://[::1]:9", True),
    ],
)
def test_the_fake_agent_is_never_the_silent_default_against_a_real_server(
    tmp_path: Path, base_url: str, allowed: bool
) -> None:
    if allowed:
        built = processor_options("command", NO_AGENT, "t", tmp_path, base_url=base_url)
        assert built["preset"] == "fake"
        return
    with pytest.raises(ConfigurationError, match="needs --agent PRESET or --agent-arg"):
        processor_options("command", NO_AGENT, "t", tmp_path, base_url=base_url)
    chosen = processor_options(
        "command", {**NO_AGENT, "agent": "fake"}, "t", tmp_path, base_url=base_url
    )
    assert chosen["preset"] == "fake"  # asked for by name, it runs anywhere


def test_run_refuses_the_command_processor_without_an_agent_against_github() -> None:
    result = CliRunner().invoke(
        main, ["run", "--repo", "a/b", "--processor", "command"], env={"GITHUB_TOKEN": "t"}
    )
    assert result.exit_code == 1
    assert "--processor command needs --agent PRESET" in result.output


def test_agent_options_name_their_flag_when_given_to_another_processor() -> None:
    result = CliRunner().invoke(
        main, ["run", "--repo", "a/b", "--pr-label", "bot"], env={"GITHUB_TOKEN": "t"}
    )
    assert result.exit_code != 0
    assert "--pr-label is for --processor command only" in result.output


def test_the_command_processor_gets_its_options(tmp_path: Path) -> None:
    options = {
        **NO_AGENT,
        "agent": "claude",
        "agent_timeout": 90.0,
        "allowed_paths": ("src/**",),
        "max_agents": 3,
    }
    built = processor_options("command", options, "t0k3n", tmp_path, base_url=GITHUB)
    assert built["preset"] == "claude"
    assert built["timeout_s"] == 90.0
    assert built["max_agents"] == 3
    assert built["trust"].allowed_paths == ("src/**",)
    assert built["git_token"] == "t0k3n"
    assert processor_options("triage", NO_AGENT, "t0k3n", tmp_path, base_url=GITHUB) == {}
    argv_only = processor_options(
        "command", {**NO_AGENT, "agent_args": ("x",)}, None, tmp_path, base_url=GITHUB
    )
    assert argv_only["preset"] == ""
    assert "max_agents" not in argv_only  # the configuration's default (8) holds


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (BackendUnavailableError("redis://h: refused"), "the backend is unavailable: redis://h"),
        (ConfigurationError("bad value"), "bad value"),
    ],
)
def test_errors_read_as_one_plain_line(error: Exception, line: str) -> None:
    assert describe(error).startswith(line)  # type: ignore[arg-type]


def test_apply_exits_non_zero_when_a_plan_fails(fresh_emulator: Emulator, tmp_path: Path) -> None:
    plans = tmp_path / "plans.jsonl"
    plan = Plan("triage", "acme/widgets", 999_999, "2026-01-01T00:00:00Z")  # no such issue
    plans.write_bytes(encode_plan(plan) + b"\n")
    args = [
        "apply",
        str(plans),
        "--base-url",
        fresh_emulator.base_url,
        "--backend",
        f"sqlite:///{tmp_path / 'state.db'}",
        "--json",
    ]
    result = CliRunner().invoke(main, args, env={"GITHUB_TOKEN": "t0ken"})
    assert result.exit_code == 1
    assert json.loads(result.output)["failed"] == 1
