"""The data that flows through autoissue: issue snapshots, priorities and plans.

An :class:`Issue` is a snapshot as GitHub listed it; its :class:`Priority` comes from its
labels (:func:`priority_from_labels`); a processor answers with a :class:`Plan` of actions
(:class:`AddLabels`, :class:`RemoveLabels`, :class:`Comment`, :class:`Close`,
:class:`OpenPullRequest`).
"""

from __future__ import annotations

from autoissue.model._issue import Issue, User, decode_issue, decode_issue_page
from autoissue.model._plan import (
    Action,
    AddLabels,
    Close,
    Comment,
    OpenPullRequest,
    Plan,
    RemoveLabels,
    check_label_name,
    decode_plan,
    encode_plan,
)
from autoissue.model._priority import Priority, priority_from_labels

__all__ = [
    "Action",
    "AddLabels",
    "Close",
    "Comment",
    "Issue",
    "OpenPullRequest",
    "Plan",
    "Priority",
    "RemoveLabels",
    "User",
    "check_label_name",
    "decode_issue",
    "decode_issue_page",
    "decode_plan",
    "encode_plan",
    "priority_from_labels",
]
