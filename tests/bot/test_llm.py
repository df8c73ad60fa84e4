"""bot.llm against a real llama.cpp server (Gemma 3 270M) and against endpoints that misbehave."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bot.errors import AnswerError, LLMUnavailable
from bot.llm import MAX_HISTORY, NOT_FOUND, _client, build_messages, llm_health, stream_llm_answer
from cppcc_kb.settings import Settings
from tests.support.llm_server import MODEL_ALIAS, free_port, running_llm_server

PASSAGES = [
    "2023年，全国政协十四届一次会议以来共收到提案5621件，经审查立案4720件。",
    "2024年，全国政协十四届二次会议以来共收到提案5898件，经审查立案5091件。",
]
QUESTION = "2023年全国政协收到多少件提案？"
MAX_TOKENS = 64  # keeps each real generation to a couple of seconds on 2 cores


def settings_for(base_url: str, *, model: str = MODEL_ALIAS, timeout_s: float = 30.0) -> Settings:
    """Settings pointing at `base_url`, independent of the caller's environment."""
    return Settings(llm_base_url=base_url, llm_model=model, llm_timeout_s=timeout_s)


def answer(settings: Settings, passages: list[str] = PASSAGES, history: list[str] | None = None,
           question: str = QUESTION) -> list[str]:
    """All deltas of one streamed answer."""
    return list(stream_llm_answer(question, history or [], passages, settings,
                                  max_tokens=MAX_TOKENS))


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with running_llm_server(n_ctx=2048, threads=2) as base_url:
        yield base_url


# --- fake endpoints -------------------------------------------------------------------------

