"""The FastAPI app over real HTTP: uvicorn on 127.0.0.1, httpx, the shared-corpus knowledge base."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest
from pydantic import SecretStr

from bot.app import create_api
from bot.chain import Bot
from ingest.kb import KnowledgeBase
from ingest.lock import ingest_lock
from tests.support.llm_server import free_port
from tests.support.serving import serving

TOKEN = "api-test-staff-token-7f3a"
TIMEOUT = 180.0  # a question on a busy 2-core runner can take tens of seconds
WORKSHOPS = "淄博有多少家“政协委员工作室”？"
ZIBO_SOURCE = "zibo-cppcc-2025-review.txt"
DOUBTED = "委员履职档案包括什么？"  # near the report's and the deputies law's words; said by neither
NEW_FACT_NAME = "某市政协2031年提案工作.txt"
NEW_FACT = "某市政协2031年共收到提案888件。\n其中经审查立案800件，已全部办复。\n"
NEW_FACT_QUESTION = "某市政协2031年共收到多少件提案？"


# ---- serving -------------------------------------------------------------------------------
@pytest.fixture
def serve() -> Iterator[Callable[..., httpx.Client]]:
    """serve(settings, bot, headers) -> a client of a running server; all stop at teardown."""
    with ExitStack() as stack:
        def start(settings, bot: Bot, headers: dict | None = None) -> httpx.Client:
            base = stack.enter_context(serving(create_api(settings, bot)))
            return stack.enter_context(httpx.Client(base_url=base, headers=headers or {},
                                                    timeout=TIMEOUT))
        yield start


@pytest.fixture(scope="module")
def api(corpus_bot) -> Iterator[httpx.Client]:
    """A client of one server over the shared corpus, for tests that only read."""
    with serving(create_api(corpus_bot.settings, corpus_bot)) as base:
        with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
            yield client


@pytest.fixture
def staff_api(corpus_settings, embedder, serve) -> Callable[..., httpx.Client]:
    """staff_api(**settings) -> a staff client of a server over a private copy of the corpus KB."""
    def start(**overrides) -> httpx.Client:
        settings = corpus_settings.model_copy(update={"staff_token": SecretStr(TOKEN), **overrides})
        bot = Bot(settings, KnowledgeBase(settings, embedder))
        return serve(settings, bot, {"Authorization": f"Bearer {TOKEN}"})
    return start


# ---- helpers -------------------------------------------------------------------------------
def ask(client: httpx.Client, question: str, **body) -> dict:
    resp = client.post("/api/ask", json={"question": question, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


def doc_id_of(client: httpx.Client, source: str) -> str:
    return next(d["doc_id"] for d in client.get("/api/documents").json() if d["source"] == source)


def events(resp: httpx.Response) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a server-sent-events body."""
    out = []
    for block in resp.text.split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def multipart(files: dict[str, bytes]) -> tuple[bytes, str]:
    """The body and content type httpx would send for `files` (field `files`)."""
    parts = [("files", (name, data)) for name, data in files.items()]
    request = httpx.Request("POST", "http://x/", files=parts)
    return request.read(), request.headers["content-type"]


# ---- ask -----------------------------------------------------------------------------------
def test_ask_answers_with_a_citation_holding_the_figure(api):
    answer = ask(api, WORKSHOPS)
    assert not answer["abstained"] and answer["verified"]
    assert "44" in answer["answer"]
    assert any("44" in c["quote"] for c in answer["citations"])
    citation = answer["citations"][0]
    for key in ("n", "doc_id", "title", "source", "quote", "start", "end", "score"):
        assert key in citation
    assert citation["source"] == ZIBO_SOURCE and citation["end"] > citation["start"]
    assert {"note", "unverified_figures", "mode"} <= answer.keys()
    assert answer["timings_ms"]["total"] > 0
    assert "retrieved" not in answer


def test_near_miss_abstains(api):
    answer = ask(api, "济南市政协2025年全年提案数量是多少？")  # the report is Zibo's
    assert answer["abstained"] is True and "济南" in answer["note"]
    assert answer["citations"] == [] and answer["note"]


