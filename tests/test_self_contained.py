"""The repository stands alone: nothing in it reads a folder beside the checkout."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A path that climbs out of the checkout to a sibling folder: "../shared" or parents[3] / "shared".
OUTSIDE = re.compile(r"\.\./shared|parents\[\d+\]\s*/\s*[\"']shared[\"']")


def _sources() -> list[Path]:
    folders = ("src", "tests", "scripts", ".ci")
    return [
        p for f in folders for p in (ROOT / f).rglob("*") if p.suffix in {".py", ""} and p.is_file()
    ]


def test_no_source_reads_a_folder_beside_the_checkout() -> None:
    this = Path(__file__).resolve()
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources()
        if p.resolve() != this and OUTSIDE.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_the_vendored_fixtures_carry_their_licence() -> None:
    fixtures = ROOT / "tests" / "fixtures" / "octokit"
    assert "Licensed as MIT" in (fixtures / "LICENSE.md").read_text(encoding="utf-8")
    assert list(fixtures.glob("*.json"))
