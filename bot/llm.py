"""Answers written by an OpenAI-compatible LLM (vLLM, Ollama, llama.cpp, hosted Qwen/DeepSeek), streamed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import openai
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from bot.errors import LLMUnavailable
from cppcc_kb.settings import Settings

NOT_FOUND = "知识库中没有找到相关内容。"
MAX_TOKENS = 512  # 1–3 sentences fit easily; the cap bounds a model that rambles
MAX_HISTORY = 5  # enough to resolve "那2024年呢？"; older turns only cost prompt tokens
HEALTH_TIMEOUT_S = 5.0

SYSTEM_PROMPT = f"""你是政协知识库的问答助手，为政协委员回答问题。回答时必须遵守：
1. 只根据用户消息中编号的资料回答，不使用资料以外的任何知识。
2. 每个事实后面紧跟它所依据的资料编号，例如：……[1]。
3. 数字、日期、名称必须与资料原文完全一致地照抄，不要换算、估算或改写。
4. 如果资料中没有问题的答案，只回答：{NOT_FOUND}
5. 回答简短，一到三句话。
6. “之前的问题”只用来理解当前问题指的是什么（例如“那2024年呢？”），不要回答之前的问题。"""

_clients: dict[tuple[str, str, str, float], ChatOpenAI] = {}
_clients_lock = threading.Lock()


def stream_llm_answer(question: str, history: list[str], passages: list[str], settings: Settings,
                      *, max_tokens: int = MAX_TOKENS) -> Iterator[str]:
    """Yield the answer's text deltas as they arrive; any failure, even midway, raises LLMUnavailable."""
    base_url = _require_base_url(settings)
    if not passages:
        # Nothing to cite: the prompt's own rule gives this reply, so skip the round trip.
        yield NOT_FOUND
        return
    client = _client(settings)
    messages = build_messages(question, history, passages)
    seen = ""
    try:
        # max_tokens via extra_body: langchain renames the field to max_completion_tokens,
        # which llama-cpp-python and older Ollama ignore (they would then run to n_ctx).
        for chunk in client.stream(messages, extra_body={"max_tokens": max_tokens}):
            text = str(chunk.text)
            if text:
                seen += text
                yield text
    except Exception as exc:  # any failure means "no LLM answer"; the chain falls back to extraction
        raise LLMUnavailable(_describe_failure(exc, settings, base_url, len(seen))) from exc
    if not seen.strip():
        raise LLMUnavailable(
            f"LLM endpoint {base_url} (model {settings.llm_model!r}) sent an empty reply — "
            "check that the model is loaded and is a chat model (see the server's log)")


def build_messages(question: str, history: list[str], passages: list[str]) -> list[BaseMessage]:
    """The system rules, then earlier questions, the numbered passages and the question."""
    parts = []
    earlier = [q.strip() for q in history if q and q.strip()][-MAX_HISTORY:]
    if earlier:
        parts.append("之前的问题：\n" + "\n".join(f"- {q}" for q in earlier))
    parts.append("资料：\n" + "\n".join(f"[{i}] {p.strip()}" for i, p in enumerate(passages, 1)))
    parts.append(f"问题：{question.strip()}")
    return [SystemMessage(SYSTEM_PROMPT), HumanMessage("\n\n".join(parts))]


def llm_health(settings: Settings) -> str | None:
    """None when the endpoint lists its models (or no LLM is configured), else what is wrong."""
    if not settings.llm_base_url:
        if settings.effective_mode == "llm":
            return ("answer_mode is llm but CPPCC_KB_LLM_BASE_URL is unset — "
                    "set it to an OpenAI-compatible endpoint, or use answer_mode auto")
        return None
    url = settings.llm_base_url.rstrip("/") + "/models"
    timeout = min(settings.llm_timeout_s, HEALTH_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {settings.llm_api_key.get_secret_value()}"}
    try:
        resp = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return f"LLM endpoint {url} did not answer within {timeout:g} s — check the server's load"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return (f"LLM endpoint {url} cannot be reached ({exc}) — "
                "start the server or fix CPPCC_KB_LLM_BASE_URL")
    if resp.status_code != 200:
        return f"LLM endpoint {url} answered HTTP {resp.status_code} — {_status_fix(resp.status_code)}"
    try:
        resp.json()
    except ValueError:
        return (f"LLM endpoint {url} did not answer with JSON — "
                "CPPCC_KB_LLM_BASE_URL must be the OpenAI-compatible root, usually ending in /v1")
    return None


def _require_base_url(settings: Settings) -> str:
    """The configured endpoint, or LLMUnavailable saying how to set one."""
    if not settings.llm_base_url:
        raise LLMUnavailable("no LLM endpoint configured — set CPPCC_KB_LLM_BASE_URL "
                             "(e.g. http://127.0.0.1:8080/v1) or use answer_mode extractive")
    return settings.llm_base_url


def _client(settings: Settings) -> ChatOpenAI:
    """One ChatOpenAI per endpoint and model, built on first use."""
    # Key and timeout are part of the key too, so changed settings never reuse a stale client.
    key = (settings.llm_base_url or "", settings.llm_model,
           settings.llm_api_key.get_secret_value(), settings.llm_timeout_s)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = ChatOpenAI(
                base_url=settings.llm_base_url, model=settings.llm_model,
                api_key=settings.llm_api_key, timeout=settings.llm_timeout_s,
                max_retries=0, streaming=True, temperature=0)
        return _clients[key]


def _describe_failure(exc: Exception, settings: Settings, base_url: str, chars_seen: int) -> str:
    """What went wrong with the endpoint, in one line that names it and the fix."""
    where = f"LLM endpoint {base_url} (model {settings.llm_model!r})"
    midway = f" after {chars_seen} characters of the answer" if chars_seen else ""
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException)):
        return (f"{where} sent nothing for {settings.llm_timeout_s:g} s{midway} — check that the "
                "server is up and not overloaded, or raise CPPCC_KB_LLM_TIMEOUT_S")
    if isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
        cause = exc.__cause__ or exc
        return (f"{where} could not be reached or dropped the connection{midway} ({cause}) — "
                "start the server or fix CPPCC_KB_LLM_BASE_URL")
    if isinstance(exc, openai.APIStatusError):
        return (f"{where} answered HTTP {exc.status_code}{midway}: {_short(exc.message)} — "
                f"{_status_fix(exc.status_code)}")
    return (f"{where} sent a reply that could not be read{midway} ({type(exc).__name__}: "
            f"{_short(str(exc))}) — CPPCC_KB_LLM_BASE_URL must be an OpenAI-compatible root, "
            "usually ending in /v1")


def _status_fix(status: int) -> str:
    """The likely fix for an HTTP error status from the endpoint."""
    if status in (401, 403):
        return "check CPPCC_KB_LLM_API_KEY"
    if status == 404:
        return "check CPPCC_KB_LLM_MODEL and that CPPCC_KB_LLM_BASE_URL ends in /v1"
    if status == 429:
        return "the endpoint is rate-limiting; wait or raise its quota"
    return "see the server's log"


def _short(text: str, limit: int = 200) -> str:
    """One line of at most `limit` characters, for error messages."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "…"
