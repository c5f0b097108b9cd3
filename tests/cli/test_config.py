"""autoissue.toml and AUTOISSUE_* variables: defaults under the flags, every bad value named."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue.cli import main
from autoissue.emulator import Emulator


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ./autoissue.toml is read when present: run where none is, unless a test writes one.
    monkeypatch.chdir(tmp_path)


def invoke(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    assert Path.cwd() == cwd
    result = CliRunner().invoke(main, args, env={"GITHUB_TOKEN": "t0ken", **(env or {})})
    return result.exit_code, result.output


def test_autoissue_toml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "autoissue.toml").write_text("[run]\nconcurrency = 0\n", encoding="utf-8")
    code, output = invoke(["run", "--repo", "a/b"], tmp_path)
    assert code != 0
    assert "0 is not in the range" in output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("concurency = 3\n", "autoissue.toml: unknown setting 'concurency'"),
        ("[rn]\nx = 1\n", "no command [rn]"),
        ("[run]\nrepos = 'a/b'\n", "[run] has no setting 'repos'"),
        ("x = [\n", "is not valid TOML"),
        ("[run]\nconcurrency = 'lots'\n", "'lots' is not a valid integer range"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "autoissue.toml"
    config.write_text(text, encoding="utf-8")
    code, output = invoke(["--config", str(config), "run", "--repo", "a/b"], tmp_path)
    assert code != 0
    assert message in output


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    code, output = invoke(["--config", str(tmp_path / "nope.toml"), "run"], tmp_path)
    assert code != 0
    assert "cannot read" in output


def test_settings_come_from_the_file_and_flags_win(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(
        f'base_url = "{fresh_emulator.base_url}"\n[run]\nrepo = "acme/widgets"\nquiet = true\n'
        f'state_dir = "{tmp_path / "state"}"\nconcurrency = 4\n',
        encoding="utf-8",
    )
    code, output = invoke(["--config", str(config), "run", "--dry-run"], tmp_path)
    assert code == 0, output
    assert "listed" in output
    code, output = invoke(["--config", str(config), "run", "--repo", "acme/nope"], tmp_path)
    assert code != 0  # the flag won over the file: that repository does not exist
    assert "acme/nope" in output


def test_environment_variables_set_options(tmp_path: Path) -> None:
    env = {"AUTOISSUE_RUN_CONCURRENCY": "0"}
    code, output = invoke(["run", "--repo", "a/b"], tmp_path, env)
    assert code != 0
    assert "0 is not in the range" in output
