"""Where sources disagree: each disputed answer (two documents, two figures) is kept in the
knowledge-base folder (`conflicts.sqlite`), so staff see on the desk which documents to
reconcile — grouped by the pair of documents and the question, with how often and when last.

The standard library's sqlite3; one short write per disputed answer, never on the answer's
path otherwise. Nothing identifying the asker is stored.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.answer import Answer
from bot.figures import find_figures

_SCHEMA = """CREATE TABLE IF NOT EXISTS conflicts (
    at REAL NOT NULL, question TEXT NOT NULL, documents TEXT NOT NULL, quotes TEXT NOT NULL)"""


@dataclass(frozen=True)
class Conflict:
    question: str
    documents: tuple[str, ...]  # titles, in the order the answer cites them
    quotes: tuple[str, ...]
    count: int
    last: float


class ConflictLog:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.execute(_SCHEMA)
        return db

    def record(self, question: str, answer: Answer) -> None:
        if not answer.disputed:
            return
        titles = [c.title for c in answer.citations]
        quotes = [c.quote for c in answer.citations]
        try:
            with self._lock, self._connect() as db:
                db.execute("INSERT INTO conflicts VALUES (?, ?, ?, ?)",
                           (time.time(), question, json.dumps(titles, ensure_ascii=False),
                            json.dumps(quotes, ensure_ascii=False)))
        except (sqlite3.Error, OSError):
            pass  # a read-only folder still answers; the desk just shows less

    def recent(self, limit: int = 50) -> list[Conflict]:
        if not self.path.exists():
            return []
        with self._lock, self._connect() as db:
            rows = db.execute(
                "SELECT question, documents, MAX(quotes), COUNT(*), MAX(at) FROM conflicts "
                "GROUP BY question, documents ORDER BY MAX(at) DESC LIMIT ?", (limit,)).fetchall()
        return [Conflict(q, tuple(json.loads(d)), tuple(json.loads(x)), n, at)
                for q, d, x, n, at in rows]


def figures_of(quote: str) -> str:
    return "、".join(f.text for f in find_figures(quote)) or "—"
