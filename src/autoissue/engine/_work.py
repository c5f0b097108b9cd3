"""What travels through the queue for one issue."""

from __future__ import annotations

import msgspec

from autoissue._exceptions import CorruptItemError
from autoissue.model import Issue, Priority
from autoissue.queue import Message, idempotency_key
from autoissue.queue._types import idempotency_parts
from autoissue.state import QueuedVersion, issue_name
from autoissue.stream import PayloadCodec


class WorkItem(msgspec.Struct, frozen=True, array_like=True):
    """One issue for one processor of one repository: a queue item's payload (compact msgpack)."""

    repo: str
    processor: str
    issue: Issue

    @property
    def key(self) -> str:
        """The idempotency key: one issue, at one ``updated_at``, for one processor."""
        return idempotency_key(self.name, self.issue.updated_at, self.processor)

    @property
    def name(self) -> str:
        """``OWNER/REPO#N``: the issue's name in the ledger and in its lock."""
        return issue_name(self.repo, self.issue.number)


#: What ends a dry run's keys.
_DRY_RUN = "/dry-run"

# Compact msgpack behind a header byte, zlib-compressed when large (see autoissue.stream).
_codec: PayloadCodec[WorkItem] = PayloadCodec(WorkItem)
# Payloads written before the header byte existed: plain msgpack of the item.
_headerless = msgspec.msgpack.Decoder(WorkItem)


def encode_item(item: WorkItem) -> bytes:
    """The item as a queue payload."""
    return _codec.encode(item)


def decode_item(payload: bytes) -> WorkItem:
    """Read a payload back; raises :class:`CorruptItemError` for anything else."""
    if payload[:1] in (b"\x00", b"\x01"):
        return _codec.decode(payload)
    try:
        return _headerless.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise CorruptItemError(f"unreadable queue item: {error}") from error


def message_for(item: WorkItem, priority: Priority, *, dry_run: bool = False) -> Message:
    """The queue message that carries ``item`` at ``priority``.

    A dry run's items have keys of their own: rehearsing an issue must not use up the key
    under which the real run enqueues it.
    """
    key = f"{item.key}{_DRY_RUN}" if dry_run else item.key
    # The repository is the item's group: the queue serves repositories in turns.
    return Message(encode_item(item), key=key, priority=priority, group=item.repo)


def queued_version(message: Message) -> QueuedVersion | None:
    """The issue, processor and version a :func:`message_for` message carries, or ``None``.

    Read off the key (:func:`~autoissue.queue.idempotency_key`), not the payload: decoding
    every payload again would cost as much as encoding it. ``None`` for a dry run's key (a
    rehearsal must not change what a real run works) and for anything else.
    """
    parts = idempotency_parts(message.key or "")
    if parts is None or parts[1].endswith(_DRY_RUN):
        return None
    issue, updated_at, processor = parts
    return QueuedVersion(issue, processor, updated_at)
