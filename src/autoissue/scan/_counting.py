"""Counting write-back's calls by running it: the run's own write-back, against a fake GitHub.

::

    plan ──▶ WriteBack.apply_after ──▶ GitHubClient ───────▶ FakeTransport ──▶ _FakeGitHub
             (the run's own code)      (FakeClock, pacing    (keeps each        (answers as for
                                        off: never waits)     request)           nothing done yet)
                                                                 │
                                                                 ▼ endpoint_template
                                                           Counter of calls by endpoint

The forecast does not describe write-back a second time: it counts what write-back sends, so
the two cannot drift apart. Where an answer decides what write-back sends next, the fake
GitHub answers as for a run that finds nothing already done, the dearer case: the slot holds
no marked comment (one is posted, not edited) and no pull request is open for the branch (one
is opened). An issue's comments are listed in as many pages of 100 as its known comment count
needs, each page empty but for its link to the next. Which labels are the tool's own, the
labels ``RemoveLabels`` may remove, is the ledger's word, as in a run: the caller hands in the
issue's prior ledger entry. A scan writes nothing, to GitHub or to the ledger: the write-back
counted here records its progress in a ledger that keeps nothing.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from autoissue._clock import FakeClock
from autoissue.engine import WriteBack
from autoissue.github import (
    FakeTransport,
    GitHubClient,
    Governor,
    Request,
    Response,
    answer,
    endpoint_template,
)
from autoissue.model import Issue, Plan
from autoissue.scan._forecast import (
    ADD_LABELS,
    CLOSE_ISSUE,
    CREATE_COMMENT,
    CREATE_PULL,
    FIND_PULL,
    LIST_COMMENTS,
    REMOVE_LABEL,
    REPOSITORY,
    USER,
)
from autoissue.state import LedgerEntry, MemoryStateStore

#: Where the counting client sends its requests: nowhere, the transport answers in process.
BASE_URL = "https://github.invalid"
COMMENTS_PER_PAGE = 100  # as the client lists them
LOGIN = "autoissue-scan"
_PULL_NUMBER = 1


class WriteBackCounter:
    """Runs write-back for plan after plan on one fake GitHub, and counts what it sends.

    One client and one write-back serve every plan, as in a run: the login that recognises
    the tool's comments is read once (``GET /user``), by the first plan that comments.
    ``transport`` keeps the requests of the latest plan counted.
    """

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.github = _FakeGitHub()
        self.transport = FakeTransport(self.github.answer)
        governor = Governor(clock=self.clock)
        governor.set_unlimited()  # no budgets to keep: nothing is paced, nothing waits
        client = GitHubClient(
            base_url=BASE_URL, transport=self.transport, governor=governor, clock=self.clock
        )
        self.writeback = WriteBack(client, _Unkept(clock=self.clock))
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<WriteBackCounter {self.transport!r}>"

    async def calls(
        self, plan: Plan, issue: Issue, prior: LedgerEntry | None = None
    ) -> Counter[str]:
        """The calls write-back sends to apply ``plan`` to ``issue`` after ``prior``, by endpoint.

        ``prior`` is the issue's ledger entry before the run (``None``: none): the labels it
        says the tool added are the ones ``RemoveLabels`` removes, and the steps of an
        unfinished attempt at this version are not applied again.
        """
        async with self._lock:  # one plan at a time: the requests seen are its own
            self.transport.requests.clear()
            sent = self.github.sent = Counter()
            self.github.comments = issue.comments
            await self.writeback.apply_after(plan, prior)
            return sent


async def writeback_calls(
    plan: Plan, issue: Issue, prior: LedgerEntry | None = None
) -> Counter[str]:
    """The calls write-back sends to apply ``plan`` to ``issue``, as the first plan of a run.

    The first comment of a run also reads the login (``GET /user``): counted here. To count
    many plans as one run, use one :class:`WriteBackCounter`.
    """
    return await WriteBackCounter().calls(plan, issue, prior)


class _Unkept(MemoryStateStore):
    """A ledger that keeps nothing: the counted write-back's progress is nobody's record."""

    async def _record(self, entry: LedgerEntry) -> None:
        """Keep nothing: memory stays flat however many plans are counted."""


class _FakeGitHub:
    """GitHub's answers to write-back's requests, for a run that finds nothing done yet.

    ``comments`` is the known comment count of the issue whose plan is being applied;
    ``sent`` counts every request answered, by endpoint template.
    """

    def __init__(self) -> None:
        self.comments = 0
        self.sent: Counter[str] = Counter()
        self._routes: dict[str, Callable[[Request], Response]] = {
            LIST_COMMENTS: self._comment_page,
            CREATE_COMMENT: lambda request: answer(request, 201, {"id": 1, "user": _USER}),
            ADD_LABELS: _labels,
            REMOVE_LABEL: lambda request: answer(request, 200, []),
            USER: lambda request: answer(request, 200, _USER),
            FIND_PULL: lambda request: answer(request, 200, []),
            CREATE_PULL: lambda request: answer(request, 201, {"number": _PULL_NUMBER}),
            REPOSITORY: _repository,
            CLOSE_ISSUE: lambda request: answer(request, 200, {"state": "closed"}),
        }

    def __repr__(self) -> str:
        return f"<_FakeGitHub comments={self.comments} sent={self.sent.total()}>"

    def answer(self, request: Request) -> Response:
        """GitHub's answer to ``request``; 404 for a request write-back was not known to make."""
        endpoint = endpoint_template(request.method, urlsplit(request.url).path)
        self.sent[endpoint] += 1
        route = self._routes.get(endpoint)
        if route is None:
            message = f"the scan's fake GitHub does not answer {endpoint}: teach scan._counting"
            return answer(request, 404, {"message": message})
        return route(request)

    def _comment_page(self, request: Request) -> Response:
        """An empty page, linking to the next while the issue's comment count needs more."""
        pages = max(1, math.ceil(self.comments / COMMENTS_PER_PAGE))
        page = int(dict(parse_qsl(urlsplit(request.url).query)).get("page", "1"))
        if page >= pages:
            return answer(request, 200, [])
        link = f'<{_with_page(request.url, page + 1)}>; rel="next"'
        return answer(request, 200, [], {"Link": link})


_USER = {"login": LOGIN}


def _labels(request: Request) -> Response:
    """The issue's labels afterwards: those just added (no others matter to write-back)."""
    added = request.json()["labels"]
    return answer(request, 200, [{"name": name} for name in added])


def _repository(request: Request) -> Response:
    owner, name = urlsplit(request.url).path.split("/")[2:4]
    return answer(request, 200, {"id": 1, "full_name": f"{owner}/{name}", "default_branch": "main"})


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "page"] + [("page", str(page))]
    return urlunsplit(parts._replace(query=urlencode(query)))
