"""Processors a user might write, for the loading tests."""

from __future__ import annotations

from autoissue.model import Issue, Plan, Priority
from autoissue.processors import Isolation, ProcessContext


class Echo:
    """A minimal user processor with one option."""

    isolation = Isolation.INLINE

    def __init__(self, *, name: str = "echo") -> None:
        self.name = name

    def select(self, issue: Issue) -> Priority | None:
        return Priority.LOW

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        return Plan(self.name, context.repo, issue.number, issue.updated_at)


def make_echo(**options: str) -> Echo:
    return Echo(**options)


def make_nothing() -> object:
    return object()


def make_broken() -> Echo:
    raise RuntimeError("no config file")


class PooledWithoutPrepare:
    """Declares the pool, but gives the workers nothing to run."""

    name = "pooled"
    isolation = Isolation.POOL

    def select(self, issue: Issue) -> Priority | None:
        return None

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        return Plan(self.name, context.repo, issue.number, issue.updated_at)


class Sync:
    """Looks like a processor, but its process is not async."""

    name = "sync"
    isolation = Isolation.INLINE

    def select(self, issue: Issue) -> Priority | None:
        return None

    def process(self, issue: Issue, context: ProcessContext) -> Plan:
        return Plan(self.name, context.repo, issue.number, issue.updated_at)


class Namespace:
    factory = staticmethod(make_echo)


READY = Echo(name="ready")
NOT_CALLABLE = 42