@pytest.mark.parametrize("question, reason", [
    (DOUBTED, "low_confidence"),
    ("监察官分为多少个等级？", "no_figure"),  # the law sets up the grades; says no number of them
])
def test_a_refusal_for_doubt_lists_the_closest_passages_and_a_contradiction_none(api, question,
                                                                                 reason):
    doubt = ask(api, question)
    assert doubt["abstained"] is True and doubt["reason"] == reason
    assert doubt["citations"] == [] and len(doubt["closest"]) == 3 and doubt["note"]
    for row in doubt["closest"]:
        assert set(row) == {"chunk_id", "doc_id", "title", "source", "text", "score"}
        assert row["text"] and row["title"]
    assert ask(api, "济南市政协2025年全年提案数量是多少？")["closest"] == []  # another city's
    assert ask(api, WORKSHOPS)["closest"] == []  # an answer lists none


def test_follow_up_is_read_through_history(api):
    followed = ask(api, "那协商呢？", history=["2025年淄博市政协全年提案数量是多少？"])
    assert "167" in followed["answer"]
    assert followed["citations"][0]["source"] == ZIBO_SOURCE
    alone = ask(api, "那协商呢？")
    assert "167" not in alone["answer"]  # the topic came from the history, not the words


def test_doc_id_filter_narrows_the_sources(api):
    zibo, flag_law = doc_id_of(api, ZIBO_SOURCE), doc_id_of(api, "国旗法(2020-10-17).md")
    inside = ask(api, WORKSHOPS, filters={"doc_ids": [zibo]})
    assert "44" in inside["answer"]
    assert {c["doc_id"] for c in inside["citations"]} == {zibo}
    outside = ask(api, WORKSHOPS, filters={"doc_ids": [flag_law]})
    assert outside["abstained"] and outside["citations"] == []


def test_year_filter_narrows_the_sources(api):
    years = {d["doc_id"]: d["years"] for d in api.get("/api/documents").json()}
    answered = ask(api, WORKSHOPS, filters={"years": [2025]})
    assert "44" in answered["answer"]
    assert all(2025 in years[c["doc_id"]] for c in answered["citations"])
    other_year = ask(api, WORKSHOPS, filters={"years": [2017]})
    assert other_year["abstained"] and other_year["citations"] == []


@pytest.mark.parametrize("body, status, says", [
    ({"question": ""}, 422, "empty"),
    ({"question": " \n\t　"}, 422, "empty"),
    ({"question": "问" * 501}, 422, "over the limit of 500"),
    ({"question": WORKSHOPS, "filters": {"party": ["x"]}}, 422, "unknown filter"),
    ({"question": WORKSHOPS, "top_k": 0}, 422, "`top_k`"),
    ({"question": WORKSHOPS, "top_k": 21}, 422, "`top_k`"),
    ({"question": 44}, 422, "`question`: input should be a valid string"),
    ({"question": WORKSHOPS, "history": "earlier"}, 422, "`history`"),
    ({"question": WORKSHOPS, "filters": {"years": ["去年"]}}, 422, "`filters.years.0`"),
    ({"questoin": WORKSHOPS}, 422, "`question` is required"),
])
def test_bad_questions_are_refused_with_the_reason(api, body, status, says):
    resp = api.post("/api/ask", json=body)
    assert resp.status_code == status
    assert says in resp.json()["detail"]


