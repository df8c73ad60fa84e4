"""Ingest in-process over a real on-disk Chroma and the real embedder: unchanged files, updates,
removal and the keyword index as a cache of Chroma."""

from __future__ import annotations

import shutil
import time
import traceback
from pathlib import Path

import numpy as np
import pytest

from bot.retrieval import HybridSearch
from ingest.documents import remove_documents
from ingest.indexing import doc_id_for
from ingest.kb import KnowledgeBase
from ingest.keyword_index import INDEX_FILE
from ingest.pipeline import ingest_paths
from ingest.tokens import tokenize
from tests.support.docs import TOPICS, topic_text, write_topic
from tests.support.kbcheck import chroma_log_position

OLD, NEW, OTHER = TOPICS[0], TOPICS[1], TOPICS[2]  # 樱桃种植, 氢能汽车, 古籍修复


class CountingEmbedder:
    """The real embedder, counting the passages it embeds."""

    def __init__(self, inner):
        self.inner, self.passages = inner, 0
        self.dim, self.name = inner.dim, inner.name

    def __getattr__(self, name):  # sentence vectors and the rest: the real embedder's own
        return getattr(self.inner, name)

    def embed_passages(self, texts, batch_size=16, precision="fp32"):
        self.passages += len(texts)
        return self.inner.embed_passages(texts, batch_size, precision)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture
def kb_factory(settings, embedder):
    """A new KnowledgeBase per call, as each CLI run or API process would have."""
    return lambda: KnowledgeBase(settings, embedder)


def ingest(settings, kb, *paths: Path):
    summary = ingest_paths(list(paths), settings, kb=kb)
    assert not summary.failed, summary.failed
    return summary


def keyword_ids(kb: KnowledgeBase, query: str) -> list[str]:
    return [kb.keywords.ids[row] for row, _ in kb.fresh(force=True).keywords.top(tokenize(query),
                                                                                 50)]


def chunks_in_chroma(kb: KnowledgeBase, doc_id: str) -> dict:
    return kb.store.chunks.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])


def test_embedded_store_lives_under_the_data_folder(settings, kb_factory, tmp_path):
    docs = tmp_path / "docs"
    write_topic(docs, "a.md", OLD)
    summary = ingest(settings, kb_factory(), docs)
    assert [(o.status, o.chunks) for o in summary.outcomes] == [("added", 2)]
    assert (settings.data / "chroma" / "chroma.sqlite3").is_file()
    assert (settings.data / "index" / INDEX_FILE).is_file()
    assert (settings.data / "ingest.lock").is_file()


def test_reingesting_an_unchanged_file_does_nothing(settings, embedder, tmp_path):
    docs = tmp_path / "docs"
    write_topic(docs, "a.md", OLD)
    write_topic(docs, "b.md", OTHER)
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    kb = KnowledgeBase(settings, embedder)
    before = (chroma_log_position(settings.chroma_dir), kb.store.generation(),
              {r.doc_id: r.updated_at for r in kb.store.records()})

    lazy = KnowledgeBase(settings)  # no model given: it would have to load one to embed
    summary = ingest(settings, lazy, docs)

    assert [o.status for o in summary.outcomes] == ["unchanged", "unchanged"]
    assert [o.chunks for o in summary.outcomes] == [2, 2] and summary.chunks == 0
    assert lazy._embedder is None  # nothing to embed, so the model was never loaded
    after = (chroma_log_position(settings.chroma_dir), kb.store.generation(),
             {r.doc_id: r.updated_at for r in kb.store.records()})
    assert after == before  # no write reached Chroma, the generation did not move


def test_same_named_files_in_one_run_are_one_document(settings, embedder, tmp_path):
    docs = tmp_path / "docs"
    first = write_topic(docs / "a", "law.md", OLD)
    copy = write_topic(docs / "b", "law.md", OLD)  # the same law filed under two headings
    other = write_topic(docs / "c", "law.md", NEW)  # another text under the same name
    kb = KnowledgeBase(settings, embedder)
    summary = ingest_paths([docs], settings, kb=kb)
    by_path = {o.path: o for o in summary.outcomes}
    assert by_path[str(first)].status == "added"
    assert by_path[str(copy)].status == "skipped" and str(first) in by_path[str(copy)].reason
    assert by_path[str(other)].status == "failed" and str(first) in by_path[str(other)].reason
    assert "rename" in by_path[str(other)].fix
    texts = kb.store.chunks_of(doc_id_for("law.md"), kb.store.record(doc_id_for("law.md")).version)
    assert texts["documents"] and all(OLD in t for t in texts["documents"])

    again = ingest_paths([docs], settings, kb=KnowledgeBase(settings, embedder))  # nothing flips
    assert [o.status for o in again.outcomes] == ["unchanged", "skipped", "failed"]


