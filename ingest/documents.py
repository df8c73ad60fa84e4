"""Staff operations on whole documents besides ingest: remove and reset."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from cppcc_kb.settings import Settings
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
                     wait_s: float = 0.0) -> tuple[list[DocRecord], list[str]]:
    """Remove from Chroma and the keyword index together, under the ingest lock (waiting up to
    `wait_s` seconds for an ingest that holds it)."""
    removed, missing = [], []
    with ingest_lock(settings.data, wait_s):
        kb = kb or KnowledgeBase(settings)
        records = kb.store.records()
        for key in keys:
            rec = resolve(records, key)
            if rec is None or not kb.store.remove(rec.doc_id):
                missing.append(key)
                continue
            kb.note_removed(rec.doc_id)
            removed.append(rec)
    return removed, missing


def reindex_documents(settings: Settings, keys: list[str], kb: KnowledgeBase | None = None,
                      progress=None) -> tuple["IngestSummary", list[str]]:
    """Re-split and re-embed documents from their stored text, keeping their metadata."""
    from ingest.pipeline import reindex_records

    with ingest_lock(settings.data):
        kb = kb or KnowledgeBase(settings)
        kb.check_embedder(claim=True)
        records = kb.store.records()
        found = [resolve(records, key) for key in keys]
        missing = [k for k, rec in zip(keys, found) if rec is None]
        summary = reindex_records([r for r in found if r is not None], kb, progress)
    return summary, missing


def reset_knowledge_base(settings: Settings) -> None:
    with ingest_lock(settings.data):
        Store(settings).reset()
        shutil.rmtree(settings.index_dir, ignore_errors=True)
