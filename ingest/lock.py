"""One ingest at a time per knowledge base: an advisory file lock with a readable holder note."""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import StoreLocked


@contextmanager
def ingest_lock(data_dir: Path):
    """Hold data_dir/ingest.lock for the block; a second holder gets StoreLocked at once.

    The kernel drops a flock when its process dies (even by kill -9), so a crash never leaves
    the knowledge base locked.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "ingest.lock"
    fh = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "{}"
            info = json.loads(holder) if holder.startswith("{") else {}
            since = time.strftime("%H:%M:%S", time.localtime(info.get("since", time.time())))
            raise StoreLocked(
                f"another ingest (pid {info.get('pid', '?')}, since {since}) is writing to "
                f"{data_dir}; wait for it to finish and run this again") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "since": time.time()}))
        fh.flush()
        yield
    finally:
        fh.close()
