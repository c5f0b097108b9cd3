"""``autoissue emulator``'s options for several repositories and for webhooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue.cli import _emulator, main
from autoissue.emulator import EmulatorConfig


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[EmulatorConfig]:
    """The configurations the command would serve; serving itself blocks until a signal."""
    configs: list[EmulatorConfig] = []
    monkeypatch.setattr(_emulator, "serve", configs.append)
    return configs


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ([], ("acme/widgets",)),
        (["--repo", "octo/cat"], ("octo/cat",)),
        (["--repo", "a/b", "--repo", "c/d"], ("a/b", "c/d")),
        (["--repos", "3"], ("acme/widgets-1", "acme/widgets-2", "acme/widgets-3")),
        (["--repo", "octo/cat", "--repos", "2"], ("octo/cat-1", "octo/cat-2")),
    ],
)
def test_repo_options_name_the_repositories(
    served: list[EmulatorConfig], args: list[str], names: tuple[str, ...]
) -> None:
    result = CliRunner().invoke(main, ["emulator", *args])
    assert result.exit_code == 0, result.output
    (config,) = served
    assert config.full_names == names
    assert config.repo == names[0]


def test_files_and_webhooks_reach_the_configuration(
    served: list[EmulatorConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOISSUE_EMULATOR_WEBHOOK_SECRET", "from-env")
    args = ["--repo", "a/b", "--repo", "c/d", "--issues-file", "x.jsonl", "--issues-file", "y.csv"]
    args += ["--webhook-url", "http://127.0.0.1:9000/hook"]
    result = CliRunner().invoke(main, ["emulator", *args])
    assert result.exit_code == 0, result.output
    (config,) = served
    assert config.issues_files == (Path("x.jsonl"), Path("y.csv"))
    assert config.issues_file_of(1) == Path("y.csv")
    assert (config.webhook_url, config.webhook_secret) == ("http://127.0.0.1:9000/hook", "from-env")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repos", "2", "--repo", "a/b", "--repo", "c/d"], "--repos N numbers the repositories"),
        (["--repos", "-1"], "repos must be 1-1000"),
        (["--repo", "a/b", "--repo", "A/B"], "repos must not repeat"),
        (["--issues-file", "a.jsonl", "--issues-file", "b.jsonl"], "more issues_files than repos"),
        (["--webhook-secret", "s"], "webhook_secret needs a webhook_url"),
        (["--webhook-url", "localhost:9000"], "webhook_url must be an http(s) URL"),
    ],
)
def test_bad_combinations_are_one_line_errors(
    served: list[EmulatorConfig], args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["emulator", *args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
    assert served == []
