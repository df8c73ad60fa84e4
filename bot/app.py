"""The HTTP API: ask (JSON or server-sent events), documents (list, upload, delete) and health.

A thin face over `Bot` and the ingest pipeline. The Gradio UI mounts onto this same app at "/",
so every route here lives under /api and none is "/".
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect

from bot.answer import Answer
from bot.chain import Bot, get_bot
from bot.errors import AnswerCancelled, AnswerError
from bot.guard import (STORE_DOWN_ZH, BodyLimits, Guard, LoginThrottle, Outage, StaffSessions,
                       while_connected)
from bot.llm import llm_health
from bot.openai_api import router as openai_router
from bot.questionlog import MAX_COMMENT_CHARS, QuestionLogError
from bot.staffloop import StaffLoop
from cppcc_kb.errors import KBError
from cppcc_kb.settings import Settings
from ingest.audit import staff_actor
from ingest.documents import remove_documents
from ingest.embedder import embedder_identity
from ingest.errors import FileRejected, StoreLocked, StoreUnavailable
from ingest.jobs import IngestQueue, JobLog
from ingest.uploads import check_name, reason_en, safe_file_name

logger = logging.getLogger("cppcc_kb.api")

EXAMPLE_QUESTION = "淄博有多少家“政协委员工作室”？"
EXAMPLE_BODY = json.dumps({"question": EXAMPLE_QUESTION}, ensure_ascii=False)
_DELETE_WAIT_S = 120.0
MAX_UPLOAD_FILES = 20  # per request; bounds the temporary disk one upload can take
_MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the files' bytes
_STAFF_HELP = "send the staff token as `Authorization: Bearer TOKEN` or `X-Staff-Token: TOKEN`"


# ---- request and response bodies -----------------------------------------------------------
class AskFilters(BaseModel):
    """Narrow the search to some documents and/or years."""

    # Unknown keys pass through to Filters.parse, whose message names the keys to use instead.
    model_config = ConfigDict(extra="allow")

    doc_ids: list[str] = Field(default_factory=list, examples=[["doc-f29b92906d"]],
                               description="Only these documents (ids from GET /api/documents).")
    years: list[int] = Field(default_factory=list, examples=[[2025]],
                             description="Only documents about these years.")


class AskRequest(BaseModel):
    """A member's question and how to answer it."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"question": EXAMPLE_QUESTION}]})

    question: str = Field(description="The question; not empty, at most "
                                      "CPPCC_KB_MAX_QUESTION_CHARS (default 500) characters.")
    history: list[str] = Field(default_factory=list,
                               description="Earlier questions of this conversation, oldest first; "
                                           "lets a follow-up such as “那2024年呢？” be understood.")
    filters: AskFilters | None = Field(None, description="Search only some documents or years.")
    top_k: int | None = Field(None, ge=1, le=20,
                              description="Sources to show, 1–20 (default CPPCC_KB_TOP_K).")
    mode: Literal["extractive", "llm"] | None = Field(
        None, description="extractive (quotes the documents, offline) or llm (the configured LLM "
                          "writes; falls back to extractive when it is down). "
                          "Default: the server's.")
    log: bool = Field(True, description="false: not recorded in the question log (what "
                                        "`cppcc-kb ask` sends unless given --log).")

    def bot_args(self) -> dict[str, Any]:
        """Keyword arguments for Bot.ask / Bot.stream."""
        return {"question": self.question, "history": self.history, "top_k": self.top_k,
                "filters": self.filters.model_dump() if self.filters else None, "mode": self.mode}

    def face(self, request: Request) -> str:
        """The question log's face: `cppcc-kb ask` says it is the CLI; "" when not logged."""
        cli = request.headers.get("x-cppcc-kb-client") == "cli"
        return ("cli" if cli else "api") if self.log else ""


