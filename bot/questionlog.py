"""What members asked and what they got: the question log (`questions.sqlite` in the
knowledge-base folder), the feedback on each answer, and what staff did about it.

Writes never sit on the answer's path: `record` hands a row to one writer thread and returns
its id at once; the writer stores rows in batches. A locked, read-only or corrupt database costs
the log, never an answer — its trouble is kept (`problem`) and shown on /api/health, and rows
wait in memory (up to a bound) until it is back.

Nothing identifying a person is stored unless `CPPCC_KB_LOG_CLIENT` turns on the client column.
Rows older than `CPPCC_KB_LOG_RETENTION_DAYS` are removed by the writer (0 keeps them all).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.answer import Answer
from cppcc_kb.errors import KBError

RATINGS = ("up", "down")
FEEDBACK_REASONS = ("wrong_figure", "wrong_source", "should_answer", "should_refuse", "other")
STATES = ("open", "resolved", "out_of_scope")  # what staff made of a refused/disliked question
MAX_COMMENT_CHARS = 1000
_MAX_PENDING = 10_000  # rows kept in memory while the database cannot be written
_PRUNE_EVERY_S = 3600.0
_ANSWER_CHARS = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    at REAL NOT NULL,
    face TEXT NOT NULL,
    question TEXT NOT NULL,
    history_len INTEGER NOT NULL,
    filters TEXT NOT NULL,
    mode TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    reason TEXT NOT NULL,
    verified INTEGER NOT NULL,
    disputed INTEGER NOT NULL,
    answer TEXT NOT NULL,
    doc_ids TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    closest TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    rating TEXT NOT NULL DEFAULT '',
    feedback_reason TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    feedback_at REAL NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'open',
    state_at REAL NOT NULL DEFAULT 0,
    vector BLOB,
    recheck TEXT NOT NULL DEFAULT '',
    recheck_at REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS questions_at ON questions (at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_INSERT_COLUMNS = ("id", "at", "face", "question", "history_len", "filters", "mode", "abstained",
                   "reason", "verified", "disputed", "answer", "doc_ids", "chunk_ids", "closest",
                   "latency_ms", "client")
EXPORT_COLUMNS = (*_INSERT_COLUMNS, "rating", "feedback_reason", "comment", "feedback_at",
                  "state", "state_at")
_JSON_COLUMNS = {"filters", "doc_ids", "chunk_ids", "closest"}


class QuestionLogError(KBError):
    """The question log could not do what was asked (feedback, export, staff marks)."""


@dataclass(frozen=True)
class LoggedQuestion:
    """One row of the log as the faces read it back."""

    id: str
    at: float
    face: str
    question: str
    abstained: bool
    reason: str
    answer: str
    doc_ids: tuple[str, ...]
    closest: tuple[str, ...]
    latency_ms: float
    rating: str
    feedback_reason: str
    comment: str
    state: str
    recheck: dict


def row_of(log_id: str, face: str, question: str, history: list[str], filters: dict | None,
           answer: Answer, client: str = "", at: float | None = None) -> tuple:
    """The stored row of one answered (or refused) question — plain data, in insert order."""
    cited_docs = list(dict.fromkeys(c.doc_id for c in answer.citations))
    closest = list(dict.fromkeys(p.get("doc_id", "") for p in answer.retrieved))[:3]
    kept_filters = {k: v for k, v in (filters or {}).items() if v}
    return (log_id, time.time() if at is None else at, face, question, len(history or []),
            _dumps(kept_filters), answer.mode, int(answer.abstained), answer.reason,
            int(answer.verified), int(answer.disputed), answer.answer[:_ANSWER_CHARS],
            _dumps(cited_docs), _dumps([c.chunk_id for c in answer.citations]), _dumps(closest),
            float(answer.timings_ms.get("total", 0.0)), client)


def new_log_id() -> str:
    return "q-" + secrets.token_hex(8)


class QuestionLog:
    """The log over one SQLite file; safe to share between threads."""

    def __init__(self, path: Path, retention_days: int = 365, enabled: bool = True):
        self.path, self.retention_days, self.enabled = path, retention_days, enabled
        self._cond = threading.Condition()
        self._pending: list[tuple] = []
        self._writing = 0
        self._dropped = 0
        self._problem: str | None = None
        self._worker: threading.Thread | None = None
        self._pruned_at = 0.0
        self._closed = False

    # ---- writing: off the answer's path --------------------------------------------------
    def record(self, row: tuple) -> None:
        if not self.enabled or self._closed:
            return
        with self._cond:
            self._pending.append(row)
            if len(self._pending) > _MAX_PENDING:
                del self._pending[0]
                self._dropped += 1
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="question-log",
                                                daemon=True)
                self._worker.start()
            self._cond.notify_all()

    def flush(self, timeout: float = 5.0, through_trouble: bool = False) -> bool:
        """Wait until every recorded row is stored. While the database refuses them, give up
        at once — or, `through_trouble`, keep waiting for the writer's retries."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._writing:
                left = deadline - time.monotonic()
                if left <= 0 or (self._problem and not self._writing and not through_trouble):
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Store what is waiting and stop the writer (a server's shutdown): no thread is left
        inside SQLite while the interpreter exits."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            worker = self._worker
            self._cond.notify_all()
        if worker is not None:
            worker.join(timeout)

    def _work(self) -> None:
        db: sqlite3.Connection | None = None
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed and not self._pending:
                    if db is not None:
                        db.close()
                    self._worker = None
                    return
                batch, self._pending = self._pending, []
                self._writing = len(batch)
            try:
                db = db or self._connect()
                with db:
                    db.executemany(f"INSERT OR REPLACE INTO questions ({', '.join(_INSERT_COLUMNS)})"
                                   f" VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})", batch)
                self._prune(db)
                failed = None
            except (sqlite3.Error, OSError) as exc:
                failed = self._describe(exc)
                if db is not None:
                    db.close()
                    db = None
            with self._cond:
                self._writing = 0
                if failed:
                    self._pending[:0] = batch  # kept, in order, for the next try
                    del self._pending[:max(0, len(self._pending) - _MAX_PENDING)]
                self._problem = failed
                self._cond.notify_all()
            if failed:
                time.sleep(1.0)

    def _prune(self, db: sqlite3.Connection) -> None:
        now = time.time()
        if self.retention_days <= 0 or now - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = now
        with db:
            db.execute("DELETE FROM questions WHERE at < ?", (now - self.retention_days * 86400,))

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _describe(self, exc: Exception) -> str:
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            return (f"问题记录库 {self.path} 已损坏（{text}）：请把它移到别处保存，服务会新建一个；"
                    "回答不受影响")
        if "locked" in text or "busy" in text:
            return f"问题记录库 {self.path} 被其他程序锁住（{text}）：请关闭占用它的程序；回答不受影响"
        return f"问题记录库 {self.path} 无法写入（{text}）：请检查该文件夹的权限和磁盘空间；回答不受影响"

    # ---- health --------------------------------------------------------------------------
    def problem(self) -> str | None:
        """Why the log is not being kept right now, for people; None when it is."""
        if not self.enabled:
            return None
        with self._cond:
            problem, waiting = self._problem, len(self._pending)
        if problem:
            return f"{problem}（{waiting} 条记录在内存中等待写入）" if waiting else problem
        if self.path.exists():
            try:
                with self._reader() as db:
                    db.execute("SELECT id FROM questions LIMIT 1").fetchall()
            except QuestionLogError as exc:
                return str(exc)
        return None

    # ---- reading and staff actions -------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise QuestionLogError(self._describe(exc)) from None

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self._execute(lambda db: db.execute(sql, args).fetchall())

    def _run_count(self, sql: str, args: tuple) -> int:
        return self._execute(lambda db: db.execute(sql, args).rowcount)

    def _many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self._execute(lambda db: db.executemany(sql, rows))

    def _execute(self, work):
        """`work(db)` in one transaction on a fresh connection, after the waiting rows are
        stored; SQLite's trouble as a QuestionLogError naming the file and the fix."""
        self.flush()
        db = self._reader()
        try:
            with db:
                return work(db)
        except (sqlite3.Error, OSError) as exc:
            raise QuestionLogError(self._describe(exc)) from None
        finally:
            db.close()

    def feedback(self, log_id: str, rating: str, reason: str = "", comment: str = "") -> bool:
        """Attach a member's rating to a logged answer; False when there is no such answer."""
        if rating not in RATINGS:
            raise QuestionLogError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
        if reason and reason not in FEEDBACK_REASONS:
            raise QuestionLogError(f"reason must be one of {', '.join(FEEDBACK_REASONS)}, "
                                   f"got {reason!r}")
        if len(comment) > MAX_COMMENT_CHARS:
            raise QuestionLogError(f"the comment has {len(comment)} characters, over the limit "
                                   f"of {MAX_COMMENT_CHARS}; shorten it")
        if rating == "up":
            reason = ""
        return bool(self._run_count(
            "UPDATE questions SET rating = ?, feedback_reason = ?, comment = ?, feedback_at = ?, "
            "state = CASE WHEN ? = 'down' AND state != 'open' THEN 'open' ELSE state END "
            "WHERE id = ?", (rating, reason, comment.strip(), time.time(), rating, log_id)))

    def mark(self, log_ids: list[str], state: str) -> int:
        """Staff's verdict on queue items: open again, resolved, or not our remit."""
        if state not in STATES:
            raise QuestionLogError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        marks = ",".join("?" * len(log_ids))
        return self._run_count(f"UPDATE questions SET state = ?, state_at = ? WHERE id IN ({marks})",
                               (state, time.time(), *log_ids)) if log_ids else 0

    def get(self, log_id: str) -> LoggedQuestion | None:
        rows = self._select("WHERE id = ?", (log_id,))
        return rows[0] if rows else None

    def since(self, at: float = 0.0) -> list[LoggedQuestion]:
        self.flush()  # rows recorded a moment ago are part of the answer
        if not self.path.exists():
            return []
        return self._select("WHERE at >= ? ORDER BY at", (at,))

    def _select(self, where: str, args: tuple) -> list[LoggedQuestion]:
        rows = self._run(
            "SELECT id, at, face, question, abstained, reason, answer, doc_ids, closest, "
            f"latency_ms, rating, feedback_reason, comment, state, recheck FROM questions {where}",
            args)
        return [LoggedQuestion(i, at, face, q, bool(ab), reason, ans, tuple(json.loads(docs)),
                               tuple(json.loads(close)), lat, rating, fr, comment, state,
                               json.loads(recheck) if recheck else {})
                for i, at, face, q, ab, reason, ans, docs, close, lat, rating, fr, comment,
                state, recheck in rows]

    def vectors(self, log_ids: list[str]) -> dict[str, bytes]:
        marks = ",".join("?" * len(log_ids))
        return dict(self._run(f"SELECT id, vector FROM questions WHERE vector IS NOT NULL AND "
                              f"id IN ({marks})", tuple(log_ids))) if log_ids else {}

    def store_vectors(self, vectors: dict[str, bytes]) -> None:
        self._many("UPDATE questions SET vector = ? WHERE id = ?",
                   [(v, k) for k, v in vectors.items()])

    def meta(self, key: str) -> str | None:
        """A small value the staff loop keeps beside the log (what the last re-ask saw)."""
        self.flush()
        if not self.path.exists():
            return None
        rows = self._run("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        if not self.enabled:
            return
        self._many("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(key, value)])

    def store_rechecks(self, results: dict[str, dict]) -> None:
        now = time.time()
        self._many("UPDATE questions SET recheck = ?, recheck_at = ? WHERE id = ?",
                   [(_dumps(r), now, k) for k, r in results.items()])

    def export(self, fmt: str, since: float = 0.0) -> Iterator[str]:
        """The log as CSV (a header row first) or JSON Lines, oldest first, one piece a row."""
        if fmt not in ("csv", "jsonl"):
            raise QuestionLogError(f"export format must be csv or jsonl, got {fmt!r}")
        self.flush()
        rows = self._run(f"SELECT {', '.join(EXPORT_COLUMNS)} FROM questions WHERE at >= ? "
                         "ORDER BY at", (since,)) if self.path.exists() else []
        if fmt == "csv":
            for row in (EXPORT_COLUMNS, *rows):
                buffer = io.StringIO()
                csv.writer(buffer).writerow(row)
                yield buffer.getvalue()
            return
        for row in rows:
            item = dict(zip(EXPORT_COLUMNS, row))
            for key in _JSON_COLUMNS:
                item[key] = json.loads(item[key])
            item["abstained"], item["verified"] = bool(item["abstained"]), bool(item["verified"])
            item["disputed"] = bool(item["disputed"])
            yield json.dumps(item, ensure_ascii=False) + "\n"


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