def test_malformed_json_is_a_400_that_shows_a_valid_body(api):
    resp = api.post("/api/ask", content='{"question": "淄博'.encode(),
                    headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert "not valid JSON" in resp.json()["detail"] and '"question"' in resp.json()["detail"]


def test_stream_ends_with_the_answer_event(api):
    resp = api.post("/api/ask/stream", json={"question": WORKSHOPS})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    got = events(resp)
    assert [name for name, _ in got[:-1]] == ["delta"] * (len(got) - 1)
    name, answer = got[-1]
    assert name == "answer" and "44" in answer["answer"]
    assert any("44" in c["quote"] for c in answer["citations"])


def test_stream_refuses_a_bad_question_before_streaming(api):
    resp = api.post("/api/ask/stream", json={"question": "   "})
    assert resp.status_code == 422 and "empty" in resp.json()["detail"]


def test_llm_down_falls_back_to_the_extractive_answer_with_a_note(corpus_bot, serve):
    closed = free_port()  # nothing listens there
    settings = corpus_bot.settings.model_copy(update={
        "answer_mode": "llm", "llm_base_url": f"http://127.0.0.1:{closed}/v1",
        "llm_timeout_s": 5.0})
    client = serve(settings, Bot(settings, corpus_bot.kb))
    answer = ask(client, WORKSHOPS)
    assert "44" in answer["answer"] and "大模型暂不可用" in answer["note"]
    name, streamed = events(client.post("/api/ask/stream", json={"question": WORKSHOPS}))[-1]
    assert name == "answer" and "大模型暂不可用" in streamed["note"]
    health = client.get("/api/health").json()
    assert health["status"] == "degraded" and health["llm"]["ok"] is False
    assert str(closed) in health["llm"]["problem"]


# ---- documents and health ----------------------------------------------------------------------
def test_documents_list_the_shared_corpus(api):
    docs = api.get("/api/documents").json()
    assert len(docs) == 14  # the news report + 13 laws
    zibo = next(d for d in docs if d["source"] == ZIBO_SOURCE)
    assert zibo["title"].startswith("淄博政协这一年") and zibo["chunks"] > 0
    assert 2025 in zibo["years"] and zibo["kind"] == "news"
    for key in ("date", "year", "added_at", "updated_at", "issuer"):
        assert key in zibo


def test_health_reports_counts_models_and_llm(api):
    health = api.get("/api/health").json()
    docs = api.get("/api/documents").json()
    assert health["status"] == "ok" and health["problems"] == []
    assert health["documents"] == len(docs)
    assert health["chunks"] == sum(d["chunks"] for d in docs)
    assert health["answer_mode"] == "extractive" and health["embedder"]
    assert health["llm"] == {"configured": False, "model": None, "ok": True, "problem": None}
    assert health["version"]


def test_openapi_docs_are_under_api_and_root_is_free_for_the_ui(api):
    assert api.get("/api/docs").status_code == 200
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/ask/stream", "/api/documents", "/api/documents/{doc_id}",
            "/api/health"} <= set(paths)
    # /v1 is OpenAI's layout (clients append /chat/completions to a base URL ending in /v1).
    assert {"/v1/chat/completions", "/v1/models"} <= set(paths)
    assert all(p.startswith(("/api/", "/v1/")) for p in paths)


def test_upload_answers_from_the_new_file_and_reports_the_bad_ones(staff_api):
    client = staff_api()
    manifest = json.dumps({NEW_FACT_NAME: {"title": "不该采用的标题"}}, ensure_ascii=False)
    files = [("files", (f"../../某处/{NEW_FACT_NAME}", NEW_FACT.encode())),  # folders are dropped
             ("files", ("损坏的报告.pdf", b"%PDF-1.4 truncated")),
             ("files", ("manifest.json", manifest.encode()))]
    resp = client.post("/api/documents", files=files, params={"wait": "true"})
    assert resp.status_code == 200, resp.text
    good, bad, note = resp.json()["files"]
    assert good["file"] == NEW_FACT_NAME and good["status"] == "added" and good["chunks"] > 0
    assert good["title"] != "不该采用的标题"  # an uploaded manifest does not relabel the batch
    assert bad["file"] == "损坏的报告.pdf" and bad["status"] == "failed"
    assert bad["reason"] and bad["fix"]
    assert note["status"] == "failed" and "not a document" in note["reason"]
    answer = ask(client, NEW_FACT_QUESTION)
    assert "888" in answer["answer"]
    assert answer["citations"][0]["doc_id"] == good["doc_id"]
    assert answer["citations"][0]["source"] == NEW_FACT_NAME
    again = client.post("/api/documents", files=files[:1], params={"wait": "true"}).json()["files"]
    assert again[0]["status"] == "unchanged" and again[0]["doc_id"] == good["doc_id"]


def test_upload_without_files_is_a_400(staff_api):
    resp = staff_api().post("/api/documents", files={"note": (None, b"no files here")})
    assert resp.status_code == 400 and "no files" in resp.json()["detail"]