class DocumentOut(BaseModel):
    """One document of the knowledge base."""

    model_config = ConfigDict(from_attributes=True)

    doc_id: str = Field(description="Stable id, derived from the file name.")
    title: str
    date: str = Field(description="Date of the document (YYYY-MM-DD), or empty when unknown.")
    year: int = Field(description="Year of the document, 0 when unknown.")
    years: list[int] = Field(description="Years the document is about (the years filter).")
    source: str = Field(description="The file it was read from.")
    chunks: int
    kind: str = Field(description="law | report | news | document")
    issuer: str
    added_at: float = Field(description="Unix time of the first ingest.")
    updated_at: float = Field(description="Unix time of the last change.")


class UploadRow(BaseModel):
    """What became of one uploaded file."""

    file: str = Field(description="The file name (folders and control characters removed).")
    status: Literal["added", "updated", "unchanged", "failed"]
    doc_id: str = ""
    title: str = ""
    chunks: int = 0
    reason: str = Field("", description="Why the file failed.")
    fix: str = Field("", description="What to do about it.")


class UploadResult(BaseModel):
    files: list[UploadRow] = Field(description="One row per uploaded file, in upload order.")


class JobOut(BaseModel):
    """An upload's progress; its rows once it is done."""

    job_id: str
    status: Literal["queued", "waiting", "running", "done", "failed"]
    ahead: int = Field(description="Jobs that run before this one.")
    done: int = Field(description="Files read so far.")
    total: int
    chunks: int
    note: str = Field("", description="What it waits for, or why it failed.")
    files: list[UploadRow] = Field(description="One row per file: refused ones at once, the "
                                               "rest when the job is done.")
    created: float
    started: float
    finished: float


class LLMStatus(BaseModel):
    configured: bool = Field(description="Whether CPPCC_KB_LLM_BASE_URL is set.")
    model: str | None = None
    ok: bool
    problem: str | None = Field(None, description="What is wrong with the endpoint, and the fix.")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    documents: int
    chunks: int
    embedder: str
    answer_mode: str
    llm: LLMStatus
    problems: list[str] = Field(default_factory=list)


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong and how to fix it, in one sentence.")


# ---- the app -------------------------------------------------------------------------------
def create_api(settings: Settings, bot: Bot | None = None) -> FastAPI:
    """The API app over one Bot (models and indexes load once per process)."""
    bot = bot or get_bot(settings)
    if (bot.settings.data, bot.settings.chroma_url) != (settings.data, settings.chroma_url):
        raise ValueError("the bot's knowledge base is not the one in settings; "
                         "build the Bot from the same settings")
    app = FastAPI(title="政协知识库问答 API", version=_version(), lifespan=_lifespan,
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json",
                  description="Cited answers about the CPPCC's work, from the knowledge base. "
                              "Staff endpoints need the staff token (CPPCC_KB_STAFF_TOKEN).")
    app.state.settings = settings
    app.state.bot = bot
    app.state.outage = Outage()
    app.state.login_throttle = LoginThrottle()
    app.state.staff_loop = StaffLoop(bot)  # the unanswered queue, asked again after ingests
    app.state.jobs = IngestQueue(  # uploads of the API and the desk, one at a time
        bot.kb, after=lambda job: app.state.staff_loop.recheck(force=True),
        log=JobLog(settings.data / "jobs.sqlite"))
    app.include_router(router)
    app.include_router(openai_router)
    app.state.staff_sessions = StaffSessions()  # the desk's logins (ui/app.py issues them)
    app.add_middleware(Guard, outage=app.state.outage, limits=BodyLimits(
        default=settings.max_request_kb * 1024, upload=upload_limit(settings.max_file_bytes)),
        sessions=app.state.staff_sessions if settings.staff_token is not None else None)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(KBError, _kb_error)
    app.add_exception_handler(Exception, _unexpected)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(_warm_up, app.state.bot)
    yield
    await run_in_threadpool(_shut_down, app)


