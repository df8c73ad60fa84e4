"""The staff loop over real HTTP: refused and disliked questions form the queue (similar
wordings grouped by their embeddings), an upload that answers one closes it, staff mark the
rest; the usage figures; the audit trail with its deletion proof, also from `cppcc-kb audit`."""

from __future__ import annotations

import time

import numpy as np
from click.testing import CliRunner

from bot.questionlog import LoggedQuestion
from bot.staffloop import group_questions, recheck_result, usage
from cppcc_kb.cli import cli
from tests.bot.test_api import NEW_FACT, NEW_FACT_NAME, WORKSHOPS, ask, serve, staff_api  # noqa: F401

ASKED = "某市政协2031年共收到多少件提案？"
REWORDED = "请问某市政协2031年一共收到了多少件提案？"
OTHER = "2031年火星基地建设了多少个温室？"


def _row(i: str, question: str, at: float, **kw) -> LoggedQuestion:
    base = dict(id=i, at=at, face="api", question=question, abstained=True, reason="low_confidence",
                answer="", doc_ids=(), closest=("doc-a",), latency_ms=50.0, rating="",
                feedback_reason="", comment="", state="open", recheck={})
    return LoggedQuestion(**{**base, **kw})


def test_grouping_is_by_vector_and_by_wording():
    a, b, c = np.eye(3, dtype=np.float32)
    near = (a + 0.1 * b) / np.linalg.norm(a + 0.1 * b)  # cosine 0.995 to a
    rows = [_row("1", "问一", 1.0), _row("2", "问一的另一种问法", 2.0),
            _row("3", "问三", 3.0, abstained=False, rating="down", feedback_reason="wrong_figure"),
            _row("4", "问一！", 4.0)]  # the same wording as 1, without a vector
    items = group_questions(rows, {"1": a, "2": near, "3": c})
    assert [i.ids for i in items] == [("4", "2", "1"), ("3",)]
    first = items[0]
    assert (first.count, first.refusals, first.downs, first.question) == (3, 3, 0, "问一！")
    assert first.reasons == ("low_confidence",) and items[1].feedback == ("wrong_figure",)


def test_usage_counts_days_rates_and_documents():
    now = time.mktime(time.strptime("2026-12-04 12:00", "%Y-%m-%d %H:%M"))
    rows = [_row("1", "a", now - 86400, latency_ms=10.0),
            _row("2", "b", now, abstained=False, doc_ids=("d1",), rating="up", latency_ms=30.0),
            _row("3", "c", now, abstained=False, doc_ids=("d1", "d2"), rating="down"),
            _row("4", "d", now - 30 * 86400)]  # outside the window
    u = usage(rows, 3, now=now)
    assert u.days[-1] == "2026-12-04" and u.asked == (0, 1, 2) and u.refused == (0, 1, 0)
    assert u.total == 3 and abs(u.refusal_rate - 1 / 3) < 1e-9 and u.down_rate == 0.5
    assert u.top_documents[0] == ("d1", 2) and u.p50_ms[-1] == 40.0


def test_queue_closes_when_an_upload_answers_it_and_audit_proves_deletions(staff_api):
    client = staff_api()
    first = ask(client, ASKED)
    assert first["abstained"], first["answer"]
    assert ask(client, REWORDED)["abstained"]
    assert ask(client, OTHER)["abstained"]
    liked = ask(client, WORKSHOPS)
    assert client.post("/api/feedback", json={"log_id": liked["log_id"], "rating": "down",
                                              "reason": "wrong_source"}).status_code == 200

    queue = client.get("/api/staff/queue").json()
    by_question = {q["question"]: q for q in queue}
    assert len(queue) == 3, queue
    grouped = by_question[REWORDED]  # the newest wording stands for the group
    assert grouped["count"] == 2 and set(grouped["wordings"]) == {ASKED, REWORDED}
    assert grouped["refusals"] == 2 and grouped["reasons"] and grouped["closest"]
    assert by_question[WORKSHOPS]["feedback"] == ["wrong_source"]
    assert client.get("/api/staff/queue").status_code == 200
    assert client.get("/api/staff/queue", headers={"Authorization": ""}).status_code == 401

    resp = client.post("/api/documents", files=[("files", (NEW_FACT_NAME, NEW_FACT.encode()))],
                       params={"wait": "true"})
    assert resp.status_code == 200 and resp.json()["files"][0]["status"] == "added"
    new_doc = resp.json()["files"][0]["doc_id"]
    queue = {q["question"]: q for q in client.get("/api/staff/queue").json()}
    closed = queue[REWORDED]["recheck"]
    assert closed["closed"] and "888" in closed["answer"] and closed["new_doc_ids"] == [new_doc]
    assert not queue[OTHER]["recheck"]["closed"]
    assert not queue[WORKSHOPS]["recheck"]["closed"]  # answered again, from the same documents

    key = queue[OTHER]["key"]
    marked = client.post(f"/api/staff/queue/{key}", json={"state": "out_of_scope"})
    assert marked.status_code == 200 and marked.json()["questions"] == 1
    assert OTHER not in {q["question"] for q in client.get("/api/staff/queue").json()}
    remit = client.get("/api/staff/queue", params={"state": "out_of_scope"}).json()
    assert [q["question"] for q in remit] == [OTHER]
    assert client.post("/api/staff/queue/q-nope", json={"state": "resolved"}).status_code == 404

    used = client.get("/api/staff/usage", params={"days": 7}).json()
    assert used["total"] == 4 and used["asked"][-1] == 4 and used["refused"][-1] == 3
    assert used["down_rate"] == 1.0 and used["faces"] == [["api", 4]]

    assert client.delete(f"/api/documents/{new_doc}").status_code == 200
    trail = client.get("/api/staff/audit").json()
    removal, added = trail[0], trail[1]
    assert (removal["action"], removal["doc_id"], removal["outcome"]) == ("remove", new_doc,
                                                                          "proved")
    assert removal["detail"]["probed"] and removal["detail"]["chunks_in_chroma"] == 0
    assert removal["actor"] == "api:staff" and removal["version"]
    assert (added["action"], added["doc_id"], added["outcome"]) == ("add", new_doc, "ok")

    data = client.get("/api/health").json()
    assert data["status"] == "ok", data


