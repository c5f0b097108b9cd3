"""An asyncio GitHub REST client that GitHub never has to refuse.

::

    request ──▶ single-flight ──▶ ETag cache ──▶ attempts ──▶ circuit ──▶ governor ──▶ transport
    (GETs)      (same GET shares)  (304 = free)   (retry by     breaker     (budgets,     (pooled
                                                  idempotency)              pacing)       aiohttp)

Idempotent requests (GET, HEAD, PUT, DELETE, and label additions) are retried on 5xx,
dropped connections and timeouts with full-jitter backoff, inside a retry budget. A
non-idempotent write (a comment, a pull request) whose outcome is unknown is never sent
again: :class:`~autoissue.UnknownOutcomeError` tells the caller to look for its marker.
Requests refused for a rate limit were not executed, so they wait as GitHub says and go
again, unless the server names a reset beyond GitHub's hourly window: that is an error at
once, never a wait of hours. Pagination links are followed only back to the configured
host: a token never leaves for another one.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import msgspec

from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import (
    ConfigurationError,
    GitHubUnreachableError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    UnknownOutcomeError,
)
from autoissue.github._auth import AppAuth, InstallationToken
from autoissue.github._breaker import CircuitBreaker
from autoissue.github._cache import ETagCache, SingleFlight
from autoissue.github._governor import Governor, GovernorSettings, RequestKind
from autoissue.github._health import ClientStatistics, Health
from autoissue.github._pages import PAGE_CONCURRENCY, iter_pages
from autoissue.github._protocol import (
    CONTENT_ENDPOINTS,
    endpoint_template,
    error_for,
    error_message,
    normalise_base_url,
    server_time,
)
from autoissue.github._ratelimit import (
    Refusal,
    classify_refusal,
    parse_rate_limit,
    refusal_wait,
    reset_beyond_window,
    utc_text,
)
from autoissue.github._retry import TRANSIENT_STATUSES, RetryBudget, RetryPolicy
from autoissue.github._transport import (
    AiohttpTransport,
    HttpTransport,
    OversizedAnswerError,
    PoolSettings,
    Response,
    SendFailure,
)
from autoissue.model import Issue, User, decode_issue_page

DEFAULT_BASE_URL = "https://api.github.com"
# Answers that mean "no such endpoint here" rather than "no such thing" or "not allowed".
_ABSENT_ENDPOINT_STATUSES = frozenset({404, 405, 410, 501})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_MAX_LIMIT_RETRIES = 5
_REFUSAL_STATUSES = frozenset({403, 429})  # the statuses a rate limit answers with
_USER_AGENT = "autoissue"
T = TypeVar("T")

logger = logging.getLogger(__name__)


class Repository(msgspec.Struct, frozen=True):
    """The repository fields the engine reads."""

    id: int
    full_name: str
    open_issues_count: int = 0
    default_branch: str = "main"
    clone_url: str = ""
    private: bool = False
    archived: bool = False
    fork: bool = False


@dataclass(slots=True)
class _Call:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str] = field(repr=False)  # the token travels in them
    kind: RequestKind
    idempotent: bool
    attempts: int = 0
    refusals: int = 0
    reauthenticated: bool = False

    @property
    def endpoint(self) -> str:
        return self.kind.endpoint


@functools.lru_cache(maxsize=1024)
def _request_kind(method: str, endpoint: str) -> RequestKind:
    # A handful of endpoint classes serve every request: one frozen kind each, not one per call.
    mutation = method not in {"GET", "HEAD", "OPTIONS"}
    return RequestKind(endpoint, mutation=mutation, creates_content=endpoint in CONTENT_ENDPOINTS)


@functools.lru_cache(maxsize=256)
def _query(params: tuple[tuple[str, str], ...]) -> str:
    # Most requests repeat the same few parameters (per_page=100): encode each set once.
    return urlencode(params)


#: One decoder per answer type, made once: decoding with ``type=`` looks the type up anew.
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def _decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _DECODERS[kind] = msgspec.json.Decoder(kind)
    return decoder


class GitHubClient:
    """GitHub's REST API for one token on one host.

    ``base_url`` is ``https://api.github.com``, a GitHub Enterprise Server's
    ``https://HOST/api/v3``, or the emulator's URL. ``governor`` may be shared by the
    clients of one token (GitHub's secondary limits are per user). ``transport`` sends the
    requests: a pooled aiohttp session sized by ``pool`` unless another is given (a
    :class:`~autoissue.github.FakeTransport` in tests). ``clock`` is injectable so tests
    never wait for real.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        app: AppAuth | None = None,
        pool: PoolSettings | None = None,
        transport: HttpTransport | None = None,
        governor: Governor | GovernorSettings | None = None,
        retry: RetryPolicy | None = None,
        cache: ETagCache | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        self._origin = _origin(self.base_url)
        self._clock = clock or SystemClock()
        self._transport = _transport(transport, pool)
        self._default_headers = _default_headers(token)
        self._app = app
        self.governor = (
            governor if isinstance(governor, Governor) else Governor(governor, clock=self._clock)
        )
        self._retry, self._budget = retry or RetryPolicy(), RetryBudget()
        self.cache = cache if cache is not None else ETagCache()
        self._flight = SingleFlight()
        self.breaker = CircuitBreaker(self._origin, clock=self._clock)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._health = Health()
        #: The server's time (ISO 8601, as in ``updated_at``) of the latest write it answered:
        #: an issue this client wrote to shows an ``updated_at`` no later than this.
        self.last_write_at = ""
        self._warned_limits_unknown = False

    def __repr__(self) -> str:
        # Never show the token.
        stats = self._health.snapshot()
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
        """Close the connection pool (it re-opens if the client is used again)."""
        await self._transport.close()

    def statistics(self) -> ClientStatistics:
        """A snapshot of requests, answers, retries, cache hits and latency by endpoint."""
        return self._health.snapshot()

    async def warm_up(self) -> None:
        """Open a connection and learn the server's limits from ``GET /rate_limit``.

        GitHub Enterprise Server with rate limiting off answers 404 "Rate limiting is not
        enabled.": the governor then lifts its budgets. A server without the endpoint (any
        other 404, a 405, 410 or 501: a proxy, a compatible forge) leaves the limits
        unknown, with a warning: the governor keeps github.com's documented budgets. A bad
        token fails here, early.
        """
        call = self._call("GET", "/rate_limit", None, None, None)
        response = await self._attempts(call)
        if response.status == 404 and b"not enabled" in response.body:
            self.governor.set_unlimited()
        elif response.status in _ABSENT_ENDPOINT_STATUSES:
            self._limits_unknown(response.status)
        else:
            _checked(response, call.method)

    def _limits_unknown(self, status: int) -> None:
        if not self._warned_limits_unknown:
            self._warned_limits_unknown = True
            logger.warning(
                "%s answers %d to GET /rate_limit: rate limits unknown, pacing requests "
                "by github.com's documented limits",
                self._origin,
                status,
            )

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Response:
        """Send one request and return its 2xx answer (a 304 comes back as the cached 200).

        ``path_or_url`` is a path under the base URL or an absolute URL on the same host.
        ``idempotent`` overrides the method's own (POST and PATCH are not). Error answers
        raise the matching :class:`~autoissue.GitHubError`.
        """
        call = self._call(method.upper(), path_or_url, params, json, headers)
        if idempotent is not None:
            call.idempotent = idempotent
        if call.method == "GET" and not headers:
            return await self._flight.run(call.url, lambda: self._conditional(call))
        response = _checked(await self._attempts(call), call.method)
        if call.kind.mutation:
            self.last_write_at = max(self.last_write_at, server_time(response.headers))
        return response

    def _call(
        self,
        method: str,
        path_or_url: str,
        params: dict[str, str] | None,
        json: Any,
        headers: dict[str, str] | None,
    ) -> _Call:
        url = self._resolve(path_or_url, params)
        body = None if json is None else msgspec.json.encode(json)
        sent_headers = {**self._default_headers, **(headers or {})}
        if body is not None:
            sent_headers["Content-Type"] = "application/json"
        kind = _request_kind(method, endpoint_template(method, self._path(url)))
        return _Call(method, url, body, sent_headers, kind, method in IDEMPOTENT_METHODS)

    async def _conditional(self, call: _Call) -> Response:
        validators = self.cache.validators(call.url)
        call.headers.update(validators)
        response = await self._attempts(call)
        if response.status == 304:
            cached = self.cache.hit(call.url)
            if cached is not None:
                return cached
            # The answer was evicted while the request was out (the cache is bounded): a
            # 304 carries no body, so ask again for the whole answer.
            for name in validators:
                del call.headers[name]
            call.attempts = 0  # a new request, with retries of its own
            response = await self._attempts(call)
        response = _checked(response, call.method)
        self.cache.store(call.url, response)
        return response

    async def _attempts(self, call: _Call) -> Response:
        """Send ``call`` until it is answered for good; returns that answer unchecked."""
        self._budget.deposit()
        while True:
            call.attempts += 1
            try:
                response = await self._governed(call)
            except SendFailure as failure:
                delay = self._after_failure(call, failure)
            else:
                retry_in = self._after_answer(call, response)
                if retry_in is None:
                    return response
                delay = retry_in
            self._health.retried(call.endpoint)
            if delay > 0:
                await self._clock.sleep(delay)

    async def _governed(self, call: _Call) -> Response:
        """One attempt: through the circuit breaker and the governor to the transport."""
        self.breaker.before_request()
        permit = self.governor.try_acquire(call.kind) or await self.governor.acquire(call.kind)
        started = time.perf_counter()
        try:
            app = self._app
            headers = call.headers if app is None else await self._app_headers(app, call)
            response = await self._transport.send(
                call.method, call.url, body=call.body, headers=headers
            )
        except BaseException as error:
            self.governor.release(permit)
            if isinstance(error, SendFailure):
                self._health.failed(call.endpoint)
            else:  # cancelled: no outcome, and a probe's turn must pass on
                self.breaker.record_abandoned()
            raise
        self.governor.release(permit, parse_rate_limit(response.headers, self._clock.time()))
        self._answered(call, response, time.perf_counter() - started)
        return response

    def _answered(self, call: _Call, response: Response, elapsed: float) -> None:
        self._health.answered(
            call.endpoint, response.status, elapsed, cached=response.status == 304
        )
        logger.debug(
            "%s %s: %d in %.0f ms (attempt %d)",
            *(call.method, call.url, response.status, elapsed * 1000, call.attempts),
        )

    async def _app_headers(self, app: AppAuth, call: _Call) -> dict[str, str]:
        token = await app.token(self._clock, self._exchange)
        return {**call.headers, "Authorization": f"Bearer {token}"}

    async def _exchange(self, path: str, app_jwt: str) -> InstallationToken:
        """Buy an installation token with the app's JWT (outside the token's own budget)."""
        url = self._resolve(path, None)
        headers = {**self._default_headers, "Authorization": f"Bearer {app_jwt}"}
        try:
            response = await self._transport.send("POST", url, body=None, headers=headers)
        except SendFailure as failure:
            raise GitHubUnreachableError(f"cannot reach {self._origin}: {failure}") from failure
        return _decode(_checked(response, "POST"), InstallationToken)

    def _reauthenticate(self, call: _Call, response: Response) -> bool:
        """After a 401, whether to buy a new installation token and try once more."""
        if response.status != 401 or self._app is None or call.reauthenticated:
            return False
        call.reauthenticated = True
        self._app.invalidate()
        return True

    def _after_failure(self, call: _Call, failure: SendFailure) -> float:
        """The wait before trying again after no answer, or raise when giving up."""
        if isinstance(failure, OversizedAnswerError):
            raise MalformedResponseError(f"{call.url}: {failure}") from failure
        self.breaker.record_failure()
        if failure.sent and not call.idempotent:
            raise UnknownOutcomeError(
                f"no answer to {call.method} {call.url} ({failure}): it may have been applied",
                method=call.method,
                url=call.url,
            ) from failure
        if call.attempts >= self._retry.attempts or not self._budget.withdraw():
            raise GitHubUnreachableError(f"cannot reach {self._origin}: {failure}") from failure
        return self._retry.delay(call.attempts, self._rng)

    def _after_answer(self, call: _Call, response: Response) -> float | None:
        """The wait before trying again after this answer, or ``None`` to keep it."""
        if response.status in TRANSIENT_STATUSES:
            self.breaker.record_failure()
            return self._after_server_error(call, response)
        self.breaker.record_success()
        if self._reauthenticate(call, response):
            return 0.0
        if response.status not in _REFUSAL_STATUSES:
            return None  # most answers: no body to decode for a refusal's message
        refusal = classify_refusal(response.status, response.headers, error_message(response.body))
        if refusal in (Refusal.PRIMARY, Refusal.SECONDARY):
            return self._after_refusal(call, response, refusal)
        return None

    def _after_refusal(self, call: _Call, response: Response, refusal: Refusal) -> float | None:
        """Pause every request as long as the rate limit says; ``None`` once it is enough."""
        now = self._clock.time()
        _refuse_to_wait_beyond_the_window(call, response, now)
        if call.refusals >= _MAX_LIMIT_RETRIES:
            return None
        call.refusals += 1
        wait = refusal_wait(
            refusal,
            response.headers,
            now=now,
            attempt=call.refusals,
            rng=self._rng,
            time_scale=self.governor.settings.time_scale,
        )
        self.governor.pause(wait, refusal.value)
        return 0.0  # the governor holds the request until the pause ends

    def _after_server_error(self, call: _Call, response: Response) -> float | None:
        if not call.idempotent:
            raise UnknownOutcomeError(
                f"{call.method} {call.url} answered {response.status}: it may have been applied",
                method=call.method,
                url=call.url,
            )
        if call.attempts >= self._retry.attempts or not self._budget.withdraw():
            return None
        return self._retry.delay(call.attempts, self._rng)

    def _resolve(self, path_or_url: str, params: dict[str, str] | None) -> str:
        if path_or_url.startswith(("http://", "https://")):
            if _origin(path_or_url) != self._origin:
                raise ConfigurationError(f"refusing to send credentials to {_origin(path_or_url)}")
            url = path_or_url
        else:
            url = self.base_url + "/" + path_or_url.lstrip("/")
        if params:
            url += ("&" if "?" in url else "?") + _query(tuple(params.items()))
        return url

    def _path(self, url: str) -> str:
        if url.startswith(self.base_url):
            return url[len(self.base_url) :] or "/"
        return urlsplit(url).path

    async def get_json(self, path_or_url: str, *, params: dict[str, str] | None = None) -> Any:
        """GET and decode the JSON answer."""
        response = await self.request("GET", path_or_url, params=params)
        return _decode(response, object)

    async def get_repository(self, repo: str) -> Repository:
        """The repository ``OWNER/NAME``; raises NotFoundError when it doesn't exist."""
        return _decode(await self.request("GET", f"/repos/{repo}"), Repository)

    async def list_repositories(self, org: str | None = None) -> list[Repository]:
        """Every repository of the organisation ``org``, or (``None``) of this installation.

        ``None`` lists what a GitHub App installation's token can reach
        (``GET /installation/repositories``); pages are followed as for issues.
        """
        if org is None:
            first = self._resolve("/installation/repositories", {"per_page": "100"})
            decode = partial(_decode_with, decoder=_installation_page)
        else:
            first = self._resolve(f"/orgs/{quote(org, safe='')}/repos", {"per_page": "100"})
            decode = partial(_decode_with, decoder=_repository_page.decode)
        return [repo async for page in iter_pages(self, first, decode) for repo in page]

    async def get_authenticated_user(self) -> User:
        """The account the token belongs to; raises AuthenticationError for a bad token."""
        return _decode(await self.request("GET", "/user"), User)

    def iter_issue_pages(
        self,
        repo: str,
        *,
        state: str = "open",
        since: str | None = None,
        per_page: int = 100,
        concurrency: int = PAGE_CONCURRENCY,
    ) -> AsyncGenerator[list[Issue], None]:
        """Yield the repository's issue list (pull requests included) one page at a time.

        Pages come in order. Once the first page's ``last`` link says how many there are,
        up to ``concurrency`` of them are requested at once, each URL the server's own link
        with its page number changed (1: follow ``next`` links one by one); see
        :mod:`autoissue.github._pages`. A link back to a page already read ends the listing
        with a warning. An item with ``null`` or absent fields is listed with defaults, and
        one without a usable ``number`` is left out with a warning (see
        :func:`~autoissue.model.decode_issue_page`). Close the generator to stop early.
        """
        params = {"state": state, "per_page": str(per_page), "sort": "created", "direction": "asc"}
        if since:
            params["since"] = since
        first = self._resolve(f"/repos/{repo}/issues", params)
        decode = partial(_decode_with, decoder=decode_issue_page)
        return iter_pages(self, first, decode, concurrency=concurrency)

    async def add_labels(self, repo: str, number: int, labels: tuple[str, ...]) -> list[str]:
        """Add labels to an issue; returns the issue's labels afterwards.

        Adding a label twice is harmless, so this write is retried like a read.
        """
        response = await self.request(
            "POST",
            f"/repos/{repo}/issues/{number}/labels",
            json={"labels": list(labels)},
            idempotent=True,
        )
        return [label.name for label in _decode(response, list[_LabelName])]

    async def remove_label(self, repo: str, number: int, label: str) -> bool:
        """Remove one label from an issue; ``False`` when the issue did not carry it."""
        path = f"/repos/{repo}/issues/{number}/labels/{quote(label, safe='')}"
        try:
            await self.request("DELETE", path)
        except NotFoundError:
            return False
        return True

    async def list_comments(self, repo: str, number: int) -> list[IssueComment]:
        """Every comment on an issue, oldest first (following the pages, as the issue list)."""
        first = self._resolve(f"/repos/{repo}/issues/{number}/comments", {"per_page": "100"})
        decode = partial(_decode_with, decoder=_comment_page.decode)
        return [comment async for page in iter_pages(self, first, decode) for comment in page]

    async def create_comment(self, repo: str, number: int, body: str) -> IssueComment:
        """Comment on an issue. Not retried when its outcome is unknown (it would duplicate)."""
        path = f"/repos/{repo}/issues/{number}/comments"
        response = await self.request("POST", path, json={"body": body})
        return _decode(response, IssueComment)

    async def edit_comment(self, repo: str, comment_id: int, body: str) -> IssueComment:
        """Replace a comment's body; sending the same body twice is harmless, so it is retried."""
        path = f"/repos/{repo}/issues/comments/{comment_id}"
        response = await self.request("PATCH", path, json={"body": body}, idempotent=True)
        return _decode(response, IssueComment)

    async def close_issue(self, repo: str, number: int, reason: str = "completed") -> None:
        """Close an issue as ``completed`` or ``not_planned`` (closing twice is harmless)."""
        fields = {"state": "closed", "state_reason": reason}
        await self.request("PATCH", f"/repos/{repo}/issues/{number}", json=fields, idempotent=True)

    async def find_open_pull(self, repo: str, branch: str) -> PullRequest | None:
        """The open pull request whose head is ``branch`` of ``repo``'s owner, if any."""
        owner = repo.split("/", 1)[0]
        params = {"state": "open", "head": f"{owner}:{branch}", "per_page": "1"}
        response = await self.request("GET", f"/repos/{repo}/pulls", params=params)
        pulls = _decode(response, list[PullRequest])
        return pulls[0] if pulls else None

    async def create_pull(self, repo: str, fields: dict[str, Any]) -> PullRequest:
        """Open a pull request (``head``, ``base``, ``title``, ``body``, ``draft``)."""
        response = await self.request("POST", f"/repos/{repo}/pulls", json=fields)
        return _decode(response, PullRequest)


class IssueComment(msgspec.Struct, frozen=True):
    """The comment fields write-back reads."""

    id: int
    body: str = ""
    user: _Login | None = None

    @property
    def author(self) -> str | None:
        """The login of whoever wrote the comment."""
        return self.user.login if self.user is not None else None


class _Login(msgspec.Struct, frozen=True):
    login: str


class PullRequest(msgspec.Struct, frozen=True):
    """The pull-request fields write-back reads."""

    number: int
    html_url: str = ""
    draft: bool = False


_comment_page = msgspec.json.Decoder(list[IssueComment])
_repository_page = msgspec.json.Decoder(list[Repository])


class _InstallationPage(msgspec.Struct):
    repositories: list[Repository]


_installation_decoder = msgspec.json.Decoder(_InstallationPage)


def _installation_page(body: bytes) -> list[Repository]:
    return _installation_decoder.decode(body).repositories


class _LabelName(msgspec.Struct):
    name: str


def _decode(response: Response, kind: type[T]) -> T:
    decoded: T = _decode_with(response, _decoder(kind).decode)
    return decoded


def _decode_with(response: Response, decoder: Any) -> Any:
    try:
        return decoder(response.body)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        snippet = response.body[:80].decode("utf-8", "replace")
        raise MalformedResponseError(
            f"unexpected answer from {response.url}: {error} (starts {snippet!r})"
        ) from error


def _refuse_to_wait_beyond_the_window(call: _Call, response: Response, now: float) -> None:
    """Raise when a refusal says to wait for a reset beyond GitHub's hourly window.

    Such a reset is a server's misreading, not a wait worth hours: the run ends now, with
    the time it claimed.
    """
    reset = reset_beyond_window(response.headers, now)
    if reset is None:
        return
    error = RateLimitedError(
        f"the server says the rate limit resets at {utc_text(reset)}, more than an hour away;"
        " not waiting",
        status=response.status,
        method=call.method,
        url=call.url,
    )
    error.retry_after = reset - now
    raise error


def _checked(response: Response, method: str) -> Response:
    if response.status < 300 or response.status == 304:
        return response
    raise error_for(
        response.status, response.headers, response.body, method=method, url=response.url
    )


def _transport(given: HttpTransport | None, pool: PoolSettings | None) -> HttpTransport:
    if given is None:
        return AiohttpTransport(pool)
    if pool is not None:
        raise ConfigurationError("pool settings are for the default transport: give one")
    return given


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
