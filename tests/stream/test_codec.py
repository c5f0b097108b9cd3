"""The payload codec: msgpack, compressed above a threshold, a header byte saying which."""

from __future__ import annotations

import os

import msgspec
import pytest

from autoissue._exceptions import CorruptItemError
from autoissue.model import Issue, User
from autoissue.model._issue import Label
from autoissue.stream import PayloadCodec
from autoissue.stream._codec import COMPRESSED, RAW, issue_size


def make_issue(body: str) -> Issue:
    return Issue(
        number=7,
        title="Crash on save",
        state="open",
        updated_at="2026-01-01T00:00:00Z",
        body=body,
        labels=(Label("bug"),),
        user=User("octocat", 1),
    )


def test_a_small_issue_is_raw_msgpack_and_comes_back_equal() -> None:
    codec = PayloadCodec(Issue, threshold=1024)
    issue = make_issue("short")
    payload = codec.encode(issue)
    assert payload[0] == RAW
    assert codec.decode(payload) == issue
    assert len(payload) < len(msgspec.json.encode(issue))


def test_a_large_issue_is_compressed_and_comes_back_equal() -> None:
    codec = PayloadCodec(Issue, threshold=1024)
    issue = make_issue("the app fails with an error when I save a file. " * 100)
    payload = codec.encode(issue)
    assert payload[0] == COMPRESSED
    assert codec.decode(payload) == issue
    stats = codec.statistics()
    assert (stats.encoded, stats.compressed) == (1, 1)
    assert stats.ratio < 0.2
    assert repr(codec) == "<PayloadCodec Issue threshold=1024 level=1>"


def test_what_compression_would_grow_is_kept_raw() -> None:
    codec = PayloadCodec(bytes, threshold=16)
    noise = os.urandom(4096)
    payload = codec.encode(noise)
    assert payload[0] == RAW
    assert codec.decode(payload) == noise
    assert codec.statistics().compressed == 0
    assert PayloadCodec(bytes).statistics().ratio == 1.0


@pytest.mark.parametrize("payload", [b"", b"\x07abc", b"\x01not zlib", b"\x00\xc1"])
def test_a_payload_this_codec_never_wrote_is_a_corrupt_item(payload: bytes) -> None:
    with pytest.raises(CorruptItemError):
        PayloadCodec(Issue).decode(payload)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        PayloadCodec(Issue, level=10)


def test_issue_size_grows_with_the_text() -> None:
    assert issue_size(make_issue("x" * 1000)) - issue_size(make_issue("")) == 1000