def _shut_down(app: FastAPI) -> None:
    """Leave no worker inside the models or SQLite while the interpreter exits: stop re-asking
    the queue, let a running upload finish (bounded), store the waiting log rows."""
    app.state.staff_loop.stopping = True
    if not app.state.jobs.close(timeout=60):
        logger.warning("an upload job was still running at shutdown; its files stay in "
                       "data/uploads and the next `serve` sweeps them")
    app.state.bot.questions.close()


def _warm_up(bot: Bot) -> None:
    """Load the embedding model, its query graph (built once per machine, ~1 min), the
    indexes and the characters' rarities (the judge's, ~0.3 s) now, so the first question is
    not the slow one."""
    from ingest.tokens import char_rarity

    try:
        bot.kb.embedder.query_encoder()
        bot.kb.fresh(force=True)
        char_rarity("的")
    except KBError as exc:  # the server still starts: /api/health and each request say what's wrong
        logger.error("the knowledge base is not ready: %s", exc)


def _version() -> str:
    try:
        return version("cppcc-kb")
    except PackageNotFoundError:
        return "unknown"


# Dependencies are coroutines: FastAPI runs a plain `def` one on the thread pool, a hop that
# cost each question ~0.3 ms for reading an attribute.
async def _bot(request: Request) -> Bot:
    return request.app.state.bot


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


BotDep = Annotated[Bot, Depends(_bot)]
SettingsDep = Annotated[Settings, Depends(_settings)]