def test_a_changed_file_replaces_all_its_old_chunks_in_both_indexes(settings, embedder, tmp_path):
    docs = tmp_path / "docs"
    path = write_topic(docs, "report.md", OLD, paragraphs=3)
    write_topic(docs, "other.md", OTHER)
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    doc_id = doc_id_for("report.md")
    reader = KnowledgeBase(settings, embedder)  # a long-lived reader, e.g. the API
    assert len(keyword_ids(reader, "樱桃")) == 3
    old_version = reader.store.record(doc_id).version

    path.write_text(topic_text(NEW, paragraphs=2, title="报告"), encoding="utf-8")
    counting = CountingEmbedder(embedder)
    summary = ingest(settings, KnowledgeBase(settings, counting), docs)
    assert {o.path.split("/")[-1]: o.status for o in summary.outcomes} == {
        "report.md": "updated", "other.md": "unchanged"}
    assert counting.passages == 2  # only the changed document was embedded

    for kb in (KnowledgeBase(settings, embedder), reader):  # a new process, and the old reader
        rec = kb.fresh(force=True).records()[doc_id]
        assert rec.version != old_version and rec.chunks == 2 and rec.title == "报告"
        got = chunks_in_chroma(kb, doc_id)
        assert len(got["ids"]) == 2
        assert {m["version"] for m in got["metadatas"]} == {rec.version}
        assert not any("樱桃" in t for t in got["documents"])
        # keyword: the old text is not findable, the new one is, with new-version chunks only
        assert keyword_ids(kb, "樱桃") == []
        assert sorted(keyword_ids(kb, "氢能")) == sorted(got["ids"])
        assert kb.keywords.versions[doc_id] == rec.version
        # dense: the nearest chunks to the old text are new-version chunks (or other documents)
        dense = kb.store.query(embedder.embed_query("樱桃种植调研"), 20)
        assert {m["version"] for m in dense["metadatas"][0] if m["doc_id"] == doc_id} == {
            rec.version}
        hits = HybridSearch(kb).search("氢能汽车", k=5)
        assert hits and hits[0].doc_id == doc_id and hits[0].meta["version"] == rec.version


def test_remove_takes_a_document_out_of_both_indexes(settings, embedder, tmp_path):
    docs = tmp_path / "docs"
    write_topic(docs, "a.md", OLD)
    write_topic(docs, "b.md", OTHER)
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    reader = KnowledgeBase(settings, embedder).fresh(force=True)
    assert keyword_ids(reader, "樱桃")

    removed, missing = remove_documents(settings, [doc_id_for("a.md"), "doc-nope"])
    assert [r.source for r in removed] == ["a.md"] and missing == ["doc-nope"]

    for kb in (KnowledgeBase(settings, embedder), reader):
        assert set(kb.fresh(force=True).records()) == {doc_id_for("b.md")}
        assert chunks_in_chroma(kb, doc_id_for("a.md"))["ids"] == []
        assert keyword_ids(kb, "樱桃") == []
        assert all(p.doc_id == doc_id_for("b.md") for p in HybridSearch(kb).search("樱桃种植"))
    # by exact source file name, too
    removed, missing = remove_documents(settings, ["b.md"])
    assert [r.doc_id for r in removed] == [doc_id_for("b.md")] and not missing
    assert KnowledgeBase(settings, embedder).store.chunks.count() == 0


def test_a_deleted_keyword_index_is_rebuilt_from_chroma_with_identical_results(settings, embedder,
                                                                               tmp_path):
    docs = tmp_path / "docs"
    for i, topic in enumerate(TOPICS[:3]):
        write_topic(docs, f"{i}.md", topic)
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    queries = ["樱桃种植的资金", "古籍修复调研报告", "政协 协商 座谈会"]
    kb = KnowledgeBase(settings, embedder).fresh(force=True)
    before = {q: (kb.keywords.top(tokenize(q), 10),
                  [p.chunk_id for p in HybridSearch(kb).search(q)]) for q in queries}
    rows_before = sorted(kb.keywords.ids)

    shutil.rmtree(settings.index_dir)
    rebuilt = KnowledgeBase(settings, embedder)
    assert len(rebuilt.keywords) == 0  # nothing on disk ...
    rebuilt.fresh()  # ... the first query's freshness check rebuilds it from Chroma
    assert sorted(rebuilt.keywords.ids) == rows_before
    assert (settings.index_dir / INDEX_FILE).is_file()  # and saves it again
    for q, (keyword, hybrid) in before.items():
        again = rebuilt.keywords.top(tokenize(q), 10)
        assert [rebuilt.keywords.ids[r] for r, _ in again] == [kb.keywords.ids[r] for r, _ in
                                                                keyword]
        assert np.allclose([s for _, s in again], [s for _, s in keyword])
        assert [p.chunk_id for p in HybridSearch(rebuilt).search(q)] == hybrid


