"""Limits on what a caller sends, over real HTTP (uvicorn on 127.0.0.1, the shared-corpus bot):
each is a clear 4xx before any work, and none costs the connection."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest
from pydantic import SecretStr

from bot.app import create_api
from bot.guard import BodyLimits, LoginThrottle, RecentCount
from tests.support.serving import serving

WORKSHOPS = "淄博有多少家“政协委员工作室”？"
TOKEN = "guard-test-staff-token-41c9"


@pytest.fixture(scope="module")
def base(corpus_bot) -> str:
    settings = corpus_bot.settings.model_copy(update={"staff_token": SecretStr(TOKEN)})
    with serving(create_api(settings, corpus_bot)) as url:
        yield url


def raw_request(base: str, head: str, body: bytes = b"") -> tuple[int, dict, float]:
    """Send a hand-made request on a socket; (status, JSON body, seconds to the answer)."""
    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        started = time.perf_counter()
        sock.sendall(head.encode("utf-8") + body)
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < _length(reply):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
        seconds = time.perf_counter() - started
    status = int(reply.split(b" ", 2)[1])
    return status, json.loads(reply.split(b"\r\n\r\n", 1)[1] or b"{}"), seconds


def _length(reply: bytes) -> int:
    for line in reply.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def test_a_huge_declared_body_is_a_413_before_it_is_read(base):
    # 300 MB announced, a few bytes sent: the answer comes without waiting for the rest.
    head = ("POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 300000000\r\n\r\n")
    status, body, seconds = raw_request(base, head, b'{"question": "')
    assert status == 413 and "nothing was read" in body["detail"]


def test_a_chunked_body_past_the_limit_is_a_413(base):
    chunk = b"x" * 65536
    frames = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    head = ("POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    status, body, _ = raw_request(base, head, frames)
    assert status == 413 and "256 KB" in body["detail"]


@pytest.mark.parametrize("history, says", [
    (["那协商呢？"] * 21, "history holds 21 earlier questions"),
    (["问" * 600], "history entry 1 has 600 characters"),
])
def test_history_past_its_limits_is_a_422_naming_the_limit(base, history, says):
    with httpx.Client(base_url=base, timeout=60) as client:
        resp = client.post("/api/ask", json={"question": WORKSHOPS, "history": history})
    assert resp.status_code == 422 and says in resp.json()["detail"]


def test_a_million_character_history_is_refused_at_once(base):
    with httpx.Client(base_url=base, timeout=60) as client:
        resp = client.post("/api/ask", json={"question": WORKSHOPS, "history": ["问" * 1_000_000]})
    assert resp.status_code == 413


def test_a_lone_surrogate_is_a_422_and_the_connection_still_answers(base):
    body = '{"question": "\\ud800淄博有多少家“政协委员工作室”？"}'.encode("utf-8")
    with httpx.Client(base_url=base, timeout=120) as client:
        bad = client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
        assert bad.status_code == 422 and "U+D800" in bad.json()["detail"]
        for field in ({"history": ["\ud800"]}, {"filters": {"doc_ids": ["\ud800"]}}):
            raw = json.dumps({"question": WORKSHOPS, **field}).encode("utf-8")
            again = client.post("/api/ask", content=raw,
                                headers={"Content-Type": "application/json"})
            assert again.status_code == 422, again.text
        good = client.post("/api/ask", json={"question": WORKSHOPS})  # same keep-alive connection
    assert good.status_code == 200 and "44" in good.json()["answer"]


def test_too_many_filter_values_are_a_422(base):
    with httpx.Client(base_url=base, timeout=60) as client:
        resp = client.post("/api/ask", json={"question": WORKSHOPS,
                                             "filters": {"years": list(range(1800, 2100))}})
    assert resp.status_code == 422 and "at most 200" in resp.json()["detail"]


def test_wrong_staff_tokens_back_off_then_the_right_one_works_again(base):
    with httpx.Client(base_url=base, timeout=60) as client:
        wrong = {"Authorization": "Bearer not-the-token"}
        codes = [client.get("/api/documents", headers=wrong).status_code for _ in range(1)]
        staff = [client.delete("/api/documents/none", headers=wrong).status_code
                 for _ in range(6)]
        blocked = client.delete("/api/documents/none", headers=wrong)
        also_blocked = client.delete("/api/documents/none",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        time.sleep(int(blocked.headers["Retry-After"]) + 0.2)
        right = client.delete("/api/documents/none", headers={"Authorization": f"Bearer {TOKEN}"})
    assert codes == [200] and staff == [401] * 6
    assert blocked.status_code == 429 and "try again in" in blocked.json()["detail"]
    assert also_blocked.status_code == 429  # the guessing address waits, whatever it sends
    assert right.status_code == 404  # past the back-off the right token is let through


# ---- the pure parts ------------------------------------------------------------------------------
class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_login_throttle_doubles_the_wait_and_a_success_clears_it():
    clock = Clock()
    throttle = LoginThrottle(free=2, free_all=100, base_s=1, cap_s=8, clock=clock)
    waits = []
    for _ in range(7):
        throttle.failed("a")
        waits.append(throttle.wait("a"))
    assert waits == [0, 0, 1, 2, 4, 8, 8]
    assert throttle.wait("b") == 0  # another address is not held back by a's guesses
    clock.now += 8
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.wait("a") == 0


def test_login_throttle_holds_everyone_back_when_guesses_come_from_many_addresses():
    throttle = LoginThrottle(free=5, free_all=10, base_s=1, cap_s=8, clock=Clock())
    for n in range(11):
        throttle.failed(f"10.0.0.{n}")
    assert throttle.wait("10.9.9.9") == 1


def test_recent_count_allows_most_per_window():
    clock = Clock()
    uploads = RecentCount(most=3, window_s=60, clock=clock)
    assert [uploads.allow("a") for _ in range(4)] == [True, True, True, False]
    assert uploads.allow("b")
    clock.now += 61
    assert uploads.allow("a")


def test_body_limits_pick_the_upload_limit_only_for_uploads():
    limits = BodyLimits(default=10, upload=99)
    assert limits.of("POST", "/api/documents") == 99
    assert limits.of("POST", "/gradio_api/upload") == 99
    assert limits.of("POST", "/api/ask") == 10
    assert limits.of("GET", "/api/documents") == 10