# ---- staff authentication --------------------------------------------------------------------
async def require_staff(settings: SettingsDep, request: Request) -> None:
    """Let a request through only with the configured staff token; no token configured, no entry."""
    if settings.staff_token is None:
        raise HTTPException(403, "staff endpoints are disabled until CPPCC_KB_STAFF_TOKEN is set "
                                 "on the server (a secret of 8 or more characters); set it and "
                                 "restart")
    given = _presented_token(request)
    if not given:
        raise HTTPException(401, f"this is a staff endpoint: {_STAFF_HELP}",
                            headers={"WWW-Authenticate": "Bearer"})
    throttle, who = request.app.state.login_throttle, _client(request)
    wait = throttle.wait(who)
    if wait:
        raise HTTPException(429, f"too many wrong staff tokens; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
    expected = settings.staff_token.get_secret_value().strip()
    # Bytes: compare_digest refuses non-ASCII str, and a token may hold any character.
    if not secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        throttle.failed(who)
        raise HTTPException(401, "the staff token is wrong; use the value of CPPCC_KB_STAFF_TOKEN "
                                 "on the server", headers={"WWW-Authenticate": "Bearer"})
    throttle.succeeded(who)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _presented_token(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-staff-token", "").strip()


StaffOnly = [Depends(require_staff)]
_STAFF_ERRORS = {401: {"model": ErrorOut, "description": "Missing or wrong staff token."},
                 403: {"model": ErrorOut, "description": "CPPCC_KB_STAFF_TOKEN is not set."}}
_ASK_ERRORS = {400: {"model": ErrorOut, "description": "The body is not valid JSON."},
               422: {"model": ErrorOut, "description": "The question or an option is invalid."}}

router = APIRouter(prefix="/api")


# ---- ask -----------------------------------------------------------------------------------
@router.post("/ask", response_model=Answer, response_model_exclude={"retrieved"},
             responses=_ASK_ERRORS, tags=["ask"])
async def ask(body: AskRequest, bot: BotDep, request: Request) -> Response:
    """Answer a question with numbered citations, or abstain when the documents do not say.
    The answer's `log_id` names it for `POST /api/feedback`."""
    answer = await while_connected(request, lambda cancelled: bot.ask(
        **body.bot_args(), log=body.face(request), client=_client(request), cancelled=cancelled))
    # The bot built the Answer itself: written out by its schema's serializer directly, without
    # the validating copy FastAPI makes of a returned object (retrieved passages included).
    return Response(_ANSWER.dump_json(answer, exclude={"retrieved"}),
                    media_type="application/json")


_ANSWER = TypeAdapter(Answer)


@router.post("/ask/stream", response_class=StreamingResponse, tags=["ask"], responses={
    **_ASK_ERRORS,
    200: {"content": {"text/event-stream": {}},
          "description": "Server-sent events: `delta` ({\"text\"}) while an LLM writes (none in "
                         "extractive mode), then one `answer` (the same object as /api/ask; "
                         "its text replaces the deltas, which checking may have rejected) — or "
                         "`error` ({\"detail\", \"status\"}) if answering fails midway."}})
async def ask_stream(body: AskRequest, bot: BotDep, request: Request) -> StreamingResponse:
    """Answer as server-sent events; a bad question is refused with 4xx before the stream starts."""
    items = bot.stream(**body.bot_args(), log=body.face(request), client=_client(request))
    first = await run_in_threadpool(next, items, None)  # validation errors raise here
    return StreamingResponse(_events(first, items), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(first: str | Answer | None, items: Iterator[str | Answer]) -> AsyncIterator[str]:
    """The SSE frames of Bot.stream, each step run off the event loop."""
    item = first
    try:
        while item is not None:
            if isinstance(item, Answer):
                yield _sse("answer", item.to_dict())
                return
            yield _sse("delta", {"text": item})
            item = await run_in_threadpool(next, items, None)
    except KBError as exc:
        yield _sse("error", {"detail": str(exc), "status": _status_of(exc)})
    except Exception:
        logger.exception("streaming an answer failed")
        yield _sse("error", {"detail": "internal error while answering; the server log has "
                                       "the details", "status": 500})
    finally:
        items.close()  # stops an LLM stream when the client went away


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# ---- feedback ------------------------------------------------------------------------------
class FeedbackRequest(BaseModel):
    """A member's verdict on one answer, named by the `log_id` the answer carried."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"log_id": "q-0123456789abcdef", "rating": "down", "reason": "wrong_figure"}]})

    log_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    reason: Literal["wrong_figure", "wrong_source", "should_answer", "should_refuse", "other",
                    ""] = Field("", description="Why, for a thumbs-down: wrong figure, wrong "
                                                "source, should have answered, should have "
                                                "refused, other.")
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)


class FeedbackOut(BaseModel):
    log_id: str
    rating: str
    reason: str


@router.post("/feedback", response_model=FeedbackOut, tags=["ask"],
             responses={**_ASK_ERRORS, 404: {"model": ErrorOut}})
async def feedback(body: FeedbackRequest, bot: BotDep) -> FeedbackOut:
    """Thumbs up or down on an answer; a thumbs-down puts the question on the staff's queue."""
    found = await run_in_threadpool(
        bot.questions.feedback, body.log_id, body.rating, body.reason, body.comment)
    if not found:
        raise HTTPException(404, f"no logged answer {body.log_id!r}; send the `log_id` of an "
                                 "answer from /api/ask (answers are kept for "
                                 f"{bot.settings.log_retention_days or 'unlimited'} days)")
    return FeedbackOut(log_id=body.log_id, rating=body.rating,
                       reason=body.reason if body.rating == "down" else "")


# ---- documents -----------------------------------------------------------------------------
@router.get("/documents", response_model=list[DocumentOut], tags=["documents"])
async def list_documents(bot: BotDep) -> list[DocumentOut]:
    """The documents in the knowledge base, by title."""
    records = await run_in_threadpool(lambda: list(bot.kb.records().values()))
    records.sort(key=lambda r: (r.title, r.doc_id))
    return [DocumentOut.model_validate(r) for r in records]


@router.post("/documents", response_model=UploadResult, dependencies=StaffOnly, tags=["documents"],
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {
                 "schema": {"type": "object", "required": ["files"], "properties": {"files": {
                     "type": "array", "items": {"type": "string", "format": "binary"}}}}}}}},
             responses={**_STAFF_ERRORS,
                        202: {"model": JobOut, "description": "Queued: follow it at "
                                                              "GET /api/jobs/{job_id}."},
                        400: {"model": ErrorOut, "description": "No files, or not multipart."},
                        413: {"model": ErrorOut, "description": "A file is over the size limit."}})
