"""What a knowledge base holds, seen by a fresh process, and the invariants it must keep.

`snapshot()` runs in a new process (a warm CLI child) so that nothing cached by the test process
hides what is on disk; `violations()` checks the snapshot in the test.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def snapshot(data: str, chroma_url: str | None = None, queries: list[str] = (),
             embedder: str | None = None, model=None) -> dict:
    """Records, every chunk in Chroma, the keyword index after `fresh()`, and query results.

    `embedder` names the model in the settings; `model` (in-process use) is a loaded one."""
    from bot.retrieval import HybridSearch
    from cppcc_kb.settings import Settings
    from ingest.kb import KnowledgeBase
    from ingest.tokens import tokenize

    overrides = {"chroma_url": chroma_url} if chroma_url else {}
    if embedder:
        overrides["embedder"] = embedder
    settings = Settings(data=Path(data), **overrides)
    kb = KnowledgeBase(settings, model)
    store = kb.store
    records = store.records(committed_only=False)
    got = store.chunks.get(include=["documents", "metadatas"])
    chunks = [{"id": cid, "text": text, **meta}
              for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])]
    texts = {r.doc_id: store.document_text(r.doc_id) for r in records if r.version}
    kb.fresh(force=True)
    results = {}
    for q in queries:
        hybrid = HybridSearch(kb).search(q, k=20)
        dense = store.query(kb.embedder.embed_query(q), 50)
        keyword = kb.keywords.top(tokenize(q), 50)
        results[q] = {
            "hybrid": [[p.chunk_id, p.doc_id, p.meta["version"]] for p in hybrid],
            "dense_raw": [[cid, m["doc_id"], m["version"]]
                          for cid, m in zip(dense["ids"][0], dense["metadatas"][0])],
            "keyword": [kb.keywords.ids[row] for row, _ in keyword],
        }
    return {
        "generation": store.generation(),
        "embedder": store.embedder(),
        "records": [{"doc_id": r.doc_id, "title": r.title, "version": r.version,
                     "pending_version": r.pending_version, "chunks": r.chunks,
                     "source": r.source, "date": r.date} for r in records],
        "texts": texts,
        "chunks": chunks,
        "keyword_ids": list(kb.keywords.ids),
        "keyword_versions": dict(kb.keywords.versions),
        "keyword_generation": kb.keywords.generation,
        "queries": results,
    }


def committed(snap: dict) -> dict[str, dict]:
    return {r["doc_id"]: r for r in snap["records"] if r["version"]}


def visible_chunks(snap: dict, doc_id: str) -> list[dict]:
    """The chunks readers may see of a document: those of its committed version, in order."""
    rec = committed(snap).get(doc_id)
    if rec is None:
        return []
    own = [c for c in snap["chunks"] if c["doc_id"] == doc_id and c["version"] == rec["version"]]
    return sorted(own, key=lambda c: c["position"])


def visible_text(snap: dict, doc_id: str) -> str:
    return "\n".join(c["text"] for c in visible_chunks(snap, doc_id))


def violations(snap: dict, *, settled: bool = False) -> list[str]:
    """Broken invariants; `settled` (a run finished) also demands no leftovers at all."""
    problems = []
    docs = committed(snap)
    live_ids = set()
    for doc_id, rec in docs.items():
        own = visible_chunks(snap, doc_id)
        live_ids.update(c["id"] for c in own)
        if len(own) != rec["chunks"]:
            problems.append(f"{doc_id}: record says {rec['chunks']} chunks, "
                            f"{len(own)} of version {rec['version']} in Chroma")
        if [c["position"] for c in own] != list(range(len(own))):
            problems.append(f"{doc_id}: positions of version {rec['version']} are not 0..n-1")
        text = snap["texts"].get(doc_id) or ""
        for c in own:
            if text[c["start"]:c["end"]] != c["text"]:
                problems.append(f"{doc_id}: chunk {c['id']} is not the stored text's span")
                break
            if c["id"].split(":")[1] != rec["version"][:12]:
                problems.append(f"{doc_id}: chunk id {c['id']} names another version")
    if snap["keyword_versions"] != {d: r["version"] for d, r in docs.items()}:
        problems.append(f"keyword index versions {snap['keyword_versions']} != committed "
                        f"{ {d: r['version'] for d, r in docs.items()} }")
    if set(snap["keyword_ids"]) != live_ids:
        extra = sorted(set(snap["keyword_ids"]) - live_ids)[:5]
        lacking = sorted(live_ids - set(snap["keyword_ids"]))[:5]
        problems.append(f"keyword rows differ from committed chunks: extra {extra}, "
                        f"missing {lacking}")
    for q, res in snap["queries"].items():
        for cid, doc_id, version in res["hybrid"]:
            if docs.get(doc_id, {}).get("version") != version:
                problems.append(f"query {q!r} returned {cid}, not a committed chunk")
        for cid in res["keyword"]:
            if cid not in live_ids:
                problems.append(f"keyword search {q!r} found {cid}, not a committed chunk")
    if settled:
        pending = [r["doc_id"] for r in snap["records"] if r["pending_version"] or not r["version"]]
        if pending:
            problems.append(f"records left pending: {pending}")
        leftovers = [c["id"] for c in snap["chunks"] if c["id"] not in live_ids]
        if leftovers:
            problems.append(f"chunks of no committed version left in Chroma: {leftovers[:5]}")
    return problems


def chroma_log_position(chroma_dir: Path, wait: float = 10.0) -> int | None:
    """How far an embedded Chroma's write-ahead log has come: one step per record written or
    deleted. Read with plain sqlite, so a test can watch another process write without opening a
    Chroma client of its own; 0 before the database exists. None if a writer held the database
    locked for longer than `wait` seconds."""
    path = Path(chroma_dir) / "chroma.sqlite3"
    if not path.exists():
        return 0
    con = sqlite3.connect(path, timeout=wait)
    try:
        row = con.execute("SELECT max(m) FROM (SELECT max(seq_id) AS m FROM embeddings_queue "
                          "UNION ALL SELECT max(seq_id) FROM max_seq_id)").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return None
        return 0  # tables not created yet
    finally:
        con.close()
    return int(row[0] or 0)
