"""The question log: real SQLite files in tmp_path; the API over real HTTP for feedback,
and a corrupt or locked database that must never cost an answer."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time

import pytest

from bot.answer import Answer, Citation
from bot.app import create_api
from bot.chain import Bot
from bot.questionlog import QuestionLog, QuestionLogError, new_log_id, row_of
from ingest.kb import KnowledgeBase
from tests.bot.test_api import TIMEOUT, WORKSHOPS  # noqa: F401  (shared constants)
from tests.support.serving import serving

import httpx


def _answer(abstained: bool = False) -> Answer:
    cites = [] if abstained else [Citation(1, "doc-a", "报告", "a.txt", "全年提案636件。", 0, 9,
                                           0.9, chunk_id="doc-a:0")]
    return Answer("知识库中没有找到相关内容。" if abstained else "全年提案636件。[1]",
                  abstained=abstained, verified=True, citations=cites,
                  reason="no_support" if abstained else "", timings_ms={"total": 12.5},
                  retrieved=[{"doc_id": "doc-b"}, {"doc_id": "doc-a"}, {"doc_id": "doc-b"}])


def test_rows_feedback_marks_and_export(tmp_path):
    log = QuestionLog(tmp_path / "q.sqlite")
    first, second = new_log_id(), new_log_id()
    log.record(row_of(first, "api", "全年提案多少件？", ["上一问"], {"years": [2025],
                                                              "doc_ids": []}, _answer()))
    log.record(row_of(second, "chat", "国旗法什么时候施行？", [], None, _answer(True)))
    assert log.flush()
    got = log.get(first)
    assert (got.face, got.question, got.doc_ids, got.closest, got.latency_ms) == (
        "api", "全年提案多少件？", ("doc-a",), ("doc-b", "doc-a"), 12.5)
    refused = log.get(second)
    assert refused.abstained and refused.reason == "no_support" and refused.state == "open"

    assert log.feedback(second, "down", "should_answer", " 文件里有 ")
    assert not log.feedback("q-missing", "up")
    with pytest.raises(QuestionLogError, match="rating must be one of up, down"):
        log.feedback(first, "meh")
    with pytest.raises(QuestionLogError, match="reason must be one of"):
        log.feedback(first, "down", "because")
    got = log.get(second)
    assert (got.rating, got.feedback_reason, got.comment) == ("down", "should_answer", "文件里有")

    assert log.mark([second], "out_of_scope") == 1
    assert log.get(second).state == "out_of_scope"
    with pytest.raises(QuestionLogError, match="state must be one of"):
        log.mark([second], "done")

    rows = list(csv.reader(io.StringIO("".join(log.export("csv")))))
    assert rows[0][:4] == ["id", "at", "face", "question"] and len(rows) == 3
    lines = [json.loads(x) for x in "".join(log.export("jsonl")).splitlines()]
    assert [x["id"] for x in lines] == [first, second]
    assert lines[0]["filters"] == {"years": [2025]} and lines[0]["history_len"] == 1
    assert lines[1]["abstained"] is True and lines[1]["rating"] == "down"
    assert lines[0]["client"] == ""  # nothing identifying the asker unless turned on
    with pytest.raises(QuestionLogError, match="csv or jsonl"):
        list(log.export("xml"))


def test_retention_removes_old_rows_only(tmp_path):
    log = QuestionLog(tmp_path / "q.sqlite", retention_days=30)
    old, new = new_log_id(), new_log_id()
    log.record(row_of(old, "api", "旧问题", [], None, _answer(), at=time.time() - 31 * 86400))
    log.record(row_of(new, "api", "新问题", [], None, _answer()))
    assert log.flush()
    assert log.get(old) is None and log.get(new) is not None

    keep_all = QuestionLog(tmp_path / "all.sqlite", retention_days=0)
    keep_all.record(row_of(old, "api", "旧问题", [], None, _answer(), at=1.0))
    assert keep_all.flush() and keep_all.get(old) is not None


def test_disabled_log_writes_nothing(tmp_path):
    log = QuestionLog(tmp_path / "q.sqlite", enabled=False)
    log.record(row_of(new_log_id(), "api", "问", [], None, _answer()))
    assert log.flush() and not (tmp_path / "q.sqlite").exists() and log.problem() is None


def test_a_locked_database_keeps_rows_until_it_is_free(tmp_path):
    path = tmp_path / "q.sqlite"
    log = QuestionLog(path)
    log.record(row_of(new_log_id(), "api", "先记一条", [], None, _answer()))
    assert log.flush()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        waiting = new_log_id()
        log.record(row_of(waiting, "api", "锁住时的问题", [], None, _answer()))
        deadline = time.monotonic() + 10
        while log.problem() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "被其他程序锁住" in log.problem() and "1 条记录在内存中等待写入" in log.problem()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert log.flush(timeout=10, through_trouble=True)
    assert log.get(waiting).question == "锁住时的问题" and log.problem() is None


def test_corrupt_log_never_fails_an_answer(corpus_settings, embedder):
    """The API answers as before; /api/health names the file and the fix; feedback says 503."""
    for stale in corpus_settings.data.glob("questions.sqlite*"):
        stale.unlink()
    corpus_settings.question_log.write_bytes(b"this is not a database" * 100)
    bot = Bot(corpus_settings, KnowledgeBase(corpus_settings, embedder))
    with serving(create_api(corpus_settings, bot)) as base, \
            httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        resp = client.post("/api/ask", json={"question": WORKSHOPS})
        assert resp.status_code == 200 and not resp.json()["abstained"], resp.text
        log_id = resp.json()["log_id"]
        bot.questions.flush(timeout=3)
        health = client.get("/api/health").json()
        assert health["status"] == "degraded"
        assert any("问题记录库" in p and "已损坏" in p and "移到别处" in p
                   for p in health["problems"]), health
        resp = client.post("/api/feedback", json={"log_id": log_id, "rating": "down"})
        assert resp.status_code == 503 and "已损坏" in resp.json()["detail"]
        # The store is fine: the next answer still comes.
        assert client.post("/api/ask", json={"question": WORKSHOPS}).status_code == 200


def test_api_logs_asks_and_takes_feedback(corpus_settings, embedder):
    bot = Bot(corpus_settings, KnowledgeBase(corpus_settings, embedder))
    with serving(create_api(corpus_settings, bot)) as base, \
            httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        answer = client.post("/api/ask", json={"question": WORKSHOPS}).json()
        log_id = answer["log_id"]
        assert log_id.startswith("q-")
        resp = client.post("/api/feedback", json={"log_id": log_id, "rating": "down",
                                                  "reason": "wrong_figure", "comment": "数字不对"})
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"log_id": log_id, "rating": "down", "reason": "wrong_figure"}
        row = bot.questions.get(log_id)
        assert (row.face, row.question, row.rating, row.feedback_reason, row.comment) == (
            "api", WORKSHOPS, "down", "wrong_figure", "数字不对")
        assert row.doc_ids == tuple(dict.fromkeys(c["doc_id"] for c in answer["citations"]))

        missing = client.post("/api/feedback", json={"log_id": "q-nope", "rating": "up"})
        assert missing.status_code == 404 and "log_id" in missing.json()["detail"]
        bad = client.post("/api/feedback", json={"log_id": log_id, "rating": "meh"})
        assert bad.status_code == 422 and "rating" in bad.json()["detail"]

        with client.stream("POST", "/api/ask/stream", json={"question": WORKSHOPS}) as resp:
            body = "".join(resp.iter_text())
        streamed = json.loads(body.split("event: answer\ndata: ", 1)[1].split("\n", 1)[0])
        assert streamed["log_id"].startswith("q-") and streamed["log_id"] != log_id
        assert bot.questions.get(streamed["log_id"]).face == "api"
        assert client.get("/api/health").json()["status"] == "ok"


def test_cli_exports_the_log_whole_or_since_a_day(tmp_path):
    from click.testing import CliRunner

    from cppcc_kb.cli import cli

    data = tmp_path / "kb"
    log = QuestionLog(data / "questions.sqlite")
    log.record(row_of(new_log_id(), "chat", "早些时候的问题", [], None, _answer(True),
                      at=time.time() - 200 * 86400))
    log.record(row_of(new_log_id(), "api", "今天的问题\n换行", [], None, _answer()))
    assert log.flush()
    runner = CliRunner()
    out = tmp_path / "log.csv"
    done = runner.invoke(cli, ["--data", str(data), "log", "export", "--format", "csv",
                               "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "2 questions written" in done.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 3 and rows[2][3] == "今天的问题\n换行"
    since = time.strftime("%Y-%m-%d", time.localtime(time.time() - 100 * 86400))
    recent = runner.invoke(cli, ["--data", str(data), "log", "export", "--since", since])
    assert recent.exit_code == 0
    assert [json.loads(x)["question"] for x in recent.stdout.splitlines()] == ["今天的问题\n换行"]
    bad = runner.invoke(cli, ["--data", str(data), "log", "export", "--since", "yesterday"])
    assert bad.exit_code != 0 and "2026-01-31" in bad.output
    assert not list(tmp_path.glob(".*.part"))
