"""Uploads as jobs: one worker per server process ingests them in order, so a second upload
waits its turn instead of failing, a long one never holds an HTTP request open, and anyone
can watch its progress (`GET /api/jobs/{id}`, the staff desk).

A job's files wait in `data/uploads/` (removed when the job ends, and swept by the next `serve`
after a kill). When another process holds the ingest lock (a CLI `ingest` over a shared
`chroma run` store), the job shows `waiting` with who holds it, and retries until
`lock_wait_s` has passed.

Jobs are kept in `data/jobs.sqlite` (`JobLog`) as they change, so a restarted server still
answers `GET /api/jobs/{id}` and lists its recent jobs; one that had not ended when the server
stopped reads `failed`, saying so — each document is stored whole or not at all, so what it had
finished is in the knowledge base and the rest must be uploaded again. A log that cannot be
written never stops an upload: the jobs go on in memory and the log says why once.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cppcc_kb.errors import KBError
from ingest.errors import StoreLocked

_KEEP = 200  # finished jobs remembered per process
_RETRY_S = 1.0
INTERRUPTED = ("the server stopped before this upload ended; every document it had finished is "
               "stored whole (see the document list), the others are not — upload those again")
logger = logging.getLogger("cppcc_kb.jobs")


@dataclass
class IngestJob:
    id: str
    files: list[str]  # file names, in upload order
    folder: Path | None  # where they wait; removed when the job ends
    paths: list[Path] = field(default_factory=list, repr=False)
    status: str = "queued"  # queued | waiting | running | done | failed
    done: int = 0  # files read so far
    total: int = 0
    chunks: int = 0
    note: str = ""  # what it waits for, or why it failed
    outcomes: list = field(default_factory=list)  # FileOutcome rows, once done
    refused: list = field(default_factory=list)  # rows of files refused before the job (faces')
    actor: str = ""  # who uploaded, for the audit trail (api, desk)
    created: float = field(default_factory=time.time)
    started: float = 0.0
    finished: float = 0.0

    @property
    def ended(self) -> bool:
        return self.status in ("done", "failed")


class JobLog:
    """Jobs as rows of a small SQLite file, written as they change (each write its own
    connection: the API, the desk and the worker write from their own threads)."""

    _COLUMNS = ("id", "files", "status", "done", "total", "chunks", "note", "outcomes",
                "refused", "actor", "created", "started", "finished", "owner")

    def __init__(self, path: Path):
        self.path = path
        self._broken = False
        self._write("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, files TEXT, "
                    "status TEXT, done INTEGER, total INTEGER, chunks INTEGER, note TEXT, "
                    "outcomes TEXT, refused TEXT, actor TEXT, created REAL, started REAL, "
                    "finished REAL, owner INTEGER)")

    def save(self, job: IngestJob) -> None:
        row = (job.id, json.dumps(job.files, ensure_ascii=False), job.status, job.done,
               job.total, job.chunks, job.note,
               json.dumps([asdict(o) for o in job.outcomes], ensure_ascii=False),
               json.dumps([_as_dict(r) for r in job.refused], ensure_ascii=False), job.actor,
               job.created, job.started, job.finished, os.getpid())
        self._write(f"INSERT OR REPLACE INTO jobs VALUES ({', '.join('?' * len(row))})", row)

    def recent(self, limit: int) -> list[IngestJob]:
        """The newest `limit` jobs, oldest first; those that had not ended are marked failed
        when the process that ran them is gone, and saved so (a job another live server runs
        over a shared folder is its own and left out)."""
        from ingest.pipeline import FileOutcome

        try:
            with sqlite3.connect(self.path, timeout=5) as db:
                rows = db.execute(f"SELECT {', '.join(self._COLUMNS)} FROM jobs "
                                  "ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        except sqlite3.Error as exc:
            self._failed(exc)
            return []
        jobs = []
        for (job_id, files, status, done, total, chunks, note, outcomes, refused, actor,
             created, started, finished, owner) in reversed(rows):
            job = IngestJob(job_id, json.loads(files), None, status=status, done=done,
                            total=total, chunks=chunks, note=note,
                            outcomes=[FileOutcome(**o) for o in json.loads(outcomes)],
                            refused=json.loads(refused), actor=actor, created=created,
                            started=started, finished=finished)
            if not job.ended and owner != os.getpid() and _alive(owner):
                continue
            if not job.ended:
                job.status, job.note = "failed", INTERRUPTED
                job.finished = job.finished or time.time()
                self.save(job)
            jobs.append(job)
        return jobs

    def _write(self, sql: str, args: tuple = ()) -> None:
        try:
            with sqlite3.connect(self.path, timeout=5) as db:
                db.execute(sql, args)
        except sqlite3.Error as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if not self._broken:
            self._broken = True
            logger.warning("the upload jobs' log %s cannot be used (%s); jobs go on in memory "
                           "and a restart will not list them — move the file away to start a "
                           "new one", self.path, exc)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _as_dict(row) -> dict:
    """A face's row of a refused file (a pydantic model or already a dict), as plain data."""
    return row.model_dump() if hasattr(row, "model_dump") else dict(row)


