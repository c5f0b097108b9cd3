"""The size gate of ``scripts/check``: long bodies and lines that opt out of the formatter fail."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

GATE = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "function_size.py"))


def write(folder: Path, source: str) -> Path:
    (folder / "module.py").write_text(source, encoding="utf-8")
    return folder


def test_a_body_of_twenty_lines_passes_and_one_more_fails(tmp_path: Path) -> None:
    body = "".join(f"    x{n} = {n}\n" for n in range(20))
    assert GATE["offenders"](write(tmp_path, f'def f():\n    """Doc."""\n{body}')) == []
    (found,) = GATE["offenders"](write(tmp_path, f"def f():\n{body}    return 1\n"))
    assert found.endswith("f has 21 lines")


@pytest.mark.parametrize("marker", ["# fmt: skip", "# fmt: off"])
def test_a_line_that_opts_out_of_the_formatter_fails(tmp_path: Path, marker: str) -> None:
    (found,) = GATE["offenders"](write(tmp_path, f"def f():\n    a = 1; b = 2  {marker}\n"))
    assert found.endswith(f"module.py:2: opts out of the formatter ({marker[2:]})")


def test_the_source_tree_passes() -> None:
    assert GATE["offenders"](Path(__file__).parents[1] / "src") == []