async def upload_documents(request: Request, settings: SettingsDep, bot: BotDep,
                           wait: bool = False) -> Response:
    """Add or update documents (staff): multipart field `files`, one or many; the file name is
    the document's identity, so uploading a file of the same name again updates it.

    Returns 202 with a job at once (uploads queue behind each other; `GET /api/jobs/{job_id}`
    shows progress and, when done, one row per file). `?wait=true` answers 200 with the rows
    when the job ends instead — for scripts; a long upload may outlast a client's timeout."""
    _refuse_declared_size(request, settings.max_file_bytes)
    _boundary(request)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="api-", dir=settings.uploads_dir))
    try:
        parts = await _received(request, folder, settings.max_file_bytes)
        if not parts:
            raise HTTPException(400, "the upload holds no files; send them as multipart/form-data "
                                     "in the field `files`")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    saved = [p.path for p in parts if p.path]
    refused = [_upload_row(p, {}) for p in parts if p.path is None]
    if not saved:
        shutil.rmtree(folder, ignore_errors=True)
        return _json_response(UploadResult(files=refused))
    jobs: IngestQueue = request.app.state.jobs
    job = jobs.submit(saved, folder, actor=staff_actor("api", settings), refused=refused)
    if wait:
        await run_in_threadpool(jobs.wait, job)
        if job.status == "failed":
            raise HTTPException(409 if "another ingest" in job.note else 500, job.note)
        return _json_response(UploadResult(files=_job_rows(job, parts)))
    return _json_response(_job_out(job, jobs), status=202)


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=StaffOnly, tags=["documents"],
            responses={**_STAFF_ERRORS, 404: {"model": ErrorOut}})
async def get_job(job_id: str, request: Request) -> Response:
    """An upload job's status and progress (staff)."""
    jobs: IngestQueue = request.app.state.jobs
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} on this server (jobs are kept while it runs; "
                                 "after a restart, GET /api/documents shows what was stored)")
    return _json_response(_job_out(job, jobs))


@router.get("/jobs", response_model=list[JobOut], dependencies=StaffOnly, tags=["documents"],
            responses=_STAFF_ERRORS)
async def list_jobs(request: Request) -> Response:
    """Recent upload jobs, newest first (staff)."""
    jobs: IngestQueue = request.app.state.jobs
    return Response(json.dumps([jsonable_encoder(_job_out(j, jobs)) for j in jobs.recent()],
                               ensure_ascii=False), media_type="application/json")


def _job_out(job, jobs) -> JobOut:
    rows = _job_rows(job) if job.ended else list(job.refused)
    return JobOut(job_id=job.id, status=job.status, ahead=jobs.position(job), done=job.done,
                  total=job.total, chunks=job.chunks, note=job.note, files=rows,
                  created=job.created, started=job.started, finished=job.finished)


def _job_rows(job, parts: list | None = None) -> list[UploadRow]:
    outcomes = {Path(o.path).name: o for o in job.outcomes}
    done = [UploadRow(file=name, status=o.status, doc_id=o.doc_id, title=o.title,
                      chunks=o.chunks, reason=o.reason, fix=o.fix)
            for name, o in ((n, outcomes.get(n)) for n in job.files) if o is not None]
    refused = list(job.refused)
    if parts is None:
        return refused + done
    by_name = {r.file: r for r in done}
    rows, refused_iter = [], iter(refused)
    for p in parts:  # upload order
        rows.append(by_name[p.path.name] if p.path is not None and p.path.name in by_name
                    else next(refused_iter))
    return rows


