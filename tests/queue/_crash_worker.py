"""A consumer process for the crash test: ``victim`` claims and hangs, ``survivor`` drains.

Each processed item appends one line to the effects file (O_APPEND, one write per line), so
the test counts what was really done, not what the queue says.
"""

from __future__ import annotations

import asyncio
import os
import sys

from autoissue.queue import Queue, open_queue

LEASE_S = 1.0


async def victim(queue: Queue) -> None:
    leases = await queue.claim_many(10, lease_s=LEASE_S)
    sys.stdout.write(" ".join(lease.payload.decode() for lease in leases) + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()  # hold the leases until SIGKILL


async def survivor(queue: Queue, effects: str) -> None:
    fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        while True:
            leases = await queue.claim_many(5, lease_s=LEASE_S)
            if not leases:
                stats = await queue.statistics()
                if stats.waiting == 0 and stats.in_flight == 0:
                    return
                await asyncio.sleep(0.05)
            for lease in leases:
                os.write(fd, f"{lease.payload.decode()} {os.getpid()}\n".encode())
                await queue.ack([lease.id])
    finally:
        os.close(fd)


async def main(role: str, dsn: str, effects: str) -> None:
    queue = await open_queue(dsn)
    try:
        await (victim(queue) if role == "victim" else survivor(queue, effects))
    finally:
        await queue.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