def test_cli_audit_lists_actions_with_proof(corpus_settings, embedder):
    from ingest.documents import remove_documents
    from ingest.kb import KnowledgeBase

    kb = KnowledgeBase(corpus_settings, embedder)
    doc = next(iter(kb.records()))
    removed, _ = remove_documents(corpus_settings, [doc], kb=kb)
    assert removed
    result = CliRunner().invoke(cli, ["--data", str(corpus_settings.data), "audit"])
    assert result.exit_code == 0, result.output
    line = result.output.splitlines()[0]
    assert "remove" in line and "proved" in line and doc in line and "cli" in line
    assert "0 chunks in Chroma" in line
    result = CliRunner().invoke(cli, ["--data", str(corpus_settings.data), "audit", "--json",
                                      "--doc", "doc-none"])
    assert result.exit_code == 0 and result.output == ""


def test_recheck_result_needs_a_newer_document():
    from types import SimpleNamespace as NS

    item = group_questions([_row("1", "问", 100.0)], {})[0]
    cite = [NS(doc_id="d")]
    old = {"d": NS(updated_at=50.0, title="旧")}
    new = {"d": NS(updated_at=150.0, title="新")}
    answered = NS(abstained=False, verified=True, citations=cite, answer="答", reason="")
    assert not recheck_result(item, answered, old)["closed"]
    assert recheck_result(item, answered, new)["closed"]
    assert recheck_result(item, answered, new)["titles"] == ["新"]


def test_a_group_does_not_drift_along_a_chain_of_near_questions():
    a = np.array([1.0, 0.0], dtype=np.float32)
    turn = lambda deg: np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg))],  # noqa: E731
                                dtype=np.float32)
    # a–b and b–c are within cos 0.95 (12°), a–c is not (24°): c starts its own group
    rows = [_row("a", "甲", 1.0), _row("b", "乙", 2.0), _row("c", "丙", 3.0)]
    items = group_questions(rows, {"a": a, "b": turn(12), "c": turn(24)})
    assert sorted(i.ids for i in items) == [("b", "a"), ("c",)]


def test_questions_naming_other_years_are_other_questions():
    a = np.array([1.0, 0.0], dtype=np.float32)
    rows = [_row("1", "2030年收到多少件提案？", 1.0), _row("2", "2026年收到多少件提案？", 2.0),
            _row("3", "收到多少件提案？2030年的", 3.0)]
    items = group_questions(rows, {"1": a, "2": a, "3": a})
    assert sorted(i.ids for i in items) == [("2",), ("3", "1")]


def test_a_restart_does_not_re_ask_the_queue_for_the_same_documents(corpus_settings, embedder):
    from bot.chain import Bot
    from bot.staffloop import StaffLoop
    from ingest.kb import KnowledgeBase

    bot = Bot(corpus_settings, KnowledgeBase(corpus_settings, embedder))
    assert bot.ask(OTHER, log="api").abstained
    assert StaffLoop(bot).recheck() == 1  # first look: asked against these documents
    again = Bot(corpus_settings, KnowledgeBase(corpus_settings, embedder))  # a restarted server
    assert StaffLoop(again).recheck() == 0
    assert StaffLoop(again).recheck(force=True) == 1