def _json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def _upload_row(part: _Part, outcomes: dict) -> UploadRow:
    if part.path is None:
        return UploadRow(file=part.name, status="failed", reason=part.reason, fix=part.fix)
    o = outcomes[part.path.name]
    return UploadRow(file=part.name, status=o.status, doc_id=o.doc_id, title=o.title,
                     chunks=o.chunks, reason=o.reason, fix=o.fix)


@router.delete("/documents/{doc_id}", response_model=DocumentOut, dependencies=StaffOnly,
               tags=["documents"], responses={**_STAFF_ERRORS, 404: {"model": ErrorOut},
                                              409: {"model": ErrorOut}})
async def delete_document(doc_id: str, bot: BotDep) -> DocumentOut:
    """Remove a document (staff), by id or exact source file name; returns what was removed."""
    # An upload running in this process holds the lock for a while: the delete waits its turn.
    removed, _ = await run_in_threadpool(lambda: remove_documents(
        bot.settings, [doc_id], kb=bot.kb, wait_s=_DELETE_WAIT_S,
        actor=staff_actor("api", bot.settings)))
    if not removed:
        raise HTTPException(404, f"no document with id {doc_id!r}; GET /api/documents lists "
                                 "the ids")
    return DocumentOut.model_validate(removed[0])


# ---- the staff loop: unanswered queue, usage, audit ----------------------------------------
class QueueItemOut(BaseModel):
    key: str = Field(description="The group's id (its newest question's log_id).")
    question: str
    wordings: list[str]
    count: int
    refusals: int
    downs: int
    first_at: float
    last_at: float
    reasons: list[str] = Field(description="Refusal reason codes, most frequent first.")
    feedback: list[str] = Field(description="Thumbs-down reasons, most frequent first.")
    closest: list[str] = Field(description="Doc ids that came closest, most frequent first.")
    state: Literal["open", "resolved", "out_of_scope"]
    recheck: dict = Field(description="The newest re-ask after an ingest: answered, closed "
                                      "(answered from a newer document), answer, titles.")


class MarkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["open", "resolved", "out_of_scope"]


@router.get("/staff/queue", response_model=list[QueueItemOut], dependencies=StaffOnly,
            tags=["staff"], responses=_STAFF_ERRORS)
async def staff_queue(request: Request, state: Literal["open", "resolved", "out_of_scope",
                                                      "all"] = "open") -> list[QueueItemOut]:
    """Questions members did not get answered (refusals, thumbs-down), similar ones grouped."""
    loop: StaffLoop = request.app.state.staff_loop
    states = ("open", "resolved", "out_of_scope") if state == "all" else (state,)
    def current() -> list:
        loop.recheck()  # asks again only if the documents changed since (waits for one running)
        return loop.queue(states)

    items = await run_in_threadpool(current)
    return [QueueItemOut(key=i.key, **{k: getattr(i, k) for k in QueueItemOut.model_fields
                                       if k != "key"}) for i in items]


@router.post("/staff/queue/{key}", dependencies=StaffOnly, tags=["staff"],
             responses={**_STAFF_ERRORS, 404: {"model": ErrorOut}})
async def staff_mark(key: str, body: MarkRequest, request: Request) -> dict:
    """Mark a queue group resolved, not our remit (out_of_scope), or open again."""
    loop: StaffLoop = request.app.state.staff_loop
    changed = await run_in_threadpool(loop.mark, key, body.state)
    if not changed:
        raise HTTPException(404, f"no queue group {key!r}; GET /api/staff/queue?state=all "
                                 "lists the keys")
    return {"key": key, "state": body.state, "questions": changed}


@router.get("/staff/usage", dependencies=StaffOnly, tags=["staff"], responses=_STAFF_ERRORS)
async def staff_usage(bot: BotDep, days: int = Query(14, ge=1, le=366)) -> dict:
    """Questions per day, refusal and thumbs-down rates, latency, most-cited documents."""
    from dataclasses import asdict

    from bot.staffloop import usage

    rows = await run_in_threadpool(bot.questions.since, time.time() - days * 86400 - 86400)
    return asdict(usage(rows, days))


