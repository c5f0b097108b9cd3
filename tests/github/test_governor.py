from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoissue import FakeClock
from autoissue.github import Governor, GovernorSettings, Mode, RateLimitInfo
from autoissue.github._governor import RequestKind
from autoissue.github._window import SlidingWindow

READ = RequestKind("GET /repos/{owner}/{repo}/issues")
LABELS = RequestKind("POST /repos/{owner}/{repo}/issues/{n}/labels", mutation=True)
COMMENT = RequestKind(
    "POST /repos/{owner}/{repo}/issues/{n}/comments", mutation=True, creates_content=True
)


def governor(**settings: object) -> tuple[Governor, FakeClock]:
    clock = FakeClock(start=1_000.0)
    return Governor(GovernorSettings(**settings), clock=clock), clock  # type: ignore[arg-type]


def info(remaining: int, reset_in: float, clock: FakeClock, limit: int = 5000) -> RateLimitInfo:
    return RateLimitInfo(limit, remaining, limit - remaining, clock.time() + reset_in)


async def send(gov: Governor, kind: RequestKind, reading: RateLimitInfo | None = None) -> None:
    gov.release(await gov.acquire(kind), reading)


async def test_unknown_server_gets_github_defaults() -> None:
    gov, clock = governor()
    await send(gov, READ)
    assert gov.mode is Mode.UNKNOWN
    assert gov.statistics().max_concurrent == 40
    assert clock.slept == []


async def test_reads_flow_freely_while_the_budget_lasts() -> None:
    gov, clock = governor()
    for _ in range(500):
        await send(gov, READ, info(4000, 3000, clock))
    assert clock.slept == []
    assert gov.mode is Mode.LIMITED


async def test_burst_pacing_waits_for_the_reset_at_the_reserve() -> None:
    gov, clock = governor(reserve=100)
    gov.observe(info(101, 600, clock))
    await send(gov, READ)  # 101 - 0 in flight - 100 reserve = 1 left
    await gov.acquire(READ)
    assert clock.slept == [601.0]  # until the reset, plus a second's margin
    assert gov.statistics().waits == {"primary": 1}


async def test_in_flight_requests_count_against_the_budget() -> None:
    gov, clock = governor(reserve=0)
    gov.observe(info(2, 600, clock, limit=5000))
    await gov.acquire(READ)
    await gov.acquire(READ)  # two in flight use both remaining
    third = asyncio.create_task(gov.acquire(READ))
    await asyncio.sleep(0)
    assert clock.slept == [601.0]
    third.cancel()


async def test_even_pacing_spreads_the_budget_to_the_reset() -> None:
    gov, clock = governor(pacing="even", reserve=0)
    gov.observe(info(100, 100, clock))
    for _ in range(3):
        await send(gov, READ)
    # 100 left for 100 s: one a second (the first goes at once).
    assert clock.slept == pytest.approx([1.0, 1.0], rel=0.05)


async def test_a_new_window_restores_the_budget() -> None:
    gov, clock = governor(reserve=0)
    gov.observe(info(0, 10, clock))
    await send(gov, READ)
    assert clock.slept == [11.0]
    assert gov.statistics().budget["core"].remaining == 4999  # the new window, less one


async def test_late_answers_from_an_old_window_are_ignored() -> None:
    gov, clock = governor()
    gov.observe(info(300, 100, clock))
    gov.observe(info(900, 100, clock))  # out of order: higher count in the same window
    assert gov.statistics().budget["core"].remaining == 300
    gov.observe(info(4999, 3700, clock))  # a later window
    assert gov.statistics().budget["core"].remaining == 4999


async def test_points_per_minute_per_endpoint() -> None:
    gov, clock = governor(points_per_minute=20, mutation_spacing_s=0)
    for _ in range(4):  # 5 points each: 20 in the first minute
        await send(gov, LABELS)
    assert clock.slept == []
    await send(gov, LABELS)
    assert clock.slept == [60.0]
    await send(gov, READ)  # another endpoint has its own budget
    assert clock.slept == [60.0]


async def test_content_creation_per_minute_and_per_hour() -> None:
    gov, clock = governor(content_per_minute=3, content_per_hour=4, mutation_spacing_s=0)
    for _ in range(4):
        await send(gov, COMMENT)
    assert clock.slept == [60.0]
    await send(gov, COMMENT)  # the hour's four are spent
    assert sum(clock.slept) == pytest.approx(3600.0)
    assert gov.statistics().waits["content"] == 2


async def test_mutations_are_spaced() -> None:
    gov, clock = governor(mutation_spacing_s=1.0)
    await send(gov, LABELS)
    await send(gov, LABELS)
    await send(gov, READ)  # reads are not spaced
    assert clock.slept == [1.0]


async def test_time_scale_compresses_every_window() -> None:
    gov, clock = governor(mutation_spacing_s=1.0, time_scale=60)
    await send(gov, LABELS)
    await send(gov, LABELS)
    assert clock.slept == pytest.approx([1 / 60])


async def test_unlimited_server_lifts_budgets_but_keeps_a_cap() -> None:
    gov, clock = governor(unlimited_max_concurrent=3)
    gov.set_unlimited()
    for _ in range(50):
        await send(gov, COMMENT)
    assert clock.slept == []
    permits = [await gov.acquire(READ) for _ in range(3)]
    fourth = asyncio.create_task(gov.acquire(READ))
    await asyncio.sleep(0)
    assert not fourth.done()
    gov.release(permits[0])
    await fourth
    assert gov.statistics().in_flight == 3


