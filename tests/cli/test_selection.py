"""What a run takes from the listing: labels and locks that keep an issue out, or not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autoissue.cli._processor_settings import parse_flags
from autoissue.emulator import Emulator
from tests.cli.test_run import invoke


def _skipped(emulator: Emulator, state_dir: Path, *extra: str) -> dict[str, int]:
    args = ["run", "--repo", "acme/widgets", "--base-url", emulator.base_url, "--dry-run"]
    result = invoke([*args, "--quiet", "--state-dir", str(state_dir), *extra])
    assert result.exit_code == 0, result.output
    (saved,) = (state_dir / "runs").glob("*.json")
    summary: dict[str, Any] = json.loads(saved.read_text())
    skipped: dict[str, int] = summary["skipped"]
    return skipped


def test_the_default_skip_labels_and_locks_can_be_changed(
    emulator: Emulator, tmp_path: Path
) -> None:
    defaults = _skipped(emulator, tmp_path / "a")
    assert defaults.get("locked", 0) > 0
    assert any(reason.startswith("label ") for reason in defaults)
    everything = _skipped(emulator, tmp_path / "b", "--no-skip-labels", "--include-locked")
    assert "locked" not in everything
    assert not any(reason.startswith("label ") for reason in everything)
    only_wontfix = _skipped(emulator, tmp_path / "c", "--skip-label", "wontfix")
    assert {r for r in only_wontfix if r.startswith("label ")} == {"label wontfix"}


def test_skipping_some_labels_and_none_at_once_is_refused(tmp_path: Path) -> None:
    result = invoke(["run", "--repo", "a/b", "--no-skip-labels", "--skip-label", "x"])
    assert result.exit_code == 2
    assert "contradict" in result.output


def test_an_option_flag_may_name_a_processor_by_its_import_path() -> None:
    flags = ["pkg.mod:Factory.rounds=3", "stale.days_before_stale=9"]
    assert parse_flags(flags) == {
        "pkg.mod:Factory": {"rounds": "3"},
        "stale": {"days_before_stale": "9"},
    }
