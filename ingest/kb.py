"""The knowledge base as one object: Chroma store, embedder and the keyword index kept in step."""

from __future__ import annotations

import threading
import time

from cppcc_kb.settings import Settings
from ingest.embedder import Embedder, embedder_identity, load_embedder
from ingest.errors import EmbedderError
from ingest.indexing import index_text
from ingest.keyword_index import KeywordIndex
from ingest.splitter import Chunk
from ingest.store import DocRecord, Records, Store
from ingest.audit import AuditLog
from ingest.tokens import tokenize

_STALE_CHECK_S = 0.5  # how often a reader asks Chroma whether another process changed it
_TEXTS_KEPT = 256  # whole document texts kept by document_text


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 store: Store | None = None):
        self.settings = settings
        self.store = store or Store(settings)
        self._embedder = embedder
        self.keywords = KeywordIndex.load(settings.index_dir)
        self._lock = threading.RLock()
        self._checked_at = 0.0
        self._records = Records()
        self._texts: dict[tuple[str, str], str] = {}  # whole texts lately read, by version
        self._records_gen = -1
        self.audit = AuditLog(settings.audit_log)  # staff actions, written by ingest itself

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def check_embedder(self, claim: bool = False) -> None:
        """Refuse a store built by another model, before loading or using any model; and
        passage vectors of another precision than the store's (an explicit setting only: by
        default a store keeps the precision it was built with)."""
        identity = embedder_identity(self.settings)
        self.store.check_embedder(identity, 0)
        if self.store.embedder() is None:  # the first ingest claims the store
            if not claim:
                return  # an empty store: any precision may claim it
            self.store.check_embedder(
                identity, self.embedder.dim, claim=True,
                passages=self.embedder.passages_in(self.settings.passage_precision))
        recorded = self.store.passage_precision()
        wanted = self.settings.passage_precision
        if "passage_precision" in self.settings.model_fields_set and recorded != wanted:
            raise EmbedderError(
                f"this knowledge base's passages were embedded in {recorded}, but "
                f"CPPCC_KB_PASSAGE_PRECISION asks for {wanted}; unset it (new documents then "
                f"follow the store), or rebuild: `cppcc-kb --data NEW_DIR ingest FILES...`")

    def passage_precision(self) -> str:
        return self.store.passage_precision()

    def document_text(self, doc_id: str, version: str) -> str:
        """A document's whole text as stored, kept for the last 256 (document, version) read:
        the checks read the texts of the few documents answers come from, again and again."""
        key = (doc_id, version)
        if key not in self._texts:
            if len(self._texts) >= _TEXTS_KEPT:
                self._texts.clear()
            self._texts[key] = self.store.document_text(doc_id) or ""
        return self._texts[key]

    # ---- freshness -----------------------------------------------------------------------
    def fresh(self, force: bool = False) -> "KnowledgeBase":
        """Bring the keyword index and the record cache in step with Chroma if it moved."""
        if not force and time.monotonic() - self._checked_at < _STALE_CHECK_S:
            return self
        with self._lock:  # readers arriving meanwhile wait here, then find it checked
            started = time.monotonic()
            if not force and started - self._checked_at < _STALE_CHECK_S:
                return self
            generation = self.store.generation()
            if generation != self._records_gen:
                self.check_embedder()  # another process may have built the store meanwhile
                self._records = Records({r.doc_id: r for r in self.store.records()})
                self._records_gen = generation
            if generation != self.keywords.generation:
                self.refresh_keywords(generation)
            self._checked_at = started  # stamped once records and keywords are both current
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

    def note_committed(self, committed: list[tuple[DocRecord, list[tuple[str, str, list[str]]]]],
                       generations: tuple[int, int]) -> None:
        """An ingest in this process committed these records with these keyword rows (chunk id,
        doc id, tokens), taking the store from generation `before` to `after`: update the
        keyword index directly, in one swap, and the record cache too when it was current
        before (else it is read again: 22 s over a 1,564-law ingest, read after every batch)."""
        before, after = generations
        with self._lock:
            rows = [row for _, doc_rows in committed for row in doc_rows]
            index = self.keywords.replace_docs({rec.doc_id for rec, _ in committed}, rows,
                                               {rec.doc_id: rec.version for rec, _ in committed})
            index.generation = after
            self.keywords = index
            if self._records_gen == before:
                self._records = Records({**self._records, **{
                    rec.doc_id: DocRecord.from_metadata(rec.to_metadata())
                    for rec, _ in committed}})
                self._records_gen = after
            self.fresh(force=True)  # the writer's next question, and every reader's, sees it

    def note_removed(self, doc_id: str) -> None:
        with self._lock:
            index = self.keywords.replace_docs({doc_id}, [], {})
            index.generation = self.store.generation()
            self.keywords = index
            self._save_keywords()
            self.fresh(force=True)

    def save(self) -> None:
        with self._lock:
            self._save_keywords()


class WithoutDocuments(KnowledgeBase):
    """The knowledge base as if some documents had never been added: their records, keyword
    rows and chunks are invisible to every reader (held-out evaluation makes unanswerable
    questions this way, without building a second store)."""

    def __init__(self, kb: KnowledgeBase, left_out: set[str]):
        self.__dict__.update(kb.__dict__)
        self._base = kb
        self.left_out = frozenset(left_out)
        self._view: tuple[int, dict[str, DocRecord]] = (0, {})
        self._index_view: tuple[int, KeywordIndex | None] = (0, None)

    def records(self) -> dict[str, DocRecord]:
        full = self._base.records()
        # One dict per snapshot of the full records: callers cache work on its identity.
        if self._view[0] != id(full):
            self._view = (id(full), Records({d: r for d, r in full.items()
                                             if d not in self.left_out}))
        return self._view[1]

    @property
    def keywords(self) -> KeywordIndex:  # type: ignore[override]
        full = self._base.keywords
        if self._index_view[0] != id(full):
            self._index_view = (id(full), full.replace_docs(set(self.left_out), [], {}))
        return self._index_view[1]

    @keywords.setter
    def keywords(self, value: KeywordIndex) -> None:
        self._base.keywords = value
