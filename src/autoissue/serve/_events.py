"""Which deliveries become work: an event's payload read into an issue and its repository.

Pure code, no I/O, run only on a body whose signature matched. An ``issues`` event whose action
can change what a processor decides (opened, edited, reopened, labeled, unlabeled) and an
``issue_comment`` that was created become :class:`Work`: the payload's ``issue``, decoded as
the issue list decodes it (:func:`~autoissue.model.decode_issue`), and ``repository.full_name``.
Everything else is :class:`Ignored`, with the reason counted: ``ping`` (GitHub's hello on a new
hook), another ``event`` or ``action``, an item that is a ``pull_request`` (they share the issue
events), and ``own_login``, a write of our own echoed back (our label or comment would otherwise
queue the issue again, forever). A body that is not such an event raises :class:`Malformed`.

A hook may be set to send ``application/x-www-form-urlencoded`` instead of JSON: the JSON is
then the form's ``payload`` field (:func:`json_payload`), read once the signature, which covers
the form as sent, has matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qs

import msgspec

from autoissue.model import Issue, decode_issue

__all__ = [
    "ACTION",
    "EVENT",
    "OWN_LOGIN",
    "PING",
    "PULL_REQUEST",
    "WORK_ACTIONS",
    "Ignored",
    "Malformed",
    "Work",
    "classify",
    "json_payload",
]

#: Why a delivery was ignored.
PING = "ping"
EVENT = "event"
ACTION = "action"
PULL_REQUEST = "pull_request"
OWN_LOGIN = "own_login"

#: The events that make work, and which of their actions do.
WORK_ACTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "issues": frozenset({"opened", "edited", "reopened", "labeled", "unlabeled"}),
        "issue_comment": frozenset({"created"}),
    }
)


FORM = "application/x-www-form-urlencoded"


class Malformed(ValueError):
    """A signed body that is not the event it says it is (the receiver answers 400)."""


@dataclass(frozen=True, slots=True)
class Work:
    """An issue a delivery asks to be considered, and the repository it is in."""

    repo: str
    issue: Issue


@dataclass(frozen=True, slots=True)
class Ignored:
    """A delivery that asks for nothing, and why (one of this module's reasons)."""

    reason: str


class _Account(msgspec.Struct, frozen=True):
    login: str = ""


class _Repository(msgspec.Struct, frozen=True):
    full_name: str = ""


class _Envelope(msgspec.Struct, frozen=True):
    """The parts of an issue event read here; the issue is kept raw for :func:`decode_issue`."""

    action: str = ""
    issue: msgspec.Raw = msgspec.Raw()
    repository: _Repository | None = None
    sender: _Account | None = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)


def classify(event: str, body: bytes, *, own_login: str | None = None) -> Work | Ignored:
    """What the delivery of ``event`` with ``body`` asks for; :class:`Malformed` if unreadable.

    ``own_login`` is the account autoissue writes as; its own deliveries are ignored.
    """
    if event == PING:
        return Ignored(PING)
    actions = WORK_ACTIONS.get(event)
    if actions is None:
        return Ignored(EVENT)
    envelope = _decode(body)
    if envelope.action not in actions:
        return Ignored(ACTION)
    if own_login and _sender(envelope).casefold() == own_login.casefold():
        return Ignored(OWN_LOGIN)
    issue = _issue(envelope)
    if issue.is_pull_request:
        return Ignored(PULL_REQUEST)
    return Work(_repository(envelope), issue)


def json_payload(content_type: str, body: bytes) -> bytes:
    """The event's JSON: ``body`` itself, or a form's ``payload`` field."""
    if content_type != FORM:
        return body
    try:
        fields = parse_qs(body.decode("ascii"), errors="strict", max_num_fields=8)
    except ValueError as error:
        raise Malformed(f"the body is not a form: {error}") from None
    payload = fields.get("payload")
    if not payload:
        raise Malformed("the form has no payload field")
    return payload[0].encode("utf-8")


def _decode(body: bytes) -> _Envelope:
    try:
        return _envelope_decoder.decode(body)
    except msgspec.DecodeError as error:
        raise Malformed(f"the body is not an event payload: {error}") from None


def _sender(envelope: _Envelope) -> str:
    return envelope.sender.login if envelope.sender else ""


def _issue(envelope: _Envelope) -> Issue:
    if not envelope.issue:
        raise Malformed("the event has no issue")
    try:
        return decode_issue(bytes(envelope.issue))
    except msgspec.DecodeError as error:
        raise Malformed(f"the event's issue is unusable: {error}") from None


def _repository(envelope: _Envelope) -> str:
    name = envelope.repository.full_name if envelope.repository else ""
    owner, slash, repo = name.partition("/")
    if not (owner and slash and repo):
        raise Malformed("the event names no repository (repository.full_name)")
    return name
