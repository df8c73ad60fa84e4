"""Chroma, the one source of truth: chunks with their embeddings, and document records.

A document becomes visible only when its record is committed. New chunks are written under a
new version id first, the record is committed, and only then are the old chunks deleted, so a
process killed at any moment leaves each document wholly old or wholly new; `recover()` sweeps
what a killed run left behind. A generation counter on the records collection tells other
processes (and the keyword index) that something changed.
"""

from __future__ import annotations

import base64
import json
import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Iterator
from urllib.parse import urlparse

import numpy as np

from cppcc_kb.settings import Settings
from ingest.errors import EmbedderError, IngestError, StoreUnavailable

CHUNKS = "cppcc_kb_chunks"
DOCUMENTS = "cppcc_kb_documents"
_PAGE = 2000
_PACKED = "zlib+b64:"


def pack_text(text: str) -> str:
    """The form a document's whole text is stored in. Chroma indexes stored Chinese text, and
    in a collection of whole documents every later write pays for it (measured: one record
    upsert among 164 law texts took 1.1 s with plain text and 20 ms with this form)."""
    return _PACKED + base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def unpack_text(stored: str) -> str:
    if not stored.startswith(_PACKED):  # stores written before texts were packed
        return stored
    return zlib.decompress(base64.b64decode(stored[len(_PACKED):])).decode("utf-8")


@dataclass
class DocRecord:
    doc_id: str
    title: str
    source: str
    sha256: str
    version: str = ""  # committed content version ("" while the first ingest is unfinished)
    pending_version: str = ""
    pending_chunks: int = 0
    chunks: int = 0
    chars: int = 0
    date: str = ""
    year: int = 0
    issuer: str = ""
    kind: str = ""  # law | report | news | document
    format: str = ""
    history: list[dict] = field(default_factory=list)  # adoption / amendment events of a law
    years: list[int] = field(default_factory=list)  # the years the document is about
    added_at: float = 0.0
    updated_at: float = 0.0

    def to_metadata(self) -> dict:
        meta = asdict(self)
        for name in _JSON_FIELDS:  # Chroma metadata holds scalars only
            meta[name] = json.dumps(meta[name], ensure_ascii=False)
        return meta

    @classmethod
    def from_metadata(cls, meta: dict) -> "DocRecord":
        known = {k: v for k, v in meta.items() if k in cls.__dataclass_fields__}
        for name in _JSON_FIELDS:
            known[name] = json.loads(known.get(name) or "[]")
        return cls(**known)


class Records(dict):
    """One snapshot of the committed documents' records (doc id -> DocRecord). The knowledge
    base replaces the snapshot when documents change and never edits it, so work derived from
    it (the names a question may use, what the checks know of each document) is kept on it,
    worked out once: `memo`."""

    def memo(self, key: str, make):
        memos = self.__dict__.setdefault("_memos", {})
        if key not in memos:
            memos[key] = make()
        return memos[key]


def derived(records: dict, key: str, make):
    """`make()`, worked out once per snapshot when `records` is one (`Records.memo`); a plain
    dict (a test's) gets it made afresh."""
    return records.memo(key, make) if isinstance(records, Records) else make()


_JSON_FIELDS = ("history", "years")


def chunk_id(doc_id: str, version: str, position: int) -> str:
    return f"{chunk_prefix(doc_id, version)}{position:05d}"


def chunk_prefix(doc_id: str, version: str) -> str:
    """What every chunk id of this version of the document starts with."""
    return f"{doc_id}:{version[:12]}:"


def doc_of_chunk(cid: str) -> str:
    return cid.partition(":")[0]


def open_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(host=url.hostname, port=url.port or 8000,
                                       ssl=url.scheme == "https", settings=chroma_settings)
        except Exception as exc:
            raise IngestError(f"cannot reach the Chroma server at {settings.chroma_url} ({exc}); "
                              "start it with `chroma run --path DIR --host 127.0.0.1 --port PORT` "
                              "or unset CPPCC_KB_CHROMA_URL to use the local store") from None
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


class Guarded:
    """A Chroma client or collection whose calls raise StoreUnavailable, naming the server and
    the fix, when the server cannot be reached (instead of httpx's bare ConnectError)."""

    def __init__(self, target, where: str):
        self._target, self._where = target, where

    def __getattr__(self, name: str):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            import httpx

            try:
                result = attr(*args, **kwargs)
            except httpx.TransportError as exc:
                raise StoreUnavailable(
                    f"cannot reach the Chroma server at {self._where} "
                    f"({type(exc).__name__}: {exc}); start it with `chroma run --path DIR "
                    "--host 127.0.0.1 --port PORT` — requests succeed again as soon as it is "
                    "back") from None
            return Guarded(result, self._where) if _is_collection(result) else result

        return call