@router.get("/staff/audit", dependencies=StaffOnly, tags=["staff"], responses=_STAFF_ERRORS)
async def staff_audit(bot: BotDep, doc_id: str | None = None,
                      limit: int = Query(200, ge=1, le=5000)) -> list[dict]:
    """Staff actions, newest first: time, actor, action, document, version, outcome, detail."""
    from dataclasses import asdict

    entries = await run_in_threadpool(bot.kb.audit.recent, limit, doc_id)
    return [asdict(e) for e in entries]


# ---- health --------------------------------------------------------------------------------
@router.get("/health", response_model=Health, tags=["health"])
async def health(bot: BotDep) -> Health:
    """Counts, models and whether the LLM endpoint answers (checked now, within 5 s)."""
    return await run_in_threadpool(_health, bot)


def _health(bot: Bot) -> Health:
    problems, records = [], []
    try:
        records = list(bot.kb.records().values())
        bot.kb.check_embedder()
    except StoreUnavailable as exc:
        problems.append(f"{STORE_DOWN_ZH}（{exc}）")
    except KBError as exc:
        problems.append(str(exc))
    for trouble in (bot.questions.problem(), bot.kb.audit.problem):
        problems += [trouble] if trouble else []
    llm_problem = llm_health(bot.settings)
    settings = bot.settings
    configured = bool(settings.llm_base_url)
    llm = LLMStatus(configured=configured, model=settings.llm_model if configured else None,
                    ok=llm_problem is None, problem=llm_problem)
    problems += [llm_problem] if llm_problem else []
    return Health(status="degraded" if problems else "ok", version=_version(),
                  documents=len(records), chunks=sum(r.chunks for r in records),
                  embedder=embedder_identity(settings), answer_mode=settings.effective_mode,
                  llm=llm, problems=problems)


# ---- uploads: streamed to disk, never past the limit -----------------------------------------
@dataclass
class _Part:
    name: str  # as the row shows it: the sanitised name, or what was sent when that is unusable
    path: Path | None = None  # where the bytes go; None when the part is refused
    size: int = 0
    reason: str = ""
    fix: str = ""


async def _received(request: Request, folder: Path, max_file_bytes: int) -> list[_Part]:
    """The upload's files, parsed by Starlette (python-multipart), each saved to `folder` under
    its checked name (ingest/uploads.py). The guard has bounded the whole body already; a file
    over the per-file limit refuses the whole upload, as nothing of it is stored yet."""
    try:
        form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=MAX_UPLOAD_FILES)
    except (MultiPartException, StarletteHTTPException) as exc:  # Starlette wraps the first
        exc = getattr(exc, "detail", None) or exc
        if "Too many files" in str(exc):
            raise HTTPException(400, f"the upload holds more than {MAX_UPLOAD_FILES} files; "
                                     "send them in several uploads") from None
        raise HTTPException(400, f"the upload is not valid multipart/form-data ({exc}); send "
                                 "the files as a form, e.g. `curl -F files=@报告.txt`") from None
    except ClientDisconnect:
        raise HTTPException(400, "the upload was interrupted; send it again") from None
    try:
        files = [v for _, v in form.multi_items() if isinstance(v, StarletteUpload)
                 and (v.filename or v.size)]  # a file input left empty sends neither
        for f in files:
            if (f.size or 0) > max_file_bytes:
                raise HTTPException(413, f"{safe_file_name(f.filename or '') or 'a file'} is "
                                         f"larger than the limit of {_mb(max_file_bytes)} per "
                                         "file; nothing from this upload was stored — split the "
                                         "document, or raise CPPCC_KB_MAX_FILE_MB on the server")
        parts: list[_Part] = []
        for f in files:
            name, problem = check_name(f.filename or "", {p.path.name for p in parts if p.path})
            if problem is not None:
                reason, fix = reason_en(problem)
                parts.append(_Part(name, reason=reason, fix=fix))
                continue
            part = _Part(name, folder / name, size=f.size or 0)
            await run_in_threadpool(_save, f, part.path)
            parts.append(part)
        return parts
    finally:
        await form.close()


