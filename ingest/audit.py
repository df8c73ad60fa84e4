"""The audit trail of staff actions (`audit.sqlite` in the knowledge-base folder): every add,
update, remove, re-index, reset and restore, with time, actor, document, version and outcome.

A removal also records its proof: after the delete, no chunk of the document is in Chroma
(asked by its id), none in the keyword index, and a nearest-neighbour query with the
document's own stored vector returns none of its chunks — the check peers' users ask for when
"deleted" documents keep answering.

Written by the ingest layer itself (pipeline, documents), so every face — CLI, API, desk —
leaves the same rows. A trail that cannot be written never undoes or fails the action; the
trouble is logged and shown on /api/health.
"""

from __future__ import annotations

import getpass
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("cppcc_kb.audit")

# Actors: the face and the staff token's name (CPPCC_KB_STAFF_TOKEN_NAME), or for the CLI the
# operating-system user.


def staff_actor(face: str, settings) -> str:
    return f"{face}:{settings.staff_token_name}"

ACTIONS = ("add", "update", "remove", "reindex", "reset", "restore", "refused")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    version TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
"""


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    action: str
    doc_id: str = ""
    title: str = ""
    version: str = ""
    outcome: str = "ok"  # ok | failed | proved | not_proved
    detail: dict | None = None


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 — no user name in a bare container
        return "cli"


class AuditLog:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.problem: str | None = None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5.0)
        db.executescript(_SCHEMA)
        return db

    def record(self, entries: list[AuditEntry]) -> None:
        if not entries:
            return
        rows = [(e.at, e.actor, e.action, e.doc_id, e.title, e.version, e.outcome,
                 json.dumps(e.detail or {}, ensure_ascii=False)) for e in entries]
        try:
            with self._lock:
                db = self._connect()
                try:
                    with db:
                        db.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                finally:
                    db.close()
            self.problem = None
        except (sqlite3.Error, OSError) as exc:
            self.problem = (f"审计记录 {self.path} 无法写入（{exc}）：请检查该文件；"
                            "操作本身已完成")
            logger.error("audit trail not written (%d entries): %s", len(rows), exc)

    def recent(self, limit: int = 200, doc_id: str | None = None) -> list[AuditEntry]:
        if not self.path.exists():
            return []
        where, args = ("WHERE doc_id = ?", (doc_id,)) if doc_id else ("", ())
        with self._lock:
            db = self._connect()
            try:
                rows = db.execute(f"SELECT * FROM audit {where} ORDER BY at DESC, rowid DESC "
                                  "LIMIT ?", (*args, limit)).fetchall()
            finally:
                db.close()
        return [AuditEntry(at, actor, action, d, t, v, o, json.loads(detail))
                for at, actor, action, d, t, v, o, detail in rows]


def now() -> float:
    return time.time()
