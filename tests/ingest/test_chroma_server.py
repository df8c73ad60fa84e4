"""Server mode: a real `chroma run` server started by the test; the CLI, retrieval and two
knowledge-base instances ("two API processes") against it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.chain import Bot
from bot.retrieval import HybridSearch
from cppcc_kb.settings import Settings
from ingest.documents import remove_documents
from ingest.indexing import doc_id_for
from ingest.kb import KnowledgeBase
from ingest.pipeline import ingest_paths
from ingest.tokens import tokenize
from tests.support.chroma import CHROMA, ChromaServer
from tests.support.docs import TOPICS, topic_text, write_topic
from tests.support.kbcheck import violations
from tests.support.llm_server import free_port
from tests.support.warm_cli import warm_cli



@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """`chroma run` on a free port of 127.0.0.1, ready when its heartbeat answers."""
    if not CHROMA.exists():
        pytest.skip(f"{CHROMA} is absent (it comes with the chromadb package)")
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def reset_server(chroma_url):
    """Each test starts from an empty server."""
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_url.rsplit(":", 1)[1]))
    for collection in client.list_collections():
        client.delete_collection(collection.name)
    return chroma_url


def server_settings(data: Path, url: str) -> Settings:
    return Settings(data=data, chroma_url=url)


def test_the_cli_ingests_lists_answers_and_removes_against_a_server(reset_server, tmp_path,
                                                                    embedder):
    url, warm = reset_server, warm_cli()
    docs, data = tmp_path / "docs", tmp_path / "kb"
    write_topic(docs, "cherries.md", TOPICS[0])
    write_topic(docs, "hydrogen.md", TOPICS[1])
    added = warm.run(["--data", data, "--chroma-url", url, "ingest", docs])
    assert added.code == 0, added.stderr
    assert "2 added" in added.stdout
    assert not (data / "chroma").exists()  # nothing embedded: the server holds the store
    assert (data / "index").is_dir()  # the derived keyword index is still local

    listed = warm.run(["--data", data, "--chroma-url", url, "list", "--json"])
    assert sorted(json.loads(ln)["source"] for ln in listed.stdout.splitlines()) == [
        "cherries.md", "hydrogen.md"]
    snap = warm.call("tests.support.kbcheck:snapshot", str(data), url, ["樱桃种植"])
    assert violations(snap, settled=True) == []

    settings = server_settings(tmp_path / "api", url)  # another process, its own index folder
    bot = Bot(settings, KnowledgeBase(settings, embedder))
    answer = bot.ask("樱桃种植调研提出了多少条建议？")
    assert not answer.abstained and answer.citations
    assert {c.doc_id for c in answer.citations} == {doc_id_for("cherries.md")}
    text = snap["texts"][doc_id_for("cherries.md")]
    assert all(text[c.start:c.end] == c.quote for c in answer.citations)  # verbatim quotes

    removed = warm.run(["--data", data, "--chroma-url", url, "remove", "cherries.md"])
    assert removed.code == 0 and "removed    " + doc_id_for("cherries.md") in removed.stdout
    listed = warm.run(["--data", data, "--chroma-url", url, "list", "--json"])
    assert [json.loads(ln)["source"] for ln in listed.stdout.splitlines()] == ["hydrogen.md"]
    time.sleep(1.1)  # the API process notices within its staleness interval
    hits = HybridSearch(bot.kb).search("樱桃种植")
    assert hits and all(p.doc_id == doc_id_for("hydrogen.md") for p in hits)


def test_two_knowledge_bases_on_one_server_stay_consistent(reset_server, tmp_path, embedder):
    url = reset_server
    one_settings = server_settings(tmp_path / "one", url)  # two API processes, each with its
    two_settings = server_settings(tmp_path / "two", url)  # own keyword-index folder
    one, two = KnowledgeBase(one_settings, embedder), KnowledgeBase(two_settings, embedder)
    assert HybridSearch(two).search("樱桃") == []

    docs = tmp_path / "docs"
    report = write_topic(docs, "report.md", TOPICS[0])
    summary = ingest_paths([docs], one_settings, kb=one)
    assert [o.status for o in summary.outcomes] == ["added"]
    doc = doc_id_for("report.md")

    def keyword_docs(kb: KnowledgeBase, query: str) -> set[str]:
        return {kb.keywords.doc_ids[row] for row, _ in kb.keywords.top(tokenize(query), 20)}

    two.fresh(force=True)
    assert keyword_docs(two, "樱桃") == {doc}
    assert [p.doc_id for p in HybridSearch(two).search("樱桃种植")][:1] == [doc]

    report.write_text(topic_text(TOPICS[1]), encoding="utf-8")  # an update, seen by two
    ingest_paths([docs], one_settings, kb=one)
    time.sleep(1.1)  # no force: the staleness interval alone brings it in
    assert two.records()[doc].version == one.store.record(doc).version
    assert keyword_docs(two, "樱桃") == set() and keyword_docs(two, "氢能") == {doc}
    assert two.keywords.versions == one.keywords.versions

    removed, _ = remove_documents(one_settings, [doc], kb=one)
    assert [r.doc_id for r in removed] == [doc]
    two.fresh(force=True)
    assert doc not in two.records() and keyword_docs(two, "氢能") == set()
    assert HybridSearch(two).search("氢能汽车") == []


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    port = free_port()  # nothing listens there
    run = warm_cli().run(["--data", tmp_path / "kb", "--chroma-url", f"http://127.0.0.1:{port}",
                          "list"])
    assert run.code == 1
    assert f"cannot reach the Chroma server at http://127.0.0.1:{port}" in run.stderr
    assert "chroma run --path DIR" in run.stderr and "Traceback" not in run.stderr
