"""The data that flows through autoissue: issue snapshots, priorities and plans."""

from __future__ import annotations

from autoissue.model._issue import (
    Issue,
    Label,
    PullRequestRef,
    Reactions,
    User,
    decode_issue,
    decode_issue_page,
)
from autoissue.model._plan import Action, AddLabels, Plan, decode_plan, encode_plan
from autoissue.model._priority import Priority, priority_from_labels

__all__ = [
    "Action",
    "AddLabels",
    "Issue",
    "Label",
    "Plan",
    "Priority",
    "PullRequestRef",
    "Reactions",
    "User",
    "decode_issue",
    "decode_issue_page",
    "decode_plan",
    "encode_plan",
    "priority_from_labels",
]