def test_too_many_files_or_a_broken_form_is_a_400_that_says_so(staff_api, corpus_settings):
    client = staff_api()
    many = [("files", (f"文件{i}.txt", b"x")) for i in range(21)]
    resp = client.post("/api/documents", files=many)
    assert resp.status_code == 400 and "more than 20 files" in resp.json()["detail"]
    broken = client.post("/api/documents", content=b"--xyz\r\nnot a part",
                         headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert broken.status_code == 400, broken.text
    assert "multipart" in broken.json()["detail"] or "no files" in broken.json()["detail"]
    not_form = client.post("/api/documents", content=b"{}",
                           headers={"content-type": "application/json"})
    assert not_form.status_code == 415 and "multipart/form-data" in not_form.json()["detail"]
    assert not [p for p in (corpus_settings.data / "uploads").glob("api-*")]


def test_oversized_upload_is_a_413_and_stores_nothing(staff_api):
    client = staff_api(max_file_mb=0.01)  # 10 KiB per file
    before = client.get("/api/documents").json()
    small, big = NEW_FACT.encode(), ("某市政协2032年共收到提案999件。" * 1000).encode()
    body, content_type = multipart({NEW_FACT_NAME: small, "大文件.txt": big})
    sent_as = {"with Content-Length": body, "chunked": iter([body[i:i + 4096] for i in
                                                            range(0, len(body), 4096)])}
    for how, content in sent_as.items():
        resp = client.post("/api/documents", content=content,
                           headers={"content-type": content_type})
        assert resp.status_code == 413, how
        assert "大文件.txt" in resp.json()["detail"] and "0.01 MB" in resp.json()["detail"]
    huge = client.post("/api/documents", files={"files": ("巨大.txt", b"x" * 400_000)})
    assert huge.status_code == 413  # refused on its Content-Length, before reading the body
    assert client.get("/api/documents").json() == before
    assert ask(client, NEW_FACT_QUESTION)["abstained"]


def test_an_upload_is_a_job_that_waits_for_another_ingest_then_lands(staff_api,
                                                                    corpus_settings):
    """202 at once; while another process holds the ingest lock the job says it waits and for
    whom; once the lock is free it runs, and its rows and the answer follow."""
    import threading
    import time

    client = staff_api()
    held, release = threading.Event(), threading.Event()

    def other_ingest():
        with ingest_lock(corpus_settings.data):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=other_ingest)
    holder.start()
    held.wait(10)
    try:
        resp = client.post("/api/documents", files={"files": (NEW_FACT_NAME, NEW_FACT.encode())})
        assert resp.status_code == 202, resp.text
        job = resp.json()
        assert job["status"] in ("queued", "running", "waiting") and job["total"] == 1
        deadline = time.monotonic() + 30
        while (seen := client.get(f"/api/jobs/{job['job_id']}").json())["status"] != "waiting":
            assert time.monotonic() < deadline, seen
            time.sleep(0.2)
        assert "another ingest (pid" in seen["note"]
    finally:
        release.set()
        holder.join(30)
    deadline = time.monotonic() + 120
    while (done := client.get(f"/api/jobs/{job['job_id']}").json())["status"] not in (
            "done", "failed"):
        assert time.monotonic() < deadline, done
        time.sleep(0.2)
    assert done["status"] == "done" and done["files"][0]["status"] == "added"
    assert done["files"][0]["file"] == NEW_FACT_NAME and done["finished"] >= done["started"]
    assert "888" in ask(client, NEW_FACT_QUESTION)["answer"]
    assert [j["job_id"] for j in client.get("/api/jobs").json()] == [job["job_id"]]
    assert client.get("/api/jobs/job-nonexistent").status_code == 404
    assert not any(corpus_settings.uploads_dir.iterdir())  # the job's files are gone


def test_two_uploads_queue_one_behind_the_other(staff_api):
    client = staff_api()
    first = client.post("/api/documents", files={"files": ("甲.txt", NEW_FACT.encode())}).json()
    second = client.post("/api/documents", files={"files": (NEW_FACT_NAME, NEW_FACT.encode())},
                         params={"wait": "true"})
    assert second.status_code == 200 and second.json()["files"][0]["status"] == "added"
    assert client.get(f"/api/jobs/{first['job_id']}").json()["status"] == "done"


