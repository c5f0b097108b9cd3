"""Responses the way GitHub shapes them: JSON errors, ETags, conditional requests, JSON bodies."""

from __future__ import annotations

import hashlib
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

import msgspec
from aiohttp import web

from autoissue.emulator._store import Encoded

__all__ = [
    "DOCS",
    "IDENTITY",
    "Reject",
    "error",
    "http_date",
    "json_body",
    "read_json",
    "respond",
    "validation_failed",
]

DOCS = "https://docs.github.com/rest"
#: The token (or ``ip:ADDRESS``) the pipeline authenticated a request as.
IDENTITY = web.RequestKey("identity", str)
_BASE_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "private, max-age=60, s-maxage=60",
    "X-GitHub-Media-Type": "github.v3; format=json",
}
_decoder = msgspec.json.Decoder()


class Reject(Exception):
    """Raised by a handler to answer with ``response`` at once (bad input, missing issue)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_body(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with GitHub's usual headers."""
    merged = _BASE_HEADERS | headers if headers else _BASE_HEADERS
    return web.Response(body=msgspec.json.encode(obj), status=status, headers=merged)


def error(
    status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    """GitHub's error body: ``message``, any ``extra`` fields, then ``documentation_url``."""
    return json_body({"message": message, **extra, "documentation_url": DOCS}, status, headers)


def validation_failed(resource: str, field: str, code: str = "invalid", **more: str) -> Reject:
    """A 422 Validation Failed naming the refused field, as GitHub answers."""
    detail = {"resource": resource, "code": code, "field": field, **more}
    if not field:
        del detail["field"]
    return Reject(error(422, "Validation Failed", errors=[detail]))


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; a 400 "Problems parsing JSON" when it is not JSON."""
    raw = await request.read()
    try:
        return _decoder.decode(raw) if raw else None
    except msgspec.DecodeError:
        raise Reject(error(400, "Problems parsing JSON")) from None


def http_date(epoch: int) -> str:
    """An HTTP date (``Tue, 10 Oct 2017 16:00:00 GMT``)."""
    return formatdate(epoch, usegmt=True)


def _not_modified_since(header: str, modified: int) -> bool:
    try:
        return modified <= parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return False


def respond(
    request: web.Request,
    encoded: Encoded,
    identity: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Answer with ``encoded``: ETag and Last-Modified on a GET, or a 304 when it is unchanged.

    ETags are strong and vary with the identity, as GitHub's vary with ``Authorization``.
    """
    merged = _BASE_HEADERS | headers if headers else dict(_BASE_HEADERS)
    if request.method == "GET" and status == 200:
        token = hashlib.blake2b(encoded.digest + identity.encode(), digest_size=16).hexdigest()
        etag = merged["ETag"] = f'"{token}"'
        if encoded.modified:
            merged["Last-Modified"] = http_date(encoded.modified)
        if _unchanged(request, etag, encoded.modified):
            return web.Response(status=304, headers=merged)
    return web.Response(body=encoded.body, status=status, headers=merged)


def _unchanged(request: web.Request, etag: str, modified: int) -> bool:
    headers = request.headers
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); weak tags compare weakly.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    since = headers.get("If-Modified-Since")
    return since is not None and bool(modified) and _not_modified_since(since, modified)
