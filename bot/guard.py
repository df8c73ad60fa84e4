"""The HTTP edge's guard: limits on what a caller sends, enforced before any work, and errors
that never cost the connection.

A pure ASGI middleware around the whole app (API and Gradio page):
- a request body over its limit gets 413 before it is read (Content-Length), or as soon as the
  streamed bytes pass the limit (chunked bodies);
- an unexpected exception becomes one logged traceback and a JSON 500, without re-raising, so
  the client's keep-alive connection stays usable;
- a store outage is logged once when it starts and once when it ends (`Outage`), not once per
  request;
- work for a caller who went away is stopped (`while_connected`): an LLM answer stops writing
  within a poll of the asker closing the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
DISCONNECT_POLL_S = 0.25  # how often a running answer looks whether its asker is still there

logger = logging.getLogger("cppcc_kb.api")

STORE_DOWN_ZH = "知识库暂时无法访问，请稍后再试。"


async def while_connected(request, work: Callable[[Callable[[], bool]], T]) -> T:
    """`work(cancelled)` in a worker thread while the caller stays connected; once the caller
    has gone, `cancelled()` turns true so the work stops at its next check (an LLM answer:
    between two deltas) rather than running to its timeout for nobody."""
    from starlette.concurrency import run_in_threadpool

    gone = threading.Event()
    task = asyncio.ensure_future(run_in_threadpool(work, gone.is_set))
    while True:
        done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
        if done:
            return task.result()
        if not gone.is_set() and await request.is_disconnected():
            gone.set()
            logger.info("%s %s: the caller went away; stopping its answer",
                        request.method, request.url.path)


@dataclass(frozen=True)
class BodyLimits:
    """Largest body per request kind, in bytes: uploads (the staff API and Gradio's upload
    endpoint) have their own, everything else `default`."""

    default: int
    upload: int

    def of(self, method: str, path: str) -> int:
        if method == "POST" and (path == "/api/documents" or path.endswith("/gradio_api/upload")):
            return self.upload
        return self.default


class TooLarge(Exception):
    pass


class Outage:
    """Whether the store is down: the first failure and the recovery each log one line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None
        self.cause = ""
        self.refused = 0

    def down(self, cause: str) -> None:
        with self._lock:
            self.refused += 1
            if self.since is None:
                self.since, self.cause = time.time(), cause
                logger.error("the knowledge base store is unreachable; answering 503 until it "
                             "is back: %s", cause)

    def up(self) -> None:
        if self.since is None:
            return
        with self._lock:
            if self.since is not None:
                logger.warning("the knowledge base store is reachable again after %.1f s "
                               "(%d requests refused meanwhile)", time.time() - self.since,
                               self.refused)
                self.since, self.cause, self.refused = None, "", 0


