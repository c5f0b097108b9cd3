from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One emulator for the module, reset to its seeded state before each use."""
    with run_in_thread(EmulatorConfig(repo="acme/widgets", issues=300, seed=3)) as running:
        yield running


@pytest.fixture
def fresh_emulator(emulator: Emulator) -> Emulator:
    request = urllib.request.Request(emulator.base_url + "/_emulator/reset", method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    return emulator
