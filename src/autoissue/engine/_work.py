"""What travels through the queue for one issue."""

from __future__ import annotations

import msgspec

from autoissue._exceptions import CorruptItemError
from autoissue.model import Issue, Priority
from autoissue.queue import Message, idempotency_key
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

    Read off the key (``processor:OWNER/REPO#N@updated_at``), not the payload: decoding every
    payload again would cost as much as encoding it. A repository name holds neither ``:`` nor
    ``@``, so the last of each ends the processor and the issue. ``None`` for a dry run's key
    (a rehearsal must not change what a real run works) and for anything else.
    """
    head, at, updated_at = (message.key or "").rpartition("@")
    processor, colon, issue = head.rpartition(":")
    if not (at and colon) or updated_at.endswith(_DRY_RUN):
        return None
    return QueuedVersion(issue, processor, updated_at)