def _is_collection(value) -> bool:
    return type(value).__name__ == "Collection"


class Store:
    """Thin, explicit operations over the two Chroma collections."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        client = client or open_client(settings)
        self.client = Guarded(client, settings.chroma_url) if settings.chroma_url else client
        self.chunks = self.client.get_or_create_collection(
            CHUNKS, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
        self.docs = self.client.get_or_create_collection(
            DOCUMENTS, embedding_function=None, metadata={"generation": 0})

    # ---- embedder identity -------------------------------------------------------------
    def embedder(self) -> str | None:
        # Read afresh: another process may have claimed the store since this one opened it.
        chunks = self.client.get_collection(CHUNKS, embedding_function=None)
        return (chunks.metadata or {}).get("embedder")

    def passage_precision(self) -> str:
        """How the store's passage vectors are computed: fp32 (sentence-transformers' exact
        vectors; every store made before this was recorded), int8 (the mixed int8 graph) or
        bf16 (OpenVINO)."""
        chunks = self.client.get_collection(CHUNKS, embedding_function=None)
        return (chunks.metadata or {}).get("passages", "fp32")

    def check_embedder(self, identity: str, dim: int, *, claim: bool = False,
                       passages: str = "fp32") -> None:
        """Refuse to mix vectors of two models; the first ingest claims the store for its model
        and the precision of its passage vectors."""
        recorded = self.embedder()
        if recorded is None:
            if claim:
                self.chunks.modify(metadata={"embedder": identity, "dim": dim,
                                             "passages": passages})
            return
        if recorded != identity:
            raise EmbedderError(
                f"this knowledge base was built with the embedder {recorded!r}, but the settings "
                f"ask for {identity!r}; set CPPCC_KB_EMBEDDER back to {recorded!r}, or rebuild: "
                "`cppcc-kb --data NEW_DIR ingest FILES...` (or `cppcc-kb reset` then ingest again)")

    # ---- generation ----------------------------------------------------------------------
    def generation(self) -> int:
        docs = self.client.get_collection(DOCUMENTS, embedding_function=None)
        return int((docs.metadata or {}).get("generation", 0))

    def _bump(self) -> int:
        generation = self.generation() + 1
        self.docs.modify(metadata={"generation": generation, "changed_at": time.time()})
        return generation

    # ---- document records ------------------------------------------------------------------
    def records(self, committed_only: bool = True) -> list[DocRecord]:
        got = self.docs.get(include=["metadatas"])
        recs = [DocRecord.from_metadata(m) for m in got["metadatas"]]
        return [r for r in recs if r.version] if committed_only else recs

    def record(self, doc_id: str) -> DocRecord | None:
        got = self.docs.get(ids=[doc_id], include=["metadatas"])
        return DocRecord.from_metadata(got["metadatas"][0]) if got["ids"] else None

    def document_text(self, doc_id: str) -> str | None:
        got = self.docs.get(ids=[doc_id], include=["documents"])
        return unpack_text(got["documents"][0] or "") if got["ids"] else None

    def _put_record(self, rec: DocRecord, text: str | None = None) -> None:
        self._put_records([rec], None if text is None else [text])

    def _put_records(self, recs: list[DocRecord], texts: list[str] | None = None) -> None:
        if not recs:
            return
        payload = {"ids": [r.doc_id for r in recs], "embeddings": [[1.0]] * len(recs),
                   "metadatas": [r.to_metadata() for r in recs]}
        if texts is not None:
            payload["documents"] = [pack_text(t) for t in texts]
        self.docs.upsert(**payload)

    # ---- the write protocol ----------------------------------------------------------------
    def begin(self, pending: list[tuple[DocRecord, str, int]]) -> list[DocRecord]:
        """Announce new versions (record, version, chunk count); readers keep seeing the
        committed ones until `commit`. One write for all of them, since a Chroma write costs
        ~0.1 s however small; a committed record keeps its stored text until its commit."""
        got = self.docs.get(ids=[rec.doc_id for rec, _, _ in pending], include=["metadatas"])
        current = {i: DocRecord.from_metadata(m) for i, m in zip(got["ids"], got["metadatas"])}
        known, new = [], []
        for rec, version, n_chunks in pending:
            old = current.get(rec.doc_id)
            rec.version = old.version if old else ""
            rec.added_at = (old.added_at if old else 0.0) or round(time.time(), 3)
            rec.pending_version, rec.pending_chunks = version, n_chunks
            if old and old.version:
                old.pending_version, old.pending_chunks = version, n_chunks
                known.append(old)
            else:
                new.append(rec)
        self._put_records(known)
        self._put_records(new, [""] * len(new))
        return [rec for rec, _, _ in pending]

    def add_chunks(self, ids: list[str], embeddings: np.ndarray, texts: list[str],
                   metadatas: list[dict]) -> None:
        self.chunks.upsert(ids=ids, embeddings=embeddings, documents=texts, metadatas=metadatas)

    def commit(self, pending: list[tuple[DocRecord, str]]) -> tuple[int, int]:
        """Make the pending versions of a batch (record, full text) the visible ones in one
        record write, then drop the chunks of the versions they replace. One write for the
        batch: per document it cost 0.17 s at 1,564 laws, more than the rest of the bookkeeping.
        A kill leaves the whole batch old or new, each document whole either way. Returns the
        generations before and after, so a cache current before can take the batch as is."""
        replaced = [(rec.doc_id, rec.pending_version, rec.pending_chunks)
                    for rec, _ in pending if rec.version]
        for rec, _ in pending:
            rec.version, rec.chunks = rec.pending_version, rec.pending_chunks
            rec.pending_version, rec.pending_chunks = "", 0
            rec.updated_at = round(time.time(), 3)  # to the ms: as Chroma keeps it
        # Bump on both sides of the switch: a process killed right after the record write
        # still leaves a new generation behind, so no reader keeps a keyword index (or record
        # cache) of the old version as if it were current.
        before = self._bump() - 1
        self._put_records([rec for rec, _ in pending], [text for _, text in pending])
        after = self._bump()
        # A document new to the store has no other version: `recover()` at the start of the
        # run swept what a killed run left, and the lock keeps other writers out.
        # A re-index of the same bytes keeps its version: drop the positions it no longer has.
        clauses = [{"$and": [{"doc_id": doc_id}, {"$or": [{"version": {"$ne": version}},
                                                          {"position": {"$gte": n}}]}]}
                   for doc_id, version, n in replaced]
        if clauses:
            self.chunks.delete(where=clauses[0] if len(clauses) == 1 else {"$or": clauses})
        return before, after

    def remove(self, doc_id: str) -> bool:
        if not self.docs.get(ids=[doc_id])["ids"]:
            return False
        self._bump()  # before as well as after the delete: see `commit`
        self.docs.delete(ids=[doc_id])  # invisible from here on; chunks are now orphans
        self._bump()
        self.chunks.delete(where={"doc_id": doc_id})
        return True

    def recover(self) -> list[str]:
        """Sweep a killed run: drop uncommitted versions and orphaned chunks. Returns doc ids."""
        swept = []
        committed = {}
        for rec in self.records(committed_only=False):
            if rec.pending_version:
                rec.pending_version, rec.pending_chunks = "", 0
                if rec.version:
                    self._put_record(rec)
                else:
                    self.docs.delete(ids=[rec.doc_id])
                swept.append(rec.doc_id)
            if rec.version:
                committed[rec.doc_id] = rec.version
        stale = [cid for cid, meta in self.iter_chunk_meta()
                 if committed.get(meta["doc_id"]) != meta["version"]]
        for i in range(0, len(stale), _PAGE):
            self.chunks.delete(ids=stale[i:i + _PAGE])
        return swept

    # ---- reading chunks ----------------------------------------------------------------------
    def iter_chunk_meta(self) -> Iterator[tuple[str, dict]]:
        offset = 0
        while True:
            got = self.chunks.get(include=["metadatas"], limit=_PAGE, offset=offset)
            yield from zip(got["ids"], got["metadatas"])
            if len(got["ids"]) < _PAGE:
                return
            offset += _PAGE

    def chunks_of(self, doc_id: str, version: str) -> dict:
        where = {"$and": [{"doc_id": doc_id}, {"version": version}]}
        return self.chunks.get(where=where, include=["documents", "metadatas"])

    def get_chunks(self, ids: list[str]) -> dict:
        return self.chunks.get(ids=ids, include=["documents", "metadatas"])

    def embeddings(self, ids: list[str]) -> tuple[list[str], np.ndarray]:
        """(ids found, their stored vectors as rows): ids missing from the store are left out."""
        got = self.chunks.get(ids=ids, include=["embeddings"])
        return got["ids"], np.asarray(got["embeddings"], dtype=np.float32).reshape(
            len(got["ids"]), -1)

    def query(self, embedding: np.ndarray, k: int, where: dict | None = None,
              content: bool = True) -> dict:
        """The k nearest chunks; `content=False`: ids and distances only (texts and metadata
        cost 8 ms of a 10 ms query at 71,000 chunks, and the bot reads them afterwards for the
        few passages it keeps). Chroma 1.5 returns fewer than k when it holds fewer, so no
        count first (13 ms)."""
        include = ["documents", "metadatas", "distances"] if content else ["distances"]
        return self.chunks.query(query_embeddings=[embedding], n_results=k, where=where,
                                 include=include)

    def reset(self) -> None:
        for name in (CHUNKS, DOCUMENTS):
            try:
                self.client.delete_collection(name)
            except Exception:  # already gone
                pass