def _save(upload: StarletteUpload, path: Path) -> None:
    upload.file.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise HTTPException(415, "send the files as multipart/form-data in the field `files` "
                                 "(e.g. `curl -F files=@报告.txt -F files=@条例.pdf`)")
    return options[b"boundary"]


def upload_limit(max_file_bytes: int) -> int:
    """The largest upload body: the most files of the largest size, with their multipart frame."""
    return max_file_bytes * MAX_UPLOAD_FILES + _MULTIPART_OVERHEAD


def _refuse_declared_size(request: Request, max_file_bytes: int) -> None:
    """413 before reading a byte when the request says it is bigger than any allowed upload."""
    declared = request.headers.get("content-length", "")
    limit = upload_limit(max_file_bytes)
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the upload is {_mb(int(declared))}, more than "
                                 f"{MAX_UPLOAD_FILES} files of at most {_mb(max_file_bytes)} "
                                 "each can be; nothing was stored — send fewer or smaller files")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.3g} MB"


# ---- errors: a readable sentence, never a traceback -----------------------------------------
def _status_of(exc: KBError) -> int:
    if isinstance(exc, AnswerCancelled):
        return 499  # the client closed the request (nginx's code); nobody reads this
    if isinstance(exc, AnswerError):
        return 422  # the question or its options, as asked
    if isinstance(exc, StoreLocked):
        return 409
    if isinstance(exc, FileRejected):
        return 400
    if isinstance(exc, (StoreUnavailable, QuestionLogError)):
        return 503  # the store's (or the log's) outage: the request succeeds once it is back
    return 500  # store, embedder or settings: the server's to fix; the message says how


async def _kb_error(request: Request, exc: KBError) -> JSONResponse:
    status = _status_of(exc)
    if isinstance(exc, QuestionLogError):
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})
    if status == 503:
        request.app.state.outage.down(str(exc))
        return JSONResponse({"detail": f"{STORE_DOWN_ZH}（{exc}）"}, status_code=503,
                            headers={"Retry-After": "5"})
    if status == 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this response, so the server log still gets the traceback.
    return JSONResponse({"detail": f"internal error ({type(exc).__name__}); the server log has "
                                   "the details"}, status_code=500)


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    if request.url.path.startswith("/v1/"):  # OpenAI clients read OpenAI's error shape
        detail = "invalid request: " + "; ".join(_problem(e) for e in exc.errors())
        return JSONResponse({"error": {"message": detail, "type": "invalid_request_error",
                                       "param": None, "code": None}}, status_code=400)
    errors = exc.errors()
    bad_json = next((e for e in errors if e["type"] == "json_invalid"), None)
    if bad_json:
        why = (bad_json.get("ctx") or {}).get("error", "")
        return JSONResponse({"detail": f"the request body is not valid JSON ({why}); send a JSON "
                                       f"object such as {EXAMPLE_BODY}"}, status_code=400)
    return JSONResponse({"detail": "invalid request: " + "; ".join(_problem(e) for e in errors),
                         "errors": jsonable_encoder(errors)}, status_code=422)


def _problem(error: dict) -> str:
    """One validation error as a phrase naming the field and what it should be."""
    loc = [str(p) for p in error["loc"]]
    where = ".".join(loc[1:] if loc[:1] == ["body"] else loc)
    kind, msg = error["type"], error["msg"]
    if not where:
        return f"the body must be a JSON object such as {EXAMPLE_BODY}"
    if kind == "missing":
        return f"`{where}` is required"
    if kind == "extra_forbidden":
        return f"`{where}` is not a field of this request; remove it (/api/docs lists the fields)"
    return f"`{where}`: {msg[:1].lower()}{msg[1:]} (got {_shown(error.get('input'))})"


def _shown(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
