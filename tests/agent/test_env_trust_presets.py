from __future__ import annotations

import base64
import pickle
from pathlib import Path

import pytest

from autoissue import (
    AgentError,
    AgentTimeoutError,
    AutoIssueError,
    ConfigurationError,
    GitCommandError,
    TrustViolationError,
)
from autoissue.agent import (
    PRESETS,
    CommandConfig,
    TrustPolicy,
    branch_name,
    expand_argv,
    git_env,
    preset_argv,
    scrubbed_env,
)
from autoissue.agent._env import BASE_ENV
from autoissue.agent._trust import glob_match

SOURCE = {
    "PATH": "/bin",
    "HOME": "/h",
    "GITHUB_TOKEN": "ghp_x",
    "GH_TOKEN": "y",
    "ANTHROPIC_API_KEY": "k",
    "GIT_DIR": "/elsewhere",
    "LANG": "C.UTF-8",
}


def test_scrubbed_env_keeps_only_the_base_names() -> None:
    env = scrubbed_env(SOURCE)
    assert env == {"PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8"}
    assert set(env) <= set(BASE_ENV)


def test_scrubbed_env_passes_named_variables_and_extras() -> None:
    env = scrubbed_env(SOURCE, passthrough=["ANTHROPIC_API_KEY", "ABSENT"], extra={"X": "1"})
    assert env["ANTHROPIC_API_KEY"] == "k"
    assert env["X"] == "1"
    assert "ABSENT" not in env
    assert "GITHUB_TOKEN" not in env


def test_git_env_carries_the_token_as_a_header_only() -> None:
    env = git_env(SOURCE, author=("bot", "bot@example.invalid"), token="s3cret")
    assert "GITHUB_TOKEN" not in env
    assert "GIT_DIR" not in env
    assert env["GIT_AUTHOR_NAME"] == "bot"
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    encoded = env["GIT_CONFIG_VALUE_0"].removeprefix("Authorization: Basic ")
    assert base64.b64decode(encoded) == b"x-access-token:s3cret"
    assert not any("s3cret" in value for value in env.values())


def test_git_env_without_a_token_sets_no_header() -> None:
    env = git_env(SOURCE, author=("bot", "bot@example.invalid"))
    assert "GIT_CONFIG_COUNT" not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("src/a.py", "**", True),
        ("src/a.py", "src/*.py", True),
        ("src/sub/a.py", "src/*.py", False),
        ("src/sub/a.py", "src/**/*.py", True),
        ("src/a.py", "src/**/*.py", True),
        ("docs/a.md", "docs/**", True),
        ("a.py", "?.py", True),
        ("ab.py", "?.py", False),
        (".github/workflows/ci.yml", ".github/workflows/**", True),
        ("src/a+b.py", "src/a+b.py", True),
        ("srcXa.py", "src.a.py", False),
    ],
)
def test_glob_match(path: str, pattern: str, expected: bool) -> None:
    assert glob_match(path, pattern) is expected


def test_labels_must_be_on_the_allowlist_in_any_case() -> None:
    policy = TrustPolicy(allowed_labels=frozenset({"bug", "Needs-Info"}))
    policy.check_labels(["BUG", "needs-info"])
    with pytest.raises(TrustViolationError, match="admin, merge-now"):
        policy.check_labels(["bug", "merge-now", "admin"])
    with pytest.raises(TrustViolationError):
        TrustPolicy().check_labels(["bug"])


def test_paths_must_be_allowed_and_not_denied() -> None:
    policy = TrustPolicy(allowed_paths=("src/**", "docs/*.md", ".github/**"))
    policy.check_paths(["src/x/y.py", "docs/a.md"])
    with pytest.raises(TrustViolationError, match="1 changed path"):
        policy.check_paths(["src/a.py", "setup.py"])
    with pytest.raises(TrustViolationError, match="workflows"):
        policy.check_paths([".github/workflows/ci.yml"])
    with pytest.raises(TrustViolationError, match=r"7 changed path\(s\).* …"):
        policy.check_paths([f"x{i}" for i in range(7)])


def test_diff_size_cap() -> None:
    policy = TrustPolicy(max_diff_bytes=100)
    policy.check_diff_size(100)
    with pytest.raises(TrustViolationError, match="100 byte cap"):
        policy.check_diff_size(101)
    with pytest.raises(ConfigurationError):
        TrustPolicy(max_diff_bytes=0)


def test_errors_form_one_tree_and_pickle() -> None:
    for kind in (AgentError, AgentTimeoutError, TrustViolationError, GitCommandError):
        error = kind("why")
        assert isinstance(error, AutoIssueError)
        assert isinstance(error, AgentError)
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is kind
        assert str(again) == "why"
    assert issubclass(AgentTimeoutError, TimeoutError)


def test_presets() -> None:
    assert set(PRESETS) == {"claude", "aider", "codex", "fake"}
    assert preset_argv("claude")[:2] == ("claude", "-p")
    assert preset_argv("aider")[-1] == "{prompt_file}"
    assert preset_argv("fake", "--fail-rate", "0")[-2:] == ("--fail-rate", "0")
    with pytest.raises(ConfigurationError, match="unknown agent preset 'nope'"):
        preset_argv("nope")


def test_expand_argv_replaces_only_placeholders() -> None:
    argv = ("agent", "--file={issue_file}", "{number}", "{not_a_placeholder} {0}")
    values = {"{issue_file}": "/w/issue.json", "{number}": "7"}
    assert expand_argv(argv, values) == [
        "agent",
        "--file=/w/issue.json",
        "7",
        "{not_a_placeholder} {0}",
    ]


@pytest.mark.parametrize("name", ["command", "fix-bugs", "a", "x1"])
def test_branch_names(name: str) -> None:
    assert branch_name(name, 12) == f"autoissue/{name}/issue-12"


@pytest.mark.parametrize("name", ["", "Command", "a/b", "-x", "x-", "a b", "..", "a" * 41, "$(x)"])
def test_branch_names_refuse_unsafe_processor_names(name: str) -> None:
    with pytest.raises(ConfigurationError, match="processor name"):
        branch_name(name, 1)


def test_branch_names_refuse_non_positive_numbers() -> None:
    with pytest.raises(ConfigurationError, match="positive"):
        branch_name("command", 0)


def test_command_config_from_a_preset_hides_the_token() -> None:
    config = CommandConfig.preset("fake", "--sleep-min", "0", git_token="s3cret", name="bench")
    assert config.argv[-2:] == ("--sleep-min", "0")
    assert config.name == "bench"
    assert "s3cret" not in repr(config)
    assert config.state_dir == Path(".autoissue")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"argv": ()}, "argv"),
        ({"argv": ("x", "")}, "argv"),
        ({"argv": ("x",), "timeout_s": 0}, "timeout_s"),
        ({"argv": ("x",), "timeout_s": float("nan")}, "timeout_s"),
        ({"argv": ("x",), "kill_grace_s": -1}, "kill_grace_s"),
        ({"argv": ("x",), "max_agents": 0}, "max_agents"),
        ({"argv": ("x",), "output_limit": 0}, "output_limit"),
        ({"argv": ("x",), "env": {"GIT_DIR": "/x", "autoissue_repo": "y"}}, "GIT_DIR"),
        ({"argv": ("x",), "name": "Bad Name"}, "processor name"),
    ],
)
def test_command_config_validation(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CommandConfig(**options)  # type: ignore[arg-type]
