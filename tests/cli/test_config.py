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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("concurency = 3\n", "did you mean 'concurrency'? known: "),
        ("[run]\nrepos = 'a/b'\n", "[run] has no setting 'repos' (did you mean 'repo'? known: "),
        ("[run]\nconcurrency = 'lots'\n", "autoissue.toml: [run] concurrency = 'lots': "),
        ("max_issues = 0\n", "autoissue.toml: max_issues = 0: 0 is not in the range"),
        ("[run]\npriority = 'urgent'\n", "[run] priorities = ['urgent']"),
    ],
)
def test_a_bad_setting_names_its_key_and_the_known_ones(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "autoissue.toml").write_text(text.replace("priority =", "priorities ="))
    code, output = invoke(["run", "--repo", "a/b"], tmp_path)
    assert code != 0
    assert message in output
    assert "--" not in output.splitlines()[-1]  # the key in the file, not a flag


def test_one_value_where_several_may_go_is_taken_as_a_list(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "autoissue.toml").write_text(
        f'base_url = "{fresh_emulator.base_url}"\n[run]\npriorities = "critical"\nquiet = true\n'
    )
    code, output = invoke(["run", "--repo", "acme/widgets", "--dry-run"], tmp_path)
    assert code == 0, output
    assert "priority high not targeted" in output
    assert "priority critical not targeted" not in output


def test_a_misspelled_environment_variable_is_named_with_the_nearest(tmp_path: Path) -> None:
    env = {"AUTOISSUE_RUN_CONCURENCY": "3", "AUTOISSUE_REPO": "a/b"}  # the second: an agent's
    code, output = invoke(["run", "--repo", "a/b", "--concurrency", "0"], tmp_path, env)
    assert code != 0
    assert (
        "warning: AUTOISSUE_RUN_CONCURENCY is not an option of autoissue and is ignored "
        "(did you mean AUTOISSUE_RUN_CONCURRENCY?)"
    ) in output
    assert "AUTOISSUE_REPO" not in output


def test_a_processors_settings_come_from_its_table_and_option_flags_win(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "autoissue.toml").write_text(
        f'base_url = "{fresh_emulator.base_url}"\n[run]\nquiet = true\n'
        '[processor.stale]\ndays_before_stale = 100000\ndays_before_close = "never"\n'
        'stale_label = "sleepy"\n'
    )
    args = ["run", "--repo", "acme/widgets", "--processor", "stale", "--dry-run"]
    plans = tmp_path / "plans.jsonl"
    code, output = invoke([*args, "--plan-out", str(plans)], tmp_path)
    assert code == 0, output
    assert b"sleepy" not in plans.read_bytes()  # nothing is 100,000 days old
    code, output = invoke(
        [*args, "--plan-out", str(plans), "--option", "stale.days_before_stale=0"], tmp_path
    )
    assert code == 0, output
    assert b"sleepy" in plans.read_bytes()  # the flag won: every open issue is stale now


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--option", "stale.days_befor_stale=3"],
            "processor stale has no option 'days_befor_stale'",
        ),
        (["--option", "stale.days_before_stale=soon"], "expected a number, got 'soon'"),
        (["--option", "triage.x=1"], "triage is not a processor of this command"),
        (["--option", "nodot=1"], "must look like NAME.KEY=VALUE"),
    ],
)
def test_a_bad_processor_setting_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = invoke(["run", "--repo", "a/b", "--processor", "stale", *args], tmp_path)
    assert code == 1
    assert message in output
    assert "Traceback" not in output


def test_a_processor_table_that_is_not_a_table_is_named(tmp_path: Path) -> None:
    (tmp_path / "autoissue.toml").write_text("[processor]\nstale = 3\n")
    code, output = invoke(["run", "--repo", "a/b"], tmp_path)
    assert code == 1
    assert "processor.stale must be a table" in output
