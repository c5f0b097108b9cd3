"""Plans: what a processor intends to do to an issue, as plain data.

A processor never writes to GitHub. It returns a :class:`Plan`; write-back applies it, or
``--dry-run`` saves it as one JSON line.
"""

from __future__ import annotations

import msgspec


class AddLabels(msgspec.Struct, frozen=True, tag="add_labels"):
    """Add these labels to the issue (labels already present are left as they are)."""

    labels: tuple[str, ...]


# Later kinds of action (comments, pull requests, closing) join this union.
Action = AddLabels


class Plan(msgspec.Struct, frozen=True):
    """Everything one processor intends to do to one issue.

    ``updated_at`` is the issue's ``updated_at`` that the plan was made from, so that a
    saved plan can tell whether the issue changed since.
    """

    processor: str
    repo: str
    issue: int
    updated_at: str
    actions: tuple[Action, ...] = ()
    reasons: tuple[str, ...] = ()

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