async def test_headers_from_an_unlimited_server_switch_it_back_to_limited() -> None:
    gov, clock = governor()
    gov.set_unlimited()
    gov.observe(info(10, 60, clock))
    assert gov.mode is Mode.LIMITED
    assert gov.statistics().max_concurrent == 40


async def test_concurrency_cap_holds_and_serves_waiters_in_order() -> None:
    gov, _ = governor(max_concurrent=2)
    order: list[int] = []

    async def worker(number: int) -> None:
        await gov.acquire(READ)
        order.append(number)

    first, second = await gov.acquire(READ), await gov.acquire(READ)
    tasks = [asyncio.create_task(worker(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert order == []
    gov.release(first)
    gov.release(second)
    await asyncio.sleep(0)
    assert order == [0, 1]
    gov.release(first)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    gov, _ = governor(max_concurrent=1)
    held = await gov.acquire(READ)
    waiting = asyncio.create_task(gov.acquire(READ))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gov.release(held)
    await gov.acquire(READ)
    assert gov.statistics().in_flight == 1


async def test_pause_holds_every_request_until_its_end() -> None:
    gov, clock = governor()
    gov.pause(30.0, "secondary")
    gov.pause(10.0, "secondary")  # a shorter pause does not shorten the longer one
    await send(gov, READ)
    assert clock.slept == [30.0]
    assert gov.statistics().waits == {"paused": 1}
    assert "in_flight=0/40" in repr(gov)


@pytest.mark.parametrize(
    "settings",
    [
        {"max_concurrent": 0},
        {"points_per_minute": 0},
        {"content_per_hour": 0},
        {"reserve": -1},
        {"time_scale": 0},
        {"mutation_spacing_s": -1},
    ],
)
def test_settings_refuse_nonsense(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        GovernorSettings(**settings)  # type: ignore[arg-type]


def test_request_kinds_cost_points_like_github() -> None:
    assert READ.points == 1
    assert LABELS.points == 5


@given(
    budget=st.integers(1, 50),
    span=st.floats(1, 100),
    steps=st.lists(st.tuples(st.integers(1, 60), st.floats(0, 30)), max_size=60),
)
def test_a_window_that_is_obeyed_never_exceeds_its_budget(
    budget: int, span: float, steps: list[tuple[int, float]]
) -> None:
    window = SlidingWindow(span=span, budget=budget)
    now, spent = 0.0, []
    for amount, gap in steps:
        now += gap
        now += window.wait(amount, now)
        assert window.wait(amount, now) == 0.0
        window.spend(amount, now)
        spent.append((now, min(amount, budget)))  # oversized amounts count as a full window
        recent = sum(cost for when, cost in spent if when + span > now + 1e-6)
        assert recent <= budget
    assert window.used(now) <= max(budget, max((a for a, _ in steps), default=0))


def test_window_refuses_nonsense_and_describes_itself() -> None:
    with pytest.raises(ValueError, match="positive span"):
        SlidingWindow(span=0, budget=1)
    assert repr(SlidingWindow(span=60, budget=900)) == "<SlidingWindow 0/900 per 60s>"


def test_a_settled_entry_counts_from_its_answer() -> None:
    window = SlidingWindow(span=60, budget=2)
    first = window.spend(1, now=0.0)
    window.spend(1, now=1.0)
    SlidingWindow.settle(first, now=30.0)  # GitHub may have counted it as late as 30 s
    assert window.wait(1, now=60.5) == pytest.approx(0.5)  # the second leaves at 61
    assert window.wait(1, now=61.0) == 0.0
    window.spend(1, now=61.0)
    assert window.wait(1, now=62.0) == pytest.approx(28.0)  # the first counts until 90
    assert window.used(now=121.0) == 0


async def test_try_acquire_books_at_once_when_nothing_makes_the_request_wait() -> None:
    gov, clock = governor(max_concurrent=2)
    gov.observe(info(4000, 3000, clock))
    permit = gov.try_acquire(LABELS)
    assert permit is not None
    assert len(permit.entries) == 1  # the points window booked, as acquire() books it
    assert gov.statistics().in_flight == 1
    gov.release(permit)
    assert gov.statistics().in_flight == 0
    assert clock.slept == []


async def test_try_acquire_leaves_waits_to_acquire_and_counts_none_itself() -> None:
    gov, _ = governor(max_concurrent=1)
    held = gov.try_acquire(READ)
    assert held is not None
    assert gov.try_acquire(READ) is None  # the only slot is taken
    gov.release(held)
    gov.pause(5.0, "secondary")
    assert gov.try_acquire(READ) is None  # paused: acquire() waits, and counts the wait
    stats = gov.statistics()
    assert (stats.in_flight, dict(stats.waits)) == (0, {})


async def test_an_unlimited_governor_grants_from_its_cap_alone() -> None:
    gov, clock = governor(unlimited_max_concurrent=2)
    gov.set_unlimited()
    permits = [gov.try_acquire(COMMENT), gov.try_acquire(COMMENT)]
    assert all(p is not None and p.entries == () for p in permits)
    assert gov.try_acquire(COMMENT) is None
    assert clock.slept == []
