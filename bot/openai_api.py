"""The knowledge base as an OpenAI-compatible chat model: `POST /v1/chat/completions` (plain
or `stream: true`) and `GET /v1/models`, so the `openai` package, LangChain's `ChatOpenAI` and
chat front-ends can ask it.

A thin face over `Bot.ask`: the last user message is the question, the earlier user messages
its history (the last CPPCC_KB_MAX_HISTORY_TURNS of them). The reply's content is the answer
with its [n] markers and a "来源：" list; the same citations ride along as structured data in
the extra field `citations`, and `cppcc_kb` says whether it abstained, was verified, the
`log_id` for `POST /api/feedback`, and (a refusal for doubt) the `closest` passages.

A stream carries only the checked answer: an LLM's draft is verified before any of it is sent
(an OpenAI client cannot take back text it has shown), so the role chunk comes at once and the
answer in pieces once it is checked.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from bot.answer import Answer
from bot.chain import check_question_input
from bot.errors import QuestionError
from bot.guard import while_connected
from bot.plain import answer_text, citation_data
from cppcc_kb.errors import KBError

logger = logging.getLogger("cppcc_kb.api")

MODEL_ID = "cppcc-kb"
_CHUNK_CHARS = 24  # a stream's content arrives in pieces of about this many characters

router = APIRouter(prefix="/v1", tags=["openai"])


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI's chat request; sampling options are accepted and have no effect."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "model": MODEL_ID, "messages": [{"role": "user", "content": "淄博有多少家“政协委员工作室”？"}]}]})

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    filters: dict | None = Field(None, description="As /api/ask's filters (extra field).")
    top_k: int | None = Field(None, ge=1, le=20)
    mode: Literal["extractive", "llm"] | None = None


def text_of(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return "".join(str(part.get("text", "")) for part in message.content or []
                   if part.get("type") in ("text", "input_text"))


def question_and_history(messages: list[ChatMessage], max_turns: int) -> tuple[str, list[str]]:
    asked = [text_of(m) for m in messages if m.role == "user"]
    if not asked or not asked[-1].strip():
        raise QuestionError("the messages hold no question: the last message with role "
                            "\"user\" is the question; send it with text content")
    earlier = [q for q in asked[:-1] if q.strip()]
    return asked[-1], earlier[-max_turns:] if max_turns else []


@router.get("/models")
async def list_models() -> dict:
    """The one model this server offers: the knowledge base."""
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0,
                                        "owned_by": "cppcc-kb"}]}


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, request: Request) -> Response:
    """A cited answer from the knowledge base, as OpenAI's chat completion (or its stream)."""
    bot = request.app.state.bot
    client = request.client.host if request.client else ""
    try:
        question, history = question_and_history(body.messages, bot.settings.max_history_turns)
        check_question_input(question, history, bot.settings)  # 4xx before any stream starts
    except KBError as exc:
        return _error_response(exc)

    def answer(cancelled: Callable[[], bool] | None = None) -> Answer:
        return bot.ask(question, history=history, filters=body.filters, top_k=body.top_k,
                       mode=body.mode, log="openai", client=client, cancelled=cancelled)

    reply = _Reply(body.model)
    if body.stream:
        return StreamingResponse(reply.chunks(answer), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    try:
        done = await while_connected(request, answer)
    except KBError as exc:
        return _error_response(exc)
    return Response(json.dumps(reply.completion(done), ensure_ascii=False),
                    media_type="application/json")


def _error_body(exc: KBError) -> tuple[dict, int]:
    from bot.app import _status_of  # the API's one mapping of errors to statuses

    status = _status_of(exc)
    status = 400 if status == 422 else status  # OpenAI says 400 for a request it cannot take
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": str(exc), "type": kind, "param": None, "code": None}}, status


def _error_response(exc: KBError) -> JSONResponse:
    body, status = _error_body(exc)
    return JSONResponse(body, status_code=status)


class _Reply:
    def __init__(self, model: str):
        self.model = model or MODEL_ID
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())

    @staticmethod
    def extras(a: Answer) -> dict:
        return {"citations": [citation_data(c) for c in a.citations],
                "cppcc_kb": {"abstained": a.abstained, "verified": a.verified,
                             "reason": a.reason, "disputed": a.disputed, "mode": a.mode,
                             "log_id": a.log_id, "closest": a.closest}}

    def completion(self, answer: Answer) -> dict:
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": answer_text(answer)}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                **self.extras(answer)}

    def _chunk(self, delta: dict, finish: str | None = None, **extra: Any) -> str:
        data = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                             "logprobs": None}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def chunks(self, answer: Callable[[], Answer]) -> AsyncIterator[str]:
        """The role at once, the checked answer in pieces, its citations, then [DONE]."""
        yield self._chunk({"role": "assistant", "content": ""})
        try:
            done = await run_in_threadpool(answer)
        except KBError as exc:
            yield f"data: {json.dumps(_error_body(exc)[0], ensure_ascii=False)}\n\n"
            return
        except Exception:
            logger.exception("answering for /v1/chat/completions failed")
            yield ('data: {"error": {"message": "internal error while answering; the server '
                   'log has the details", "type": "server_error", "param": null, '
                   '"code": null}}\n\n')
            return
        text = answer_text(done)
        for start in range(0, len(text), _CHUNK_CHARS):
            yield self._chunk({"content": text[start:start + _CHUNK_CHARS]})
        yield self._chunk({}, "stop", **self.extras(done))
        yield "data: [DONE]\n\n"
