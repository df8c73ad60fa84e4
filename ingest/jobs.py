"""Uploads as jobs: one worker per server process ingests them in order, so a second upload
waits its turn instead of failing, a long one never holds an HTTP request open, and anyone
can watch its progress (`GET /api/jobs/{id}`, the staff desk).

A job's files wait in `data/uploads/` (removed when the job ends, and swept by the next `serve`
after a kill). When another process holds the ingest lock (a CLI `ingest` over a shared
`chroma run` store), the job shows `waiting` with who holds it, and retries until
`lock_wait_s` has passed.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from cppcc_kb.errors import KBError
from ingest.errors import StoreLocked

_KEEP = 200  # finished jobs remembered per process
_RETRY_S = 1.0


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


class IngestQueue:
    """Jobs over one knowledge base, run one at a time by a worker thread."""

    def __init__(self, kb, lock_wait_s: float = 600.0, after=None):
        """`after(job)` runs on the worker once a job has stored something (the staff loop
        asks the unanswered questions again)."""
        self.kb, self.lock_wait_s, self.after = kb, lock_wait_s, after
        self.closing = False
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._pending: list[IngestJob] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None

    def submit(self, paths: list[Path], folder: Path | None = None,
               actor: str = "") -> IngestJob:
        job = IngestJob(id="job-" + secrets.token_hex(6), files=[p.name for p in paths],
                        folder=folder, paths=list(paths), total=len(paths), actor=actor)
        with self._cond:
            self._jobs[job.id] = job
            while len(self._jobs) > _KEEP:
                oldest = next(iter(self._jobs.values()))
                if not oldest.ended:
                    break
                self._jobs.popitem(last=False)
            self._pending.append(job)
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
                        import logging

                        logging.getLogger("cppcc_kb.jobs").exception("after job %s", job.id)
                    job.note = ""
            finally:
                with self._cond:
                    self._pending.remove(job)
                    job.finished = job.finished or time.time()
                    self._cond.notify_all()
                if job.folder is not None:
                    shutil.rmtree(job.folder, ignore_errors=True)

    def _run(self, job: IngestJob) -> None:
        from ingest.pipeline import ingest_paths

        job.started = time.time()
        deadline = time.monotonic() + self.lock_wait_s

        def progress(done: int, total: int, summary) -> None:
            job.done, job.total, job.chunks = done, total, summary.chunks

        while True:
            job.status = "running"
            try:
                summary = ingest_paths(job.paths, self.kb.settings, kb=self.kb,
                                       progress=progress, actor=job.actor or None)
            except StoreLocked as exc:
                if time.monotonic() > deadline:
                    job.status, job.note = "failed", f"{exc} (waited {self.lock_wait_s:.0f} s)"
                    return
                job.status, job.note = "waiting", str(exc)
                time.sleep(_RETRY_S)
                continue
            except KBError as exc:
                job.status, job.note = "failed", str(exc)
                return
            except Exception as exc:  # noqa: BLE001 — a job reports, the worker goes on
                import logging

                logging.getLogger("cppcc_kb.jobs").exception("ingest job %s failed", job.id)
                job.status, job.note = "failed", f"internal error ({type(exc).__name__})"
                return
            job.outcomes, job.chunks, job.note = summary.outcomes, summary.chunks, ""
            job.done = job.total
            job.status = "done"
            return