class RecentCount:
    """How many times each caller did something within the last `window_s` seconds."""

    def __init__(self, most: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.most, self.window_s, self.clock = most, window_s, clock
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = {}

    def allow(self, who: str) -> bool:
        """Count one more for `who`, unless that would pass `most` within the window."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._times.get(who, []) if now - t < self.window_s]
            allowed = len(recent) < self.most
            self._times[who] = recent + [now] if allowed else recent
            if len(self._times) > 10_000:
                self._times = {k: v for k, v in self._times.items() if v}
            return allowed


class Guard:
    """ASGI middleware: body limits, a rate on Gradio's file uploads, and a last-resort 500
    that keeps the connection."""

    def __init__(self, app, limits: BodyLimits, outage: Outage,
                 uploads: RecentCount | None = None, sessions: "StaffSessions | None" = None):
        self.app, self.limits, self.outage = app, limits, outage
        self.uploads = uploads or RecentCount(most=20, window_s=60.0)
        self.sessions = sessions  # None: no staff desk, so no one may upload through Gradio

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limits.of(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _json(send, 413, _too_large(declared, limit, scope["path"]))
        if scope["path"].endswith("/gradio_api/upload"):
            # Only the staff desk has a file input: an upload needs its login cookie.
            if self.sessions is None or not self.sessions.valid(_cookie(scope,
                                                                        StaffSessions.COOKIE)):
                return await _json(send, 403, "file uploads are for staff logged in on the "
                                              "desk (工作人员); log in there first")
            who = (scope.get("client") or ("?",))[0]
            if not self.uploads.allow(who):
                return await _json(send, 429, "too many file uploads from this address in the "
                                              "last minute; wait a minute and upload again")
        started = over = False
        status = seen = 0

        async def limited_receive():
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True  # FastAPI turns errors while reading a body into its own 400
                    raise TooLarge()
            return message

        async def tracked_send(message):
            nonlocal started, status
            if over:  # whatever the app answers to a body cut short, the caller gets the 413
                if message["type"] == "http.response.start" and not started:
                    started, status = True, 413
                    await _json(send, 413, _too_large(seen, limit, scope["path"]))
                return
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except TooLarge:
            pass
        except Exception:
            logger.exception("%s %s failed", scope["method"], scope["path"])
            if not started:
                await _json(send, 500, "internal error; the server log has the details")
            return
        if over and not started:
            await _json(send, 413, _too_large(seen, limit, scope["path"]))
            return
        if status == 200 and scope["path"].startswith("/api/ask"):
            self.outage.up()  # an answer always reads the store: it is back


def _cookie(scope, name: str) -> str | None:
    from http.cookies import SimpleCookie

    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 — a malformed cookie header is no login
                return None
            if name in jar:
                return jar[name].value
    return None


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(size: int, limit: int, path: str) -> str:
    what = "the upload" if path.endswith(("/documents", "/upload")) else "the request body"
    return (f"{what} is over {limit // 1024} KB ({size // 1024} KB or more sent); nothing was "
            "read or stored — send less (a question, its last earlier questions and filters "
            "fit well within the limit)")


async def _json(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class LoginThrottle:
    """Back-off for wrong staff tokens: after `free` wrong tries from one address, each further
    one waits twice as long as the last (from `base_s` up to `cap_s`); a right token clears it.
    Every address also shares one budget (`free_all`), so spreading guesses over many addresses
    does not escape it. Plain state, one instance per server process, shared by API and desk."""

    def __init__(self, free: int = 5, free_all: int = 50, base_s: float = 1.0,
                 cap_s: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.free, self.free_all, self.base_s, self.cap_s, self.clock = (
            free, free_all, base_s, cap_s, clock)
        self._lock = threading.Lock()
        self._wrong: dict[str, tuple[int, float]] = {}  # who -> (wrong tries, blocked until)

    def wait(self, who: str) -> int:
        """Whole seconds `who` must wait before the next try (0: may try now)."""
        now = self.clock()
        with self._lock:
            until = max(self._wrong.get(who, (0, 0.0))[1], self._wrong.get("*", (0, 0.0))[1])
        return math.ceil(until - now) if until > now else 0

    def failed(self, who: str) -> None:
        now = self.clock()
        with self._lock:
            for key, free in ((who, self.free), ("*", self.free_all)):
                count = self._wrong.get(key, (0, 0.0))[0] + 1
                over = count - free
                until = now + min(self.cap_s, self.base_s * 2 ** (over - 1)) if over > 0 else 0.0
                self._wrong[key] = (count, until)
            if len(self._wrong) > 10_000:  # bounded memory under a spray of addresses
                self._wrong = {k: v for k, v in self._wrong.items() if v[1] > now or k == "*"}

    def succeeded(self, who: str) -> None:
        with self._lock:
            self._wrong.pop(who, None)


class StaffSessions:
    """Desk logins held on the server: a random id handed to the browser as a cookie at login,
    checked on every staff action, dropped at logout or after `ttl_s`. Nothing the client
    chooses (Gradio's session hash) carries a login."""

    COOKIE = "kb_staff"

    def __init__(self, ttl_s: float = 8 * 3600, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.clock = ttl_s, clock
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def issue(self) -> str:
        import secrets

        sid = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._until = {k: v for k, v in self._until.items() if v > now}
            self._until[sid] = now + self.ttl_s
        return sid

    def valid(self, sid: str | None) -> bool:
        with self._lock:
            return bool(sid) and self._until.get(sid, 0.0) > self.clock()

    def revoke(self, sid: str | None) -> None:
        with self._lock:
            self._until.pop(sid or "", None)
