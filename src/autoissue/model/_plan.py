"""Plans: what a processor intends to do to an issue, as plain data.

A processor never writes to GitHub. It returns a :class:`Plan`; write-back applies it, or
``--dry-run`` saves it as one JSON line.
"""

from __future__ import annotations

import unicodedata

import msgspec

from autoissue._exceptions import ConfigurationError

#: The longest label name GitHub accepts.
MAX_LABEL_CHARS = 50


def check_label_name(name: str) -> None:
    """Raise :class:`~autoissue.ConfigurationError` unless GitHub would take ``name`` as a label.

    A label is 1 to 50 characters, with no control or format characters and no comma (which
    separates labels in options), and does not start or end with a space.
    """
    unprintable = any(unicodedata.category(char)[0] == "C" for char in name)
    if not name or len(name) > MAX_LABEL_CHARS or name != name.strip():
        raise ConfigurationError(f"{name!r} is not a label name: 1 to 50 characters, trimmed")
    if unprintable or "," in name:
        raise ConfigurationError(f"{name!r} is not a label name: no commas or control characters")


class AddLabels(msgspec.Struct, frozen=True, tag="add_labels"):
    """Add these labels to the issue (labels already present are left as they are)."""

    labels: tuple[str, ...]


class RemoveLabels(msgspec.Struct, frozen=True, tag="remove_labels"):
    """Remove these labels, but only those this tool added: a user's label is never removed."""

    labels: tuple[str, ...]


class Comment(msgspec.Struct, frozen=True, tag="comment"):
    """Leave one comment, identified by ``slot`` among this processor's comments on the issue.

    Write-back hides a marker (processor, issue, slot, plan) in the body: a comment already in
    that slot is edited in place, so applying the plan twice never leaves two comments.
    """

    body: str
    slot: str = "main"


class OpenPullRequest(msgspec.Struct, frozen=True, tag="open_pull_request"):
    """Open a pull request from ``head`` (a branch already pushed) into ``base``.

    An open pull request from the same head is the same pull request: it is never opened twice.
    ``base`` empty means the repository's default branch.
    """

    head: str
    title: str
    body: str
    base: str = ""
    labels: tuple[str, ...] = ()
    draft: bool = False


class Close(msgspec.Struct, frozen=True, tag="close"):
    """Close the issue, as ``completed`` or ``not_planned``."""

    reason: str = "completed"


Action = AddLabels | RemoveLabels | Comment | OpenPullRequest | Close


class Plan(msgspec.Struct, frozen=True):
    """Everything one processor intends to do to one issue.

    ``updated_at`` is the issue's ``updated_at`` that the plan was made from, so that a
    saved plan can tell whether the issue changed since. ``skip_reason`` non-empty: the run
    counts the issue as skipped for this reason (what actions the plan has only settle what
    is already there, such as an existing pull request's labels). ``cost_usd`` is what
    making the plan cost, as an agent reported it (a run's cost cap adds these up).
    ``outcomes`` name what the processor decided, for the run summary to count (triage's
    ``type learned``, ``type abstained``...).
    """

    processor: str
    repo: str
    issue: int
    updated_at: str
    actions: tuple[Action, ...] = ()
    reasons: tuple[str, ...] = ()
    skip_reason: str = ""
    cost_usd: float = 0.0
    outcomes: tuple[str, ...] = ()

    @property
    def labels_to_add(self) -> frozenset[str]:
        """Every label the plan adds."""
        return frozenset(
            label
            for action in self.actions
            if isinstance(action, AddLabels)
            for label in action.labels
        )


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Plan)


def encode_plan(plan: Plan) -> bytes:
    """One JSON line (without the newline) for a plan."""
    return _encoder.encode(plan)


def decode_plan(line: bytes | str) -> Plan:
    """Read back a plan written by :func:`encode_plan`."""
    return _decoder.decode(line)
