"""One ingest at a time per knowledge base: an advisory file lock with a readable holder note."""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import StoreLocked, StoreServed

SERVE_LOCK = "serve.lock"


@contextmanager
def ingest_lock(data_dir: Path, wait_s: float = 0.0):
    """Hold data_dir/ingest.lock for the block; a second holder gets StoreLocked — at once, or
    after waiting up to `wait_s` seconds for the first to finish.

    The kernel drops a flock when its process dies (even by kill -9), so a crash never leaves
    the knowledge base locked.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "ingest.lock"
    fh = open(path, "a+", encoding="utf-8")
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
    except BlockingIOError:
        info = _holder(fh)
        fh.close()
        since = time.strftime("%H:%M:%S", time.localtime(info.get("since", time.time())))
        raise StoreLocked(
            f"another ingest (pid {info.get('pid', '?')}, since {since}) is writing to "
            f"{data_dir}; wait for it to finish and run this again") from None
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "since": time.time()}))
        fh.flush()
        yield
    finally:
        fh.close()


def _holder(fh) -> dict:
    """The holder's note; it writes the note just after taking the lock, so wait a moment for
    it rather than report an unknown holder."""
    for _ in range(20):
        fh.seek(0)
        text = fh.read().strip()
        if text.startswith("{") and text.endswith("}"):
            try:
                return json.loads(text)
            except ValueError:
                pass
        time.sleep(0.025)
    return {}


@contextmanager
def serving_lease(data_dir: Path, url: str):
    """Hold data_dir/serve.lock while a server answers from this folder: a second `serve`, and
    the CLI's writing commands, see who holds it (`refuse_if_served`). Dropped by the kernel
    when the process dies."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fh = open(data_dir / SERVE_LOCK, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _served(data_dir, _holder(fh)) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "url": url, "since": time.time()}))
        fh.flush()
        yield
    finally:
        fh.close()


def refuse_if_served(data_dir: Path) -> None:
    """StoreServed when a running server holds data_dir (see `serving_lease`)."""
    path = data_dir / SERVE_LOCK
    if not path.exists():
        return
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _served(data_dir, _holder(fh)) from None


def serving_url(data_dir: Path) -> str | None:
    """The address of the `serve` that holds data_dir now, or None."""
    try:
        refuse_if_served(data_dir)
    except StoreServed:
        with open(data_dir / SERVE_LOCK, encoding="utf-8") as fh:
            return _holder(fh).get("url")
    return None


def _served(data_dir: Path, info: dict) -> StoreServed:
    url = info.get("url", "the running server")
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.get("since", time.time())))
    return StoreServed(
        f"{data_dir} is being served by `cppcc-kb serve` (pid {info.get('pid', '?')}, {url}, "
        f"since {since}); a second process's writes would not reach that server's index. Add "
        "or remove documents on its staff desk, or through its API (`curl -H \"Authorization: "
        f"Bearer $CPPCC_KB_STAFF_TOKEN\" -F files=@FILE {url}api/documents`), or stop the "
        "server first; several processes can share one knowledge base through a `chroma run` "
        "server (CPPCC_KB_CHROMA_URL)")
