"""The packed form of a document's whole text (pure functions; Chroma is exercised elsewhere)."""

from ingest.store import pack_text, unpack_text


def test_packed_text_round_trips_and_holds_no_chinese():
    text = "全年636件提案承载民意，167场次协商激荡智慧。\n第十二条　……"
    packed = pack_text(text)
    assert packed.isascii()  # nothing for Chroma's text index to chew on
    assert unpack_text(packed) == text
    assert unpack_text(pack_text("")) == ""


def test_text_stored_before_packing_reads_as_it_was():
    assert unpack_text("第一条　为了……") == "第一条　为了……"


# --- the write protocol over a real embedded Chroma ---------------------------------------------

def _write(store, doc_id: str, version: str, n_chunks: int, texts: list[str] | None = None):
    import numpy as np

    from ingest.store import DocRecord, chunk_id

    recs = store.begin([(DocRecord(doc_id, doc_id, f"{doc_id}.md", "sha"), version, n_chunks)])
    ids = [chunk_id(doc_id, version, i) for i in range(n_chunks)]
    store.add_chunks(ids, np.ones((n_chunks, 4), dtype=np.float32), texts or ["文本"] * n_chunks,
                     [{"doc_id": doc_id, "version": version, "position": i}
                      for i in range(n_chunks)])
    return recs[0]


def _chunk_versions(store, doc_id: str) -> list[tuple[str, int]]:
    got = store.chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
    return sorted((m["version"], m["position"]) for m in got["metadatas"])


def test_one_commit_switches_a_batch_and_drops_only_replaced_chunks(tmp_path):
    from cppcc_kb.settings import Settings
    from ingest.store import Store

    store = Store(Settings(data=tmp_path))
    store.commit([(_write(store, "a", "v1", 3), "旧文")])
    store.commit([(_write(store, "keep", "k1", 2), "另一篇")])
    generation = store.generation()

    update, addition = _write(store, "a", "v2", 2), _write(store, "b", "w1", 1)
    assert {r.doc_id: r.version for r in store.records()} == {"a": "v1", "keep": "k1"}
    store.commit([(update, "新文"), (addition, "新增")])

    assert {r.doc_id: (r.version, r.chunks) for r in store.records()} == {
        "a": ("v2", 2), "b": ("w1", 1), "keep": ("k1", 2)}
    assert store.generation() == generation + 2  # bumped before and after the switch
    assert _chunk_versions(store, "a") == [("v2", 0), ("v2", 1)]
    assert _chunk_versions(store, "keep") == [("k1", 0), ("k1", 1)]
    assert store.document_text("a") == "新文" and store.record("a").pending_version == ""


def test_reindexing_the_same_bytes_into_fewer_chunks_leaves_no_stray_chunk(tmp_path):
    from cppcc_kb.settings import Settings
    from ingest.store import Store

    store = Store(Settings(data=tmp_path))
    store.commit([(_write(store, "a", "v1", 3), "原文")])
    store.commit([(_write(store, "a", "v1", 2), "原文")])  # same version, split differently
    assert _chunk_versions(store, "a") == [("v1", 0), ("v1", 1)]
    assert store.record("a").chunks == 2


def test_work_derived_from_a_records_snapshot_is_done_once_and_dies_with_it():
    from ingest.store import Records

    made = []
    snap = Records({"a": 1})
    assert snap.memo("k", lambda: made.append(1) or "v") == "v"
    assert snap.memo("k", lambda: made.append(1) or "w") == "v" and made == [1]
    assert Records(snap).memo("k", lambda: "new") == "new"  # a new snapshot, its own work
    assert snap == {"a": 1}  # the memo is no record