@contextmanager
def http_endpoint(reply: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[tuple[str, list]]:
    """An HTTP server on 127.0.0.1 whose requests `reply` answers; yields (base URL, requests seen)."""
    requests: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 — http.server's naming
            self.body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            requests.append((self.path, json.loads(self.body or b"{}")))
            reply(self)
            self.close_connection = True  # no idle keep-alive threads left behind

        def do_GET(self):  # noqa: N802
            requests.append((self.path, {}))
            reply(self)
            self.close_connection = True

        def log_message(self, *args):  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def hanging_endpoint() -> Iterator[str]:
    """A TCP server that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever():
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def sse_event(content: str | None = None, role: str | None = None) -> bytes:
    """One chat.completion.chunk as a server-sent event."""
    delta = {k: v for k, v in (("role", role), ("content", content)) if v is not None}
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()


def send(handler: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes) -> None:
    """A complete response with a Content-Length."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)


def send_chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    """One piece of a chunked (streamed) body."""
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    handler.wfile.flush()


def start_stream(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Connection", "close")
    handler.end_headers()


@contextmanager
def relay_to(upstream_base: str) -> Iterator[tuple[str, list]]:
    """A pass-through proxy in front of `upstream_base` that records each request it forwards."""
    upstream_root = upstream_base.removesuffix("/v1")

    def forward(handler: BaseHTTPRequestHandler) -> None:
        with httpx.stream("POST", upstream_root + handler.path, content=handler.body, timeout=60,
                          headers={"Content-Type": "application/json"}) as upstream:
            handler.send_response(upstream.status_code)
            handler.send_header("Content-Type", upstream.headers.get("Content-Type", ""))
            handler.send_header("Transfer-Encoding", "chunked")
            handler.send_header("Connection", "close")
            handler.end_headers()
            for piece in upstream.iter_raw():
                send_chunk(handler, piece)
            handler.wfile.write(b"0\r\n\r\n")

    with http_endpoint(forward) as (base_url, requests):
        yield base_url, requests


# --- the real server -------------------------------------------------------------------------

@pytest.mark.slow
def test_real_server_streams_several_deltas(llm_url):
    deltas = answer(settings_for(llm_url))
    assert len(deltas) >= 3, deltas
    assert all(isinstance(d, str) and d for d in deltas)
    assert "".join(deltas).strip()


@pytest.mark.slow
def test_real_server_gets_the_settings_model_prompt_and_limits(llm_url):
    with relay_to(llm_url) as (relay_url, requests):
        settings = settings_for(relay_url, model="cppcc-kb-test-model")
        deltas = answer(settings, history=["2022年收到多少件提案？"], question="那2023年呢？")
    assert "".join(deltas).strip()
    [(path, body)] = requests
    assert path == "/v1/chat/completions"
    assert body["model"] == "cppcc-kb-test-model"
    assert body["stream"] is True and body["temperature"] == 0 and body["max_tokens"] == MAX_TOKENS
    system, user = body["messages"]
    assert system["role"] == "system" and NOT_FOUND in system["content"]
    assert user["role"] == "user"
    assert f"[1] {PASSAGES[0]}" in user["content"] and f"[2] {PASSAGES[1]}" in user["content"]
    assert "2022年收到多少件提案？" in user["content"] and "那2023年呢？" in user["content"]


@pytest.mark.slow
def test_health_is_none_for_the_real_server(llm_url):
    assert llm_health(settings_for(llm_url)) is None


# --- endpoints that fail ---------------------------------------------------------------------

def test_down_endpoint_raises_within_two_seconds():
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as caught:
        answer(settings_for(base_url, timeout_s=10))
    assert time.monotonic() - started < 2
    assert base_url in str(caught.value) and "CPPCC_KB_LLM_BASE_URL" in str(caught.value)
    assert isinstance(caught.value, AnswerError)


def test_hanging_endpoint_raises_after_the_timeout():
    with hanging_endpoint() as base_url:
        started = time.monotonic()
        with pytest.raises(LLMUnavailable) as caught:
            answer(settings_for(base_url, timeout_s=1.5))
        elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 5, elapsed
    assert base_url in str(caught.value) and "1.5 s" in str(caught.value)


def test_http_500_raises():
    error = json.dumps({"error": {"message": "model crashed", "type": "server_error"}}).encode()
    with http_endpoint(lambda h: send(h, 500, "application/json", error)) as (base_url, requests):
        with pytest.raises(LLMUnavailable) as caught:
            answer(settings_for(base_url))
    assert len(requests) == 1  # max_retries=0: the chain's fallback must not wait for retries
    assert "HTTP 500" in str(caught.value) and base_url in str(caught.value)


def test_empty_reply_raises():
    body = sse_event(role="assistant") + sse_event(content="") + b"data: [DONE]\n\n"
    with http_endpoint(lambda h: send(h, 200, "text/event-stream", body)) as (base_url, _):
        with pytest.raises(LLMUnavailable, match="empty reply"):
            answer(settings_for(base_url))


def test_malformed_reply_raises():
    body = b"data: {this is not json\n\n"
    with http_endpoint(lambda h: send(h, 200, "text/event-stream", body)) as (base_url, _):
        with pytest.raises(LLMUnavailable, match="could not be read") as caught:
            answer(settings_for(base_url))
    assert base_url in str(caught.value)


def test_stream_broken_midway_raises_after_the_first_delta():
    def reply(handler):
        start_stream(handler)
        send_chunk(handler, sse_event(content=first))
        handler.close_connection = True  # then vanish without finishing the chunked body

    first = "2023年共收到提案"
    with http_endpoint(reply) as (base_url, _):
        stream = stream_llm_answer(QUESTION, [], PASSAGES, settings_for(base_url, timeout_s=5))
        assert next(stream) == first
        with pytest.raises(LLMUnavailable, match=f"after {len(first)} characters") as caught:
            next(stream)
    assert base_url in str(caught.value)


def test_stream_stalled_midway_raises_after_the_timeout():
    release = threading.Event()

    def reply(handler):
        start_stream(handler)
        send_chunk(handler, sse_event(content="政协"))
        release.wait(10)  # stall: the timeout applies to every next token, not just the first

    with http_endpoint(reply) as (base_url, _):
        try:
            stream = stream_llm_answer(QUESTION, [], PASSAGES, settings_for(base_url, timeout_s=1))
            assert next(stream) == "政协"
            started = time.monotonic()
            with pytest.raises(LLMUnavailable, match="sent nothing for 1 s after 2 characters"):
                next(stream)
            assert time.monotonic() - started < 4
        finally:
            release.set()


# --- no round trip needed --------------------------------------------------------------------

def test_no_passages_answers_not_found_without_calling_the_endpoint():
    down = settings_for(f"http://127.0.0.1:{free_port()}/v1")
    assert list(stream_llm_answer(QUESTION, [], [], down)) == [NOT_FOUND]


def test_unset_endpoint_raises_with_the_setting_to_fix():
    with pytest.raises(LLMUnavailable, match="CPPCC_KB_LLM_BASE_URL"):
        answer(Settings(llm_base_url=None))


def test_client_is_built_once_per_endpoint_and_model():
    first = _client(settings_for("http://127.0.0.1:9/v1", model="a"))
    assert _client(settings_for("http://127.0.0.1:9/v1", model="a")) is first
    assert _client(settings_for("http://127.0.0.1:9/v1", model="b")) is not first
    assert first.model_name == "a" and str(first.openai_api_base) == "http://127.0.0.1:9/v1"
    assert first.max_retries == 0 and first.temperature == 0 and first.streaming


def test_prompt_numbers_passages_and_keeps_recent_history():
    history = [f"问题{i}" for i in range(MAX_HISTORY + 3)]
    system, user = build_messages("那2024年呢？", history, ["甲", "乙", "丙"])
    assert "知识库中没有找到相关内容。" in system.content and "[1]" in system.content
    assert "[1] 甲\n[2] 乙\n[3] 丙" in user.content
    assert "问题0" not in user.content and f"问题{MAX_HISTORY + 2}" in user.content
    assert user.content.rstrip().endswith("问题：那2024年呢？")


def test_health_reports_a_down_endpoint_and_ignores_an_unset_one():
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    message = llm_health(settings_for(base_url))
    assert message and f"{base_url}/models" in message and "CPPCC_KB_LLM_BASE_URL" in message
    assert llm_health(Settings(llm_base_url=None, answer_mode="auto")) is None
    assert "CPPCC_KB_LLM_BASE_URL" in llm_health(Settings(llm_base_url=None, answer_mode="llm"))


def test_health_reports_an_http_error():
    with http_endpoint(lambda h: send(h, 401, "application/json", b"{}")) as (base_url, requests):
        message = llm_health(settings_for(base_url))
    assert requests == [("/v1/models", {})]
    assert message and "HTTP 401" in message and "CPPCC_KB_LLM_API_KEY" in message