def test_delete_removes_the_document_from_list_and_answers(staff_api):
    client = staff_api()
    zibo = doc_id_of(client, ZIBO_SOURCE)
    resp = client.delete(f"/api/documents/{zibo}")
    assert resp.status_code == 200 and resp.json()["doc_id"] == zibo
    assert zibo not in {d["doc_id"] for d in client.get("/api/documents").json()}
    answer = ask(client, WORKSHOPS)
    assert "44" not in answer["answer"]
    assert all(c["doc_id"] != zibo for c in answer["citations"])
    again = client.delete(f"/api/documents/{zibo}")
    assert again.status_code == 404 and zibo in again.json()["detail"]


def test_every_reader_sees_each_write_once_it_returns_under_concurrent_askers(staff_api):
    """Ten askers and listers hammer the server while staff upload and delete: once a write
    returns, the very next list and ask from anyone reflect it, every time."""
    import threading

    client = staff_api()
    base, stop, errors = str(client.base_url), threading.Event(), []

    def reader():
        with httpx.Client(base_url=base, timeout=TIMEOUT) as mine:
            while not stop.is_set():
                for resp in (mine.get("/api/documents"),
                             mine.post("/api/ask", json={"question": NEW_FACT_QUESTION})):
                    if resp.status_code != 200:
                        errors.append(resp.text)

    readers = [threading.Thread(target=reader, daemon=True) for _ in range(10)]
    for t in readers:
        t.start()
    stale = []
    try:
        with httpx.Client(base_url=base, timeout=TIMEOUT) as other:
            for cycle in range(6):
                text = NEW_FACT.replace("888", str(900 + cycle))
                up = client.post("/api/documents", files={"files": (NEW_FACT_NAME, text.encode())},
                                 params={"wait": "true"})
                assert up.status_code == 200, up.text
                doc = up.json()["files"][0]["doc_id"]
                listed = {d["doc_id"] for d in other.get("/api/documents").json()}
                answer = ask(other, NEW_FACT_QUESTION)["answer"]
                stale += [] if doc in listed and str(900 + cycle) in answer else [("up", cycle)]
                assert client.delete(f"/api/documents/{doc}").status_code == 200
                listed = {d["doc_id"] for d in other.get("/api/documents").json()}
                answer = ask(other, NEW_FACT_QUESTION)["answer"]
                stale += [] if doc not in listed and str(900 + cycle) not in answer \
                    else [("down", cycle)]
    finally:
        stop.set()
        for t in readers:
            t.join(TIMEOUT)
    assert stale == [] and errors == []


def test_staff_endpoints_need_the_right_token(staff_api):
    client = staff_api()
    upload = {"files": (NEW_FACT_NAME, NEW_FACT.encode())}
    nobody = {"Authorization": ""}
    for headers in (nobody, {"Authorization": "Bearer wrong-token"},
                    {"Authorization": "", "X-Staff-Token": "wrong-token"}):
        assert client.post("/api/documents", files=upload, headers=headers).status_code == 401
        assert client.delete("/api/documents/doc-x", headers=headers).status_code == 401
    resp = client.delete("/api/documents/doc-x", headers=nobody)
    assert "Bearer" in resp.json()["detail"] and resp.headers["www-authenticate"] == "Bearer"
    by_header = client.delete("/api/documents/doc-x", headers={"Authorization": "",
                                                                  "X-Staff-Token": TOKEN})
    assert by_header.status_code == 404  # let through; the id is simply unknown
    assert len(client.get("/api/documents").json()) == 14


def test_staff_endpoints_are_closed_without_a_configured_token(corpus_bot, serve):
    settings = corpus_bot.settings.model_copy(update={"staff_token": None})
    client = serve(settings, corpus_bot, {"Authorization": f"Bearer {TOKEN}"})
    upload = client.post("/api/documents", files={"files": (NEW_FACT_NAME, NEW_FACT.encode())})
    delete = client.delete(f"/api/documents/{doc_id_of(client, ZIBO_SOURCE)}")
    for resp in (upload, delete):
        assert resp.status_code == 403
        assert "CPPCC_KB_STAFF_TOKEN" in resp.json()["detail"]
    assert len(client.get("/api/documents").json()) == 14
