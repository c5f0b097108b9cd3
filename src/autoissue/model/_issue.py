"""The issue snapshot: one issue as the API returned it, immutable, decoded straight from JSON.

A payload GitHub could have sent decodes in one pass. Servers that only speak GitHub's API
(proxies, older GitHub Enterprise Server versions, compatible forges) may send ``null`` or a
value of another type where GitHub sends a value: such a payload is salvaged field by field,
each unusable field taking its default, so that one odd field never costs the issue. Only
an issue without a usable ``number`` cannot be salvaged: nothing could be written back to it.
"""

from __future__ import annotations

import logging
import types
import typing
from typing import Any, TypeVar

import msgspec

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=msgspec.Struct)
# A field value that cannot be used: the field keeps its default.
_UNUSABLE: Any = object()


class User(msgspec.Struct, frozen=True):
    """The account that opened an issue (only what the engine reads)."""

    login: str
    id: int = 0
    type: str = "User"


class Label(msgspec.Struct, frozen=True):
    """A label attached to an issue."""

    name: str
    color: str = ""
    description: str | None = None


class Milestone(msgspec.Struct, frozen=True):
    """The milestone an issue is planned for."""

    title: str
    number: int = 0


class PullRequestRef(msgspec.Struct, frozen=True):
    """Present on an item of the issue list when that item is a pull request."""

    url: str = ""


class Reactions(msgspec.Struct, frozen=True, rename={"plus_one": "+1", "minus_one": "-1"}):
    """Reaction counts; ``total_count`` weighs how much people care."""

    total_count: int = 0
    plus_one: int = 0
    minus_one: int = 0


class Issue(msgspec.Struct, frozen=True):
    """An issue (or pull request) snapshot, decoded from GitHub's issue object.

    Unknown fields in the payload are ignored, so the snapshot stays small whatever
    GitHub adds. Times are kept as GitHub's ISO 8601 strings: they order correctly as
    text and the ledger compares them for equality. A field the server left out or sent
    as ``null`` has its default: ``""`` for the title, the state and the times (unknown,
    so no processor takes the issue for open or idle), nothing for the rest.
    """

    number: int
    title: str = ""
    state: str = ""
    updated_at: str = ""
    created_at: str = ""
    body: str | None = None
    labels: tuple[Label, ...] = ()
    locked: bool = False
    user: User | None = None
    comments: int = 0
    reactions: Reactions | None = None
    pull_request: PullRequestRef | None = None
    assignees: tuple[User, ...] = ()
    milestone: Milestone | None = None
    state_reason: str | None = None

    @property
    def is_pull_request(self) -> bool:
        """Whether this item of the issue list is really a pull request."""
        return self.pull_request is not None

    @property
    def label_names(self) -> frozenset[str]:
        """The names of the labels on the issue."""
        return frozenset(label.name for label in self.labels)

    @property
    def author(self) -> str:
        """The login of the account that opened the issue, or ``""`` when unknown."""
        return self.user.login if self.user else ""


_issue_decoder = msgspec.json.Decoder(Issue)
_page_decoder = msgspec.json.Decoder(list[Issue])
_loose_page_decoder = msgspec.json.Decoder(list[Any])


def decode_issue(payload: bytes) -> Issue:
    """Decode one issue object from GitHub's JSON.

    Fields that are ``null`` or of the wrong type take their defaults; an object without a
    usable ``number`` raises :class:`msgspec.ValidationError`.
    """
    try:
        return _issue_decoder.decode(payload)
    except msgspec.ValidationError as error:
        issue = _salvage(Issue, msgspec.json.decode(payload))
        if issue is None:
            raise error from None
        return issue


def decode_issue_page(payload: bytes) -> list[Issue]:
    """Decode a page of the issue list from GitHub's JSON.

    Items are salvaged as :func:`decode_issue` does; an item without a usable ``number``
    is left out with a logged warning, and the rest of the page is kept. A payload that is
    not a JSON array raises :class:`msgspec.ValidationError`.
    """
    try:
        return _page_decoder.decode(payload)
    except msgspec.ValidationError:
        items = _loose_page_decoder.decode(payload)
    salvaged = (_salvage_item(index, item) for index, item in enumerate(items))
    return [issue for issue in salvaged if issue is not None]


def _salvage_item(index: int, item: object) -> Issue | None:
    issue = _salvage(Issue, item)
    if issue is None:
        logger.warning("skipping item %d of an issue page: %s", index, _why_unusable(item))
    return issue


def _why_unusable(item: object) -> str:
    """Why ``item`` cannot be an issue, and which one it is when it says."""
    if not isinstance(item, dict):
        return f"it is {_excerpt(item)}, not an object"
    number = _excerpt(item["number"]) if "number" in item else "missing"
    known_as = item.get("html_url") or item.get("url") or item.get("title")
    return f"its number is {number}" + (f" ({known_as})" if known_as else "")


def _excerpt(value: object) -> str:
    return msgspec.json.encode(value)[:60].decode("utf-8", "replace")


def _salvage(kind: type[S], value: object) -> S | None:
    """``value`` as a ``kind``, or ``None`` when a field without a default is unusable.

    A field that is absent, ``null`` or of the wrong type takes its default; a nested
    struct is salvaged the same way, and a list of structs keeps the items that can be.
    Numbers sent as strings are read as numbers.
    """
    try:
        return msgspec.convert(value, kind, strict=False)
    except msgspec.ValidationError:
        pass
    if not isinstance(value, dict):
        return None
    fields: dict[str, Any] = {}
    for field in msgspec.structs.fields(kind):
        found = _field_value(field.type, value.get(field.encode_name))
        if found is not _UNUSABLE:
            fields[field.name] = found
        elif field.required:
            return None
    return kind(**fields)


def _field_value(annotation: Any, value: object) -> Any:
    """``value`` as a field typed ``annotation``, salvaged, or :data:`_UNUSABLE`."""
    if value is None:
        return _UNUSABLE
    struct = _struct_in(annotation)
    if struct is not None:
        salvaged = _salvage(struct, value)
        return _UNUSABLE if salvaged is None else salvaged
    item_type = _item_type(annotation)
    if item_type is not None and isinstance(value, list):
        items = (_field_value(item_type, item) for item in value)
        return tuple(item for item in items if item is not _UNUSABLE)
    try:
        return msgspec.convert(value, annotation, strict=False)
    except msgspec.ValidationError:
        return _UNUSABLE


def _struct_in(annotation: Any) -> type[msgspec.Struct] | None:
    """The struct of a field typed ``S`` or ``S | None``, if it is one."""
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    for option in options or (annotation,):
        if isinstance(option, type) and issubclass(option, msgspec.Struct):
            return option
    return None


def _item_type(annotation: Any) -> Any:
    """The item type of a field typed ``tuple[T, ...]``; ``None`` for any other field."""
    arguments = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple and arguments[-1:] == (Ellipsis,):
        return arguments[0]
    return None
