"""Which waiting rows a SQLite claim leases: priorities by slot, groups round-robin inside each.

A priority's rotation is its groups in name order, starting after the group it served last
(its cursor, one row of ``queue_rotation``) and wrapping round to it. A claim walks each
rotation lazily, so its cost follows the claim, never the backlog:

- one statement reads every priority's cursor with, from the ``(priority, state, grp, id)``
  index, the first group after it and the lowest and highest group names: enough to serve a
  priority with one group, or a claim of one, without listing anything;
- other group names come from a recursive query that hops along that index, one seek per
  group, at most as many groups as the claim has slots left (more only when some of them
  turn out to hold nothing ready yet, only delayed items);
- each group's rows come FIFO in pages of about ``slots left / groups``, so a claim of ``n``
  over ``k`` groups reads about ``n + k`` rows in about ``k`` queries, and a claim from one
  group costs what a plain FIFO claim did: one page.

Everything runs inside the claim's transaction, so the rotation moves atomically with the
leases, for every process sharing the file.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from autoissue.model import Priority

#: What a claim reads of each row; ``_sqlite`` turns these into leases.
ROW_COLUMNS = "id, priority, attempts, ready_at, enqueued_at, key, payload, grp"

_WAITING = 0

# ``{low}`` is ``grp > :low`` (after a name) or ``grp >= :low`` with '' (from the first name).
_NAMES = """
WITH RECURSIVE names(grp, k) AS (
    SELECT (SELECT grp FROM queue_items INDEXED BY queue_items_fair
            WHERE priority = :p AND state = :waiting AND {low} ORDER BY grp LIMIT 1), 1
    UNION ALL
    SELECT (SELECT q.grp FROM queue_items AS q INDEXED BY queue_items_fair
            WHERE q.priority = :p AND q.state = :waiting AND q.grp > names.grp
            ORDER BY q.grp LIMIT 1), k + 1
    FROM names
    WHERE k < :limit AND names.grp IS NOT NULL AND coalesce(names.grp < :high, 1)
)
SELECT grp FROM names WHERE grp IS NOT NULL AND coalesce(grp <= :high, 1)
"""
_NAMES_AFTER = _NAMES.format(low="grp > :low")
_NAMES_FROM_FIRST = _NAMES.format(low="grp >= :low")

# Per priority with waiting items (the others are filtered out before any other probe): its
# cursor, the first group after it, the lowest and the highest group.
_START = (  # noqa: S608 - built from constants
    "WITH p(priority) AS (VALUES {values})"
    " SELECT p.priority, r.grp,"
    " (SELECT grp FROM queue_items INDEXED BY queue_items_fair"
    "  WHERE priority = p.priority AND state = :waiting AND grp > r.grp ORDER BY grp LIMIT 1),"
    " (SELECT grp FROM queue_items INDEXED BY queue_items_fair"
    "  WHERE priority = p.priority AND state = :waiting ORDER BY grp LIMIT 1) AS lowest,"
    " (SELECT grp FROM queue_items INDEXED BY queue_items_fair"
    "  WHERE priority = p.priority AND state = :waiting ORDER BY grp DESC LIMIT 1)"
    " FROM p LEFT JOIN queue_rotation AS r ON r.priority = p.priority"
    " WHERE lowest IS NOT NULL"
).format(values=", ".join(f"({int(p)})" for p in Priority))

_PAGE = (
    f"SELECT {ROW_COLUMNS} FROM queue_items INDEXED BY queue_items_fair"  # noqa: S608 - constant
    " WHERE priority = ? AND state = ? AND grp = ? AND ready_at <= ? AND id > ?"
    " ORDER BY id LIMIT ?"
)


def pick(
    conn: sqlite3.Connection, now: float, n: int, runs: Iterable[tuple[Sequence[int], int]]
) -> list[Any]:
    """Choose up to ``n`` ready rows and move the rotations; return the rows.

    ``runs`` are the claim's slots as :meth:`PriorityPolicy.runs` yields them: for each run,
    the priorities its slots try, in turn, and how many slots it has.
    """
    rotations = Rotations(conn, now)
    chosen: list[Any] = []
    for order, slots in runs:
        rows = rotations.take(order, slots, n - len(chosen))
        chosen += rows
        if len(rows) < slots:
            break  # every priority ran dry
    rotations.save()
    return chosen


class Rotations:
    """One claim's walk through every priority's rotation; ``save`` stores where each stopped."""

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self.conn = conn
        self.now = now
        self.starts: dict[int, _Start] = {
            row[0]: _Start._make(row[1:]) for row in conn.execute(_START, {"waiting": _WAITING})
        }
        # The priorities that may still serve this claim: those with waiting items, until
        # their rotation runs dry (within one claim, a dry rotation stays dry).
        self.live = set(self.starts)
        self.lanes: dict[int, _Lane] = {}

    def take(self, priorities: Sequence[int], slots: int, left: int) -> list[Any]:
        """Up to ``slots`` rows, from the first of ``priorities`` that has some, then the next.

        ``left`` is how many slots the claim has left: it sizes the reads.
        """
        rows: list[Any] = []
        for priority in priorities:
            if priority in self.live:
                rows += self._lane(priority, left).take(slots - len(rows), left - len(rows))
                if len(rows) == slots:
                    break
                self.live.discard(priority)
        return rows

    def _lane(self, priority: int, left: int) -> _Lane:
        lane = self.lanes.get(priority)
        if lane is None:
            start = self.starts[priority]
            lane = self.lanes[priority] = _Lane(self.conn, priority, self.now, start, left)
        return lane

    def save(self) -> None:
        """Store each rotation's new cursor: the group its last row came from."""
        moved = [(p, lane.cursor) for p, lane in self.lanes.items() if lane.moved]
        if moved:
            self.conn.executemany(
                "INSERT OR REPLACE INTO queue_rotation (priority, grp) VALUES (?, ?)", moved
            )