class IngestQueue:
    """Jobs over one knowledge base, run one at a time by a worker thread."""

    def __init__(self, kb, lock_wait_s: float = 600.0, after=None, log: JobLog | None = None):
        """`after(job)` runs on the worker once a job has stored something (the staff loop
        asks the unanswered questions again). `log` keeps the jobs across restarts."""
        self.kb, self.lock_wait_s, self.after, self.log = kb, lock_wait_s, after, log
        self.closing = False
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict(
            (job.id, job) for job in (log.recent(_KEEP) if log is not None else []))
        self._pending: list[IngestJob] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None

    def submit(self, paths: list[Path], folder: Path | None = None, actor: str = "",
               refused: list | None = None) -> IngestJob:
        """Queue an upload; `refused`: the face's rows of files refused before the job."""
        job = IngestJob(id="job-" + secrets.token_hex(6), files=[p.name for p in paths],
                        folder=folder, paths=list(paths), total=len(paths), actor=actor,
                        refused=list(refused or []))
        with self._cond:
            self._jobs[job.id] = job
            while len(self._jobs) > _KEEP:
                oldest = next(iter(self._jobs.values()))
                if not oldest.ended:
                    break
                self._jobs.popitem(last=False)
            self._pending.append(job)
            self._save(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="ingest-jobs",
                                                daemon=True)
                self._worker.start()
            self._cond.notify_all()
        return job

    def close(self, timeout: float = 60.0) -> bool:
        """A server's shutdown: no follow-up work starts; wait (up to `timeout`) for the job
        that runs. True when the worker is idle."""
        self.closing = True
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and self._pending[0].started and time.monotonic() < deadline:
                self._cond.wait(0.2)
            return not (self._pending and self._pending[0].started)

    def get(self, job_id: str) -> IngestJob | None:
        return self._jobs.get(job_id)

    def _save(self, job: IngestJob) -> None:
        if self.log is not None:
            self.log.save(job)

    def recent(self) -> list[IngestJob]:
        return list(reversed(self._jobs.values()))

    def wait(self, job: IngestJob, timeout: float | None = None) -> IngestJob:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not job.ended:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left if left is not None else 1.0)
        return job

    def position(self, job: IngestJob) -> int:
        """How many jobs run before this one (0: it is next or running)."""
        with self._cond:
            return self._pending.index(job) if job in self._pending else 0

    # ---- the worker ------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    if not self._cond.wait(60):
                        self._worker = None  # idle a minute: the next submit starts another
                        return
                job = self._pending[0]
            try:
                self._run(job)
                job.finished = time.time()  # stored; what `after` does is not the upload's time
                if self.after is not None and not self.closing and job.status == "done" and any(
                        o.status in ("added", "updated") for o in job.outcomes):
                    job.note = "正在用新文件重新检查未回答的问题…"
                    try:
                        self.after(job)
                    except Exception:  # noqa: BLE001 — the upload itself succeeded
                        logger.exception("after job %s", job.id)
                    job.note = ""
            finally:
                with self._cond:
                    self._pending.remove(job)
                    job.finished = job.finished or time.time()
                    self._cond.notify_all()
                self._save(job)
                if job.folder is not None:
                    shutil.rmtree(job.folder, ignore_errors=True)

    def _run(self, job: IngestJob) -> None:
        from ingest.pipeline import ingest_paths

        job.started = time.time()
        deadline = time.monotonic() + self.lock_wait_s

        def progress(done: int, total: int, summary) -> None:
            job.done, job.total, job.chunks = done, total, summary.chunks
            self._save(job)

        while True:
            job.status = "running"
            self._save(job)
            try:
                summary = ingest_paths(job.paths, self.kb.settings, kb=self.kb,
                                       progress=progress, actor=job.actor or None)
            except StoreLocked as exc:
                if time.monotonic() > deadline:
                    job.status, job.note = "failed", f"{exc} (waited {self.lock_wait_s:.0f} s)"
                    return
                job.status, job.note = "waiting", str(exc)
                self._save(job)
                time.sleep(_RETRY_S)
                continue
            except KBError as exc:
                job.status, job.note = "failed", str(exc)
                return
            except Exception as exc:  # noqa: BLE001 — a job reports, the worker goes on
                logger.exception("ingest job %s failed", job.id)
                job.status, job.note = "failed", f"internal error ({type(exc).__name__})"
                return
            job.outcomes, job.chunks, job.note = summary.outcomes, summary.chunks, ""
            job.done = job.total
            job.status = "done"
            return