def test_a_stale_keyword_index_file_is_refreshed(settings, embedder, tmp_path):
    docs = tmp_path / "docs"
    report = write_topic(docs, "report.md", OLD)
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    old_index = (settings.index_dir / INDEX_FILE).read_bytes()
    old_generation = KnowledgeBase(settings, embedder).keywords.generation

    report.write_text(topic_text(NEW), encoding="utf-8")  # an update ...
    write_topic(docs, "new.md", OTHER)  # ... and an addition
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    (settings.index_dir / INDEX_FILE).write_bytes(old_index)  # e.g. restored from a backup

    kb = KnowledgeBase(settings, embedder)
    assert kb.keywords.generation == old_generation < kb.store.generation()
    kb.fresh()
    assert kb.keywords.generation == kb.store.generation()
    assert kb.keywords.versions == {r.doc_id: r.version for r in kb.store.records()}
    assert keyword_ids(kb, "樱桃") == []
    assert len(keyword_ids(kb, "氢能")) == 2 and len(keyword_ids(kb, "古籍")) == 2


def test_readers_notice_another_writer_after_the_staleness_interval(settings, embedder, tmp_path):
    docs = tmp_path / "docs"
    write_topic(docs, "a.md", OLD)
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    reader = KnowledgeBase(settings, embedder).fresh(force=True)
    write_topic(docs, "b.md", OTHER)
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    time.sleep(1.1)  # the reader checks Chroma's generation at most once a second
    assert doc_id_for("b.md") in reader.records()
    assert len(reader.keywords.top(tokenize("古籍"), 10)) == 2


def test_chroma_log_position_reads_the_write_ahead_log(settings, embedder, tmp_path):
    """The probe the crash tests use to time their kills moves with every write and only then."""
    docs = tmp_path / "docs"
    write_topic(docs, "a.md", OLD)
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    first = chroma_log_position(settings.chroma_dir)
    # begin (1 record) + 2 chunks + commit (1 record) are four log entries
    assert first >= 4
    ingest(settings, KnowledgeBase(settings, embedder), docs)
    assert chroma_log_position(settings.chroma_dir) == first


def test_the_writers_records_take_its_commits_and_are_read_again_after_anothers(
        settings, kb_factory, tmp_path):
    docs = tmp_path / "docs"
    for folder, name, topic in (("1", "a.md", OLD), ("2", "b.md", OTHER), ("3", "c.md", NEW)):
        write_topic(docs / folder, name, topic)
    kb = kb_factory()
    reads = []
    read_all = kb.store.records
    kb.store.records = lambda *a, **kw: reads.append("".join(traceback.format_stack())) or \
        read_all(*a, **kw)

    ingest(settings, kb, docs / "1")
    # read at the run's start and for its audit, never after a commit: taken as is
    assert reads and not [stack for stack in reads if "note_committed" in stack]
    assert kb.records() == {r.doc_id: r for r in read_all()}

    other = kb_factory()
    ingest(settings, other, docs / "2")  # another writer commits: kb's cache is behind
    # kb commits next without looking first: its cache was not current before this commit,
    # so the commit is not taken as is; every record is read again
    a, b = doc_id_for("a.md"), doc_id_for("b.md")
    pending = kb.store.begin([(kb.store.record(a), "v-next", 0)])
    kb.note_committed([(pending[0], [])], kb.store.commit([(pending[0], "新文")]))
    assert set(kb.records()) == {a, b} and kb.records()[a].version == "v-next"
    assert kb.records() == {r.doc_id: r for r in read_all()}


def test_a_passage_met_again_in_the_run_is_embedded_once_and_stored_with_its_own_vector(
        settings, embedder, tmp_path):
    # An amended version under the same title repeats the passages it did not change.
    docs = tmp_path / "docs"
    write_topic(docs, "2019.md", OLD, paragraphs=2, title="樱桃条例")
    amended = topic_text(OLD, paragraphs=2, title="樱桃条例") + "\n" + \
        topic_text(NEW, paragraphs=1, title="x").split("\n\n", 1)[1]
    (docs / "2024.md").write_text(amended, encoding="utf-8")
    counting = CountingEmbedder(embedder)
    kb = KnowledgeBase(settings, counting)
    ingest(settings, kb, docs)
    old, new = (kb.store.chunks_of(doc_id_for(n), kb.store.record(doc_id_for(n)).version)
                for n in ("2019.md", "2024.md"))
    assert len(old["ids"]) == 2 and len(new["ids"]) == 3
    assert counting.passages == 3  # the two shared passages once, the new one
    ids, vectors = kb.store.embeddings(sorted(old["ids"]) + sorted(new["ids"]))
    by_id = dict(zip(ids, vectors))
    for a, b in zip(sorted(old["ids"]), sorted(new["ids"])):
        assert np.array_equal(by_id[a], by_id[b])
    # each is the vector its passage has when embedded alone
    text = dict(zip(new["ids"], new["documents"]))[sorted(new["ids"])[2]]
    assert "氢能" in text
    alone = embedder.embed_passages([f"樱桃条例\n{text}"], precision=kb.passage_precision())[0]
    assert float(by_id[sorted(new["ids"])[2]] @ alone) > 0.999
