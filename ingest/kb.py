"""The knowledge base as one object: Chroma store, embedder and the keyword index kept in step."""

from __future__ import annotations

import threading
import time

from cppcc_kb.settings import Settings
from ingest.embedder import Embedder, embedder_identity, load_embedder
from ingest.indexing import index_text
from ingest.keyword_index import KeywordIndex
from ingest.splitter import Chunk
from ingest.store import DocRecord, Store
from ingest.tokens import tokenize

_STALE_CHECK_S = 1.0  # how often a reader asks Chroma whether another process changed it


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 store: Store | None = None):
        self.settings = settings
        self.store = store or Store(settings)
        self._embedder = embedder
        self.keywords = KeywordIndex.load(settings.index_dir)
        self._lock = threading.RLock()
        self._checked_at = 0.0
        self._records: dict[str, DocRecord] = {}
        self._records_gen = -1

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def check_embedder(self, claim: bool = False) -> None:
        """Refuse a store built by another model, before loading or using any model."""
        identity = embedder_identity(self.settings)
        self.store.check_embedder(identity, 0)
        if claim and self.store.embedder() is None:  # the first ingest claims the store
            self.store.check_embedder(identity, self.embedder.dim, claim=True)

    # ---- freshness -----------------------------------------------------------------------
    def fresh(self, force: bool = False) -> "KnowledgeBase":
        """Bring the keyword index and the record cache in step with Chroma if it moved."""
        now = time.monotonic()
        if not force and now - self._checked_at < _STALE_CHECK_S:
            return self
        with self._lock:
            generation = self.store.generation()
            self._checked_at = now
            if generation != self._records_gen:
                self.check_embedder()  # another process may have built the store meanwhile
                self._records = {r.doc_id: r for r in self.store.records()}
                self._records_gen = generation
            if generation != self.keywords.generation:
                self.refresh_keywords(generation)
        return self

    def records(self) -> dict[str, DocRecord]:
        return self.fresh()._records

    def refresh_keywords(self, generation: int | None = None) -> int:
        """Re-tokenise only documents whose committed version differs; returns rows added."""
        committed = {r.doc_id: r for r in self.store.records()}
        indexed = self.keywords.versions
        stale = {d for d, v in indexed.items() if committed.get(d) is None
                 or committed[d].version != v}
        missing = [r for d, r in committed.items() if indexed.get(d) != r.version]
        rows = []
        for rec in missing:
            got = self.store.chunks_of(rec.doc_id, rec.version)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                chunk = Chunk(text, meta["start"], meta["end"], meta["position"],
                              [h for h in meta["headings"].split(" > ") if h], meta["kind"],
                              meta["article"] or None)
                rows.append((cid, rec.doc_id, tokenize(index_text(chunk, rec.title))))
        index = self.keywords.replace_docs(stale | {r.doc_id for r in missing}, rows,
                                           {r.doc_id: r.version for r in missing})
        index.generation = self.store.generation() if generation is None else generation
        self.keywords = index
        self._save_keywords()
        return len(rows)

    def _save_keywords(self) -> None:
        try:
            self.keywords.save(self.settings.index_dir)
        except OSError:
            pass  # a read-only data folder still answers; the index is rebuilt in memory

    def note_committed(self, committed: list[tuple[DocRecord, list[tuple[str, str, list[str]]]]]
                       ) -> None:
        """An ingest in this process committed these records with these keyword rows (chunk id,
        doc id, tokens): update the keyword index directly, in one swap."""
        with self._lock:
            rows = [row for _, doc_rows in committed for row in doc_rows]
            index = self.keywords.replace_docs({rec.doc_id for rec, _ in committed}, rows,
                                               {rec.doc_id: rec.version for rec, _ in committed})
            index.generation = self.store.generation()
            self.keywords = index
            self._checked_at = 0.0

    def note_removed(self, doc_id: str) -> None:
        with self._lock:
            index = self.keywords.replace_docs({doc_id}, [], {})
            index.generation = self.store.generation()
            self.keywords = index
            self._save_keywords()
            self._checked_at = 0.0

    def save(self) -> None:
        with self._lock:
            self._save_keywords()
