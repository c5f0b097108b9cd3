"""Text from issues made safe for a terminal: what a stranger wrote shows, never acts.

Titles, labels, error messages and payloads come from whoever opened the issue: an escape
sequence could move the cursor or rewrite the screen, a bidirectional override could make
``#12 ok`` read as something else. Every such character is shown as its escape instead.
"""

from __future__ import annotations

import logging
import unicodedata

from rich.text import Text

#: Unicode categories that do something rather than show: controls, formats (bidi overrides,
#: zero-width joiners) and line or paragraph separators.
_ACTING = frozenset({"Cc", "Cf", "Zl", "Zp"})
CELL_CHARS = 80


def printable(text: str, width: int = CELL_CHARS) -> str:
    """``text`` with control and format characters shown as escapes, then cut to ``width``."""
    shown = "".join(_escape(ch) if unicodedata.category(ch) in _ACTING else ch for ch in text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cell(text: str, width: int = CELL_CHARS, style: str = "") -> Text:
    """A table cell of untrusted text: printable, and never parsed for markup."""
    # A Text is never parsed for markup: "[bold]" in a title stays "[bold]".
    return Text(printable(text, width), style=style)


def inert(text: str) -> str:
    """``text`` with acting characters escaped, except the newlines and tabs that lay it out."""
    return "".join(
        _escape(ch) if unicodedata.category(ch) in _ACTING and ch not in "\n\t" else ch
        for ch in text
    )


class InertFormatter(logging.Formatter):
    """Log records for a terminal: a title quoted in a message or an error cannot act."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, made inert."""
        return inert(super().format(record))
