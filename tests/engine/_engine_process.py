"""An engine in its own process, for the crash tests: ``python -m tests.engine._engine_process``.

Arguments: the API's base URL, the backend DSN, and ``run`` (list, then drain) or ``worker``
(drain only). It exits 0 once the queue is drained.
"""

from __future__ import annotations

import asyncio
import sys

from autoissue.backend import open_backend
from autoissue.engine import Engine, EngineOptions, Worker, WorkerOptions
from autoissue.github import GitHubClient
from tests.engine._commenter import Commenter

REPO = "acme/widgets"


async def main(base_url: str, dsn: str, role: str) -> None:
    async with (
        GitHubClient(base_url=base_url, token="t0k3n") as client,
        open_backend(dsn) as stores,
    ):
        await client.warm_up()  # the emulator has no limits: no mutation spacing either
        if role == "worker":  # bound to no repository, it waits a little for the run's items
            options = WorkerOptions(concurrency=8, idle_exit_s=3.0)
            await Worker(client, stores.queue, stores.state, [Commenter()], options=options).run()
            return
        engine_options = EngineOptions(concurrency=8, lease_s=1.0)
        engine = Engine(
            client,
            REPO,
            Commenter(),
            options=engine_options,
            queue=stores.queue,
            state=stores.state,
        )
        await engine.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
