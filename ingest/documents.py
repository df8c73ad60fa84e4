"""Staff operations on whole documents besides ingest: remove and reset."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from cppcc_kb.settings import Settings
from ingest.audit import AuditEntry, AuditLog, cli_actor
from ingest.audit import now as audit_now
from ingest.kb import KnowledgeBase
from ingest.lock import ingest_lock
from ingest.store import DocRecord, Store

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary


def resolve(records: list[DocRecord], key: str) -> DocRecord | None:
    """A document by id, or by its exact source file name when that names one document."""
    by_id = [r for r in records if r.doc_id == key]
    if by_id:
        return by_id[0]
    by_source = [r for r in records if r.source == key]
    return by_source[0] if len(by_source) == 1 else None


def remove_documents(settings: Settings, keys: list[str], kb: KnowledgeBase | None = None,
                     wait_s: float = 0.0, actor: str | None = None
                     ) -> tuple[list[DocRecord], list[str]]:
    """Remove from Chroma and the keyword index together, under the ingest lock (waiting up to
    `wait_s` seconds for an ingest that holds it). Each removal is audited with its proof."""
    removed, missing = [], []
    with ingest_lock(settings.data, wait_s):
        kb = kb or KnowledgeBase(settings)
        records = kb.store.records()
        for key in keys:
            rec = resolve(records, key)
            probe = _own_vector(kb, rec) if rec is not None else None
            if rec is None or not kb.store.remove(rec.doc_id):
                missing.append(key)
                continue
            kb.note_removed(rec.doc_id)
            removed.append(rec)
            proof = deletion_proof(kb, rec.doc_id, probe)
            kb.audit.record([AuditEntry(
                audit_now(), actor or cli_actor(), "remove", rec.doc_id, rec.title, rec.version,
                "proved" if proof["gone"] else "not_proved", {"source": rec.source, **proof})])
    return removed, missing


def _own_vector(kb: KnowledgeBase, rec: DocRecord):
    """One of the document's own stored vectors: after the delete, the query that would find
    its chunks first if any were left."""
    ids = kb.store.chunks.get(where={"doc_id": rec.doc_id}, limit=1, include=[])["ids"]
    if not ids:
        return None
    _, vectors = kb.store.embeddings(ids)
    return vectors[0] if len(vectors) else None


def deletion_proof(kb: KnowledgeBase, doc_id: str, probe) -> dict:
    """Whether anything of `doc_id` can still be retrieved: its chunks in Chroma (by id), its
    rows in the keyword index, and the nearest chunks to its own vector."""
    in_chroma = len(kb.store.chunks.get(where={"doc_id": doc_id}, include=[])["ids"])
    in_keywords = len(kb.keywords.rows_of({doc_id}))
    nearest = 0
    if probe is not None:
        got = kb.store.query(probe, k=10)
        nearest = sum(m.get("doc_id") == doc_id for m in (got["metadatas"] or [[]])[0])
    still_listed = kb.store.record(doc_id) is not None
    return {"chunks_in_chroma": in_chroma, "keyword_rows": in_keywords,
            "nearest_of_own_vector": nearest, "probed": probe is not None,
            "still_listed": still_listed,
            "gone": not (in_chroma or in_keywords or nearest or still_listed)}


def reindex_documents(settings: Settings, keys: list[str], kb: KnowledgeBase | None = None,
                      progress=None, actor: str | None = None) -> tuple["IngestSummary", list[str]]:
    """Re-split and re-embed documents from their stored text, keeping their metadata."""
    from ingest.pipeline import reindex_records

    with ingest_lock(settings.data):
        kb = kb or KnowledgeBase(settings)
        kb.check_embedder(claim=True)
        records = kb.store.records()
        found = [resolve(records, key) for key in keys]
        missing = [k for k, rec in zip(keys, found) if rec is None]
        summary = reindex_records([r for r in found if r is not None], kb, progress, actor)
    return summary, missing


def reset_knowledge_base(settings: Settings, actor: str | None = None) -> None:
    with ingest_lock(settings.data):
        store = Store(settings)
        count = len(store.records())
        store.reset()
        shutil.rmtree(settings.index_dir, ignore_errors=True)
        AuditLog(settings.audit_log).record([AuditEntry(
            audit_now(), actor or cli_actor(), "reset", outcome="ok",
            detail={"documents_removed": count})])
