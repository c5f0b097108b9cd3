"""A GitHub REST emulator: seeded issues, pagination, ETags, rate limits, latency and faults.

Real clients (PyGithub, githubkit, aiohttp) cannot tell it from api.github.com for the
endpoints the project uses. ``/_emulator/`` adds its own admin API (shared/EMULATOR.md).

::

    async with Emulator(EmulatorConfig(issues=5000, limits="github")) as emulator:
        ...  # point a client at emulator.base_url

    with run_in_thread(EmulatorConfig()) as emulator:   # beside another event loop
        ...
"""

from __future__ import annotations

from autoissue._clock import Clock, FakeClock, SystemClock
from autoissue.emulator._config import EmulatorConfig
from autoissue.emulator._server import Emulator, run_in_thread, serve

__all__ = [
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "FakeClock",
    "SystemClock",
    "run_in_thread",
    "serve",
]
