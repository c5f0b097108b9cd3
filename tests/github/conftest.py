from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.github._scripted import ScriptedServer


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    await scripted.start()
    yield scripted
    await scripted.close()
