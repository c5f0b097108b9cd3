"""The data that flows through autoissue: issue snapshots, priorities and plans."""

from __future__ import annotations

from autoissue.model._issue import (
    Issue,
    Label,
    Milestone,
    PullRequestRef,
    Reactions,
    User,
    decode_issue,
    decode_issue_page,
)
from autoissue.model._plan import (
    MAX_LABEL_CHARS,
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
    "MAX_LABEL_CHARS",
    "Action",
    "AddLabels",
    "Close",
    "Comment",
    "Issue",
    "Label",
    "Milestone",
    "OpenPullRequest",
    "Plan",
    "Priority",
    "PullRequestRef",
    "Reactions",
    "RemoveLabels",
    "User",
    "check_label_name",
    "decode_issue",
    "decode_issue_page",
    "decode_plan",
    "encode_plan",
    "priority_from_labels",
]
