"""What happens to every GitHub request around its handler, in order.

::

    count in flight ─▶ draw a fault ─▶ sleep (latency, queueing, or a slow fault) ─▶ 503 fault?
      ─▶ authenticate (401) ─▶ rate limits (403, when the profile is ``github``) ─▶ handler
      ─▶ charge the primary budget, add x-ratelimit-* ─▶ 502 or reset fault ─▶ count by route

A 502 or a reset strikes *after* the handler ran, so a write may have happened although the
client saw a failure: the unknown outcome that makes careless retries write twice. A 503
strikes before: nothing happened. Admin routes (``/_emulator/``) skip all of it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from autoissue.emulator._apps import APP_TOKEN_ROUTE
from autoissue.emulator._context import Context
from autoissue.emulator._http import IDENTITY, Reject, error, http_date
from autoissue.emulator._latency import Fault
from autoissue.emulator._limits import CONTENT_ROUTES, FREE_ROUTES
from autoissue.emulator._ratelimit import RateLimiter, Refusal

__all__ = ["ADMIN_PREFIX", "CONTENT_ROUTES", "Pipeline"]

ADMIN_PREFIX = "/_emulator/"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

logger = logging.getLogger(__name__)


def _route_key(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical}" if resource is not None else "unmatched"


def _issue_named(request: web.Request) -> str | None:
    """``OWNER/REPO#N`` of the issue a request's path names, or ``None``."""
    found = request.match_info
    number = found.get("n")
    return f"{found.get('owner')}/{found.get('repo')}#{number}" if number else None


class Pipeline:
    """The aiohttp middleware that makes the routes behave like api.github.com."""

    __middleware_version__ = 1

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._tokens: dict[str, str | None] = {}

    def __repr__(self) -> str:
        return f"Pipeline({self.ctx.config.repo})"

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Serve one request through every stage."""
        if request.path.startswith(ADMIN_PREFIX):
            return await _handle(request, handler)
        stats = self.ctx.stats  # the one this request started on, even across a reset
        route, issue = _route_key(request), _issue_named(request)
        in_flight = stats.started(issue)
        status = "reset"
        try:
            response = await self._serve(request, handler, route, in_flight)
            # The server's own clock, which also stamps updated_at (it may be a fake one).
            response.headers["Date"] = http_date(int(self.ctx.clock.time()))
            if not (request.transport is None or request.transport.is_closing()):
                status = str(response.status)
            return response
        finally:
            stats.finished(route, status, issue)

    async def _serve(
        self, request: web.Request, handler: Handler, route: str, in_flight: int
    ) -> web.StreamResponse:
        ctx = self.ctx
        fault = ctx.latency.fault()
        delay = ctx.latency.slow_delay() if fault is Fault.SLOW else ctx.latency.delay(in_flight)
        if fault:
            ctx.stats.fault(fault.value)
        if delay:
            await ctx.clock.sleep(delay)
        if fault is Fault.UNAVAILABLE:
            return error(503, "Service Unavailable")
        identity, refusal = self._identify(request, route)
        if refusal is not None:
            return refusal
        request[IDENTITY] = identity
        if ctx.limits:
            response = await self._limited(request, handler, identity, route)
        else:
            response = await _handle(request, handler)
        return _strike(request, fault, response)

    def _identify(self, request: web.Request, route: str) -> tuple[str, web.Response | None]:
        header = request.headers.get("Authorization")
        if route == APP_TOKEN_ROUTE:
            return "app", None  # the handler checks the app's JWT
        credential = (header or "").partition(" ")[2].strip()
        if credential.startswith("ghs_"):  # an installation token: valid until it expires
            valid = self.ctx.installations.valid(credential)
            return (credential, None) if valid else ("", error(401, "Bad credentials"))
        if not header:
            if request.method not in _READS:
                return "", error(401, "Requires authentication")
            return f"ip:{request.remote}", None
        token = self._tokens.get(header)
        if token is None and header not in self._tokens:
            token = self._tokens[header] = _token(header, self.ctx.config.tokens)
        if token is None:
            return "", error(401, "Bad credentials")
        return token, None

    async def _limited(
        self, request: web.Request, handler: Handler, identity: str, route: str
    ) -> web.StreamResponse:
        limiter = self.ctx.limiter
        limiter.enter(identity)
        try:
            refusal = _admission(limiter, identity, route, request.method)
            if refusal is not None:
                self.ctx.stats.violation(refusal.kind)
                response: web.StreamResponse = _refused(refusal, limiter, identity)
            else:
                response = await _handle(request, handler)
                if response.status != 304 and route not in FREE_ROUTES:
                    limiter.charge(identity)
                response.headers.update(limiter.headers(identity))
            return response
        finally:
            limiter.leave(identity)


def _admission(limiter: RateLimiter, identity: str, route: str, method: str) -> Refusal | None:
    # GET /rate_limit answers even when limited: it is how a client learns the reset.
    if route in FREE_ROUTES:
        return None
    return limiter.admit(identity, route, method, creates_content=route in CONTENT_ROUTES)


def _token(header: str, valid: frozenset[str] | None) -> str | None:
    """The token an ``Authorization`` header carries, if it is one the emulator accepts."""
    scheme, _, credential = header.strip().partition(" ")
    token = credential.strip()
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(token, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif scheme.lower() not in ("token", "bearer"):
        return None
    return token if token and (valid is None or token in valid) else None


async def _handle(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ConnectionResetError:
        # The client went away mid-request (a killed run): nobody is left to answer, and it
        # is no server error worth a traceback.
        logger.debug("%s %s: the client hung up", request.method, request.path)
        return web.Response(status=400)
    except Reject as reject:
        return reject.response
    except web.HTTPException as exc:
        # Unknown paths and methods: GitHub answers both with its JSON 404.
        if exc.status in (404, 405):
            return error(404, "Not Found")
        return error(exc.status, exc.reason)


def _refused(refusal: Refusal, limiter: RateLimiter, identity: str) -> web.Response:
    headers = limiter.headers(identity)
    if refusal.retry_after is not None:
        headers["Retry-After"] = str(refusal.retry_after)
    return error(403, refusal.message, headers=headers)


def _strike(
    request: web.Request, fault: Fault | None, response: web.StreamResponse
) -> web.StreamResponse:
    if fault is Fault.BAD_GATEWAY:
        return error(502, "Server Error")
    if fault is Fault.RESET and request.transport is not None:
        # Closing the transport under the handler drops the connection without an answer.
        request.transport.close()
    return response