class _Start(NamedTuple):
    """Where a priority's rotation stands: its cursor, the group after it, its lowest and highest.

    The group names are of groups with waiting items (``after`` is ``None`` when no group
    comes after the cursor before the end of the names). A named tuple: one is made per
    priority with waiting items and claim, straight from the row.
    """

    cursor: str | None
    after: str | None
    lowest: str
    highest: str


class _Lane:
    """One priority's rotation, walked group by group; each group's rows read page by page."""

    def __init__(
        self, conn: sqlite3.Connection, priority: int, now: float, start: _Start, left: int
    ) -> None:
        self.conn, self.priority, self.now = conn, priority, now
        self.start = self.cursor = start.cursor
        self.names: list[str] = []
        self.last: str | None = None  # the last name listed, whether or not still in names
        self.listed_all = start.lowest == start.highest
        self.at = 0
        self.pages: dict[str, collections.deque[Any]] = {}
        self.after_id: dict[str, int] = {}  # groups that may hold more: the last id read
        if self.listed_all or left == 1:
            # One group, or one slot: the first name is all the claim may need.
            self._add([start.after or start.lowest])
        else:
            self._list(left)

    @property
    def moved(self) -> bool:
        """True once the lane served a group other than the stored cursor."""
        return self.cursor != self.start

    def take(self, count: int, left: int) -> list[Any]:
        """Up to ``count`` rows, in rotation order; fewer when the rotation runs dry."""
        if self.listed_all and len(self.names) == 1:
            return self._take_from_one(count, left)
        rows: list[Any] = []
        while len(rows) < count and (row := self._next(left - len(rows))) is not None:
            rows.append(row)
        return rows

    def _take_from_one(self, count: int, left: int) -> list[Any]:
        # A rotation of one group (the common case of a queue fed one repository): its rows
        # page after page, taken in bulk rather than walked one by one.
        name = self.names[0]
        rows: list[Any] = []
        while len(rows) < count:
            page = self.pages.get(name)
            if page:
                rows += [page.popleft() for _ in range(min(count - len(rows), len(page)))]
            elif (row := self._read(name, left - len(rows))) is not None:
                rows.append(row)
            else:
                break
        if rows:
            self.cursor = name
        return rows

    def _next(self, left: int) -> Any:
        # The next group's next ready row, or None when no group has one.
        while True:
            if self.at == len(self.names) and not self._turn(left):
                return None
            name = self.names[self.at]
            page = self.pages.get(name)
            row = page.popleft() if page else self._read(name, left)
            if row is None:
                del self.names[self.at]  # nothing ready left in it: out of this claim's round
                continue
            self.at += 1
            self.cursor = name
            return row

    def _turn(self, left: int) -> bool:
        # Past the last name listed: list the rotation's next names, or (all listed) go round
        # to the first name again. False when no name is left.
        if not self.listed_all and self._list(left):
            return True
        self.at = 0
        return bool(self.names)

    def _list(self, left: int) -> bool:
        # Lists the next names of the rotation, at most one per slot left; False when none.
        found = group_names(self.conn, self.priority, self.start, self.last, left)
        self.listed_all = len(found) < left
        self._add(found)
        return bool(found)

    def _add(self, names: list[str]) -> None:
        self.names += names
        self.after_id.update(dict.fromkeys(names, 0))
        if names:
            self.last = names[-1]

    def _read(self, name: str, left: int) -> Any:
        # The group's page is used up: read its next one, sized to its share of the slots
        # left, unless the last page came short (the group has nothing more ready).
        if name not in self.after_id:
            return None
        size = -(-left // len(self.names))
        rows = self.conn.execute(
            _PAGE, (self.priority, _WAITING, name, self.now, self.after_id.pop(name), size)
        ).fetchall()
        if len(rows) == size:
            self.after_id[name] = rows[-1][0]
        page = self.pages[name] = collections.deque(rows)
        return page.popleft() if page else None


def group_names(
    conn: sqlite3.Connection, priority: int, cursor: str | None, after: str | None, limit: int
) -> list[str]:
    """Up to ``limit`` names of groups with waiting items, in rotation order after ``after``.

    The rotation runs from just after ``cursor`` (from the first name when it is ``None``)
    round to ``cursor``; ``after`` is a name already listed (``None``: from the start).
    """
    if cursor is not None and after is not None and after <= cursor:
        return _names(conn, priority, after, cursor, limit)  # already past the wrap
    names = _names(conn, priority, cursor if after is None else after, None, limit)
    if cursor is not None and len(names) < limit:
        names += _names(conn, priority, None, cursor, limit - len(names))
    return names


def _names(
    conn: sqlite3.Connection, priority: int, low: str | None, high: str | None, limit: int
) -> list[str]:
    # Names in (low, high], ascending; a missing bound is no bound.
    sql = _NAMES_FROM_FIRST if low is None else _NAMES_AFTER
    args = {"p": priority, "waiting": _WAITING, "low": low or "", "high": high, "limit": limit}
    return [row[0] for row in conn.execute(sql, args)]
