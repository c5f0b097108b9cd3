"""An asyncio GitHub REST client on one pooled aiohttp session.

It retries transient failures (5xx, dropped connections) with full-jitter backoff, follows
pagination links only back to the host it was given (a token never leaves for another
host), and turns error answers into :mod:`autoissue._exceptions` types.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec

from autoissue._exceptions import ConfigurationError, GitHubUnreachableError
from autoissue.github._protocol import error_for, normalise_base_url, parse_link_header
from autoissue.github._retry import TRANSIENT_STATUSES, RetryPolicy
from autoissue.github._stats import ClientStatistics, RequestCounter
from autoissue.model import Issue, User, decode_issue_page

DEFAULT_BASE_URL = "https://api.github.com"
_USER_AGENT = "autoissue"


class Response(msgspec.Struct, frozen=True):
    """A complete answer: status, lower-cased headers and the raw body."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str


class Repository(msgspec.Struct, frozen=True):
    """The repository fields the engine reads."""

    id: int
    full_name: str
    open_issues_count: int = 0
    default_branch: str = "main"
    clone_url: str = ""
    private: bool = False


class GitHubClient:
    """GitHub's REST API over one keep-alive connection pool.

    ``base_url`` is ``https://api.github.com`` or a GitHub Enterprise Server's
    ``https://HOST/api/v3`` (or the emulator's URL). ``sleep`` is injectable so tests
    never wait for real.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        max_connections: int = 100,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        self._origin = _origin(self.base_url)
        self._headers = _default_headers(token)
        self._limits = (max_connections, timeout)
        self._session: aiohttp.ClientSession | None = None
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._counter = RequestCounter()

    def __repr__(self) -> str:
        # Never show the token.
        stats = self._counter
        return f"<GitHubClient {self.base_url} requests={stats.requests} retries={stats.retries}>"

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool; the client can't be used afterwards."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def statistics(self) -> ClientStatistics:
        """A snapshot of requests sent, retries and answers by status."""
        return self._counter.snapshot()

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None:
            connections, timeout = self._limits
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
                timeout=aiohttp.ClientTimeout(total=timeout),
            )
        return self._session

    async def request(self, method: str, path_or_url: str, **kwargs: Any) -> Response:
        """Send one request (retrying transient failures) and return a 2xx or 304 answer.

        ``path_or_url`` is a path under the base URL or an absolute URL on the same host;
        ``kwargs`` are passed to aiohttp (``params``, ``headers``); ``json`` is encoded
        compactly with msgspec. Error answers raise the matching :class:`~autoissue.GitHubError`.
        """
        url = self._resolve(path_or_url)
        if "json" in kwargs:
            kwargs["data"] = msgspec.json.encode(kwargs.pop("json"))
            kwargs["headers"] = {**kwargs.get("headers", {}), "Content-Type": "application/json"}
        for attempt in range(1, self._retry.attempts + 1):
            last = attempt == self._retry.attempts
            response = await self._attempt(method, url, last=last, **kwargs)
            if response is not None:
                return _checked(response, method)
            self._counter.retries += 1
            await self._sleep(self._retry.delay(attempt, self._rng))
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def _attempt(
        self, method: str, url: str, *, last: bool, **kwargs: Any
    ) -> Response | None:
        """One try: the answer, or ``None`` when it failed transiently and may be retried."""
        self._counter.requests += 1
        try:
            async with self._session_or_new().request(method, url, **kwargs) as answer:
                body = await answer.read()
                headers = {key.lower(): value for key, value in answer.headers.items()}
                response = Response(answer.status, headers, body, url)
        except (TimeoutError, aiohttp.ClientConnectionError) as error:
            self._counter.connection_errors += 1
            if last:
                raise GitHubUnreachableError(_unreachable(url, error)) from error
            return None
        self._counter.by_status[response.status] += 1
        if response.status in TRANSIENT_STATUSES and not last:
            return None
        return response

    def _resolve(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            if _origin(path_or_url) != self._origin:
                raise ConfigurationError(f"refusing to send credentials to {_origin(path_or_url)}")
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    async def get_json(self, path_or_url: str, **kwargs: Any) -> Any:
        """GET and decode the JSON answer."""
        return msgspec.json.decode((await self.request("GET", path_or_url, **kwargs)).body)

    async def get_repository(self, repo: str) -> Repository:
        """The repository ``OWNER/NAME``; raises NotFoundError when it doesn't exist."""
        response = await self.request("GET", f"/repos/{repo}")
        return msgspec.json.decode(response.body, type=Repository)

    async def get_authenticated_user(self) -> User:
        """The account the token belongs to; raises AuthenticationError for a bad token."""
        return msgspec.json.decode((await self.request("GET", "/user")).body, type=User)

    async def iter_issue_pages(
        self, repo: str, *, state: str = "open", since: str | None = None, per_page: int = 100
    ) -> AsyncIterator[list[Issue]]:
        """Yield the repository's issue list (pull requests included) one page at a time.

        Follows the ``next`` link GitHub sends rather than counting pages, as GitHub asks.
        """
        params = {"state": state, "per_page": str(per_page), "sort": "created", "direction": "asc"}
        if since:
            params["since"] = since
        url: str | None = f"/repos/{repo}/issues"
        request_params: dict[str, str] | None = params
        while url:
            response = await self.request("GET", url, params=request_params)
            yield decode_issue_page(response.body)
            url = parse_link_header(response.headers.get("link")).get("next")
            request_params = None  # the next link carries every parameter

    async def add_labels(self, repo: str, number: int, labels: tuple[str, ...]) -> list[str]:
        """Add labels to an issue; returns the issue's labels afterwards.

        Adding a label twice is harmless, so a retry after an unknown outcome is safe.
        """
        response = await self.request(
            "POST", f"/repos/{repo}/issues/{number}/labels", json={"labels": list(labels)}
        )
        return [label["name"] for label in msgspec.json.decode(response.body)]


def _checked(response: Response, method: str) -> Response:
    if response.status < 300 or response.status == 304:
        return response
    error = error_for(
        response.status, response.headers, response.body, method=method, url=response.url
    )
    raise error


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _default_headers(token: str | None) -> dict[str, str]:
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": _USER_AGENT,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _unreachable(url: str, error: BaseException) -> str:
    reason = str(error) or type(error).__name__
    return f"cannot reach {_origin(url)}: {reason}"
