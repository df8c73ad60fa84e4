"""Ingest files: read, split, embed, store; one outcome per file, good files always go in."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from cppcc_kb.settings import Settings
from ingest.audit import AuditEntry, cli_actor
from ingest.audit import now as audit_now
from ingest.errors import FileRejected
from ingest.indexing import (chunk_metadata, content_version, doc_id_for, index_text,
                             years_covered)
from ingest.kb import KnowledgeBase
from ingest.lock import ingest_lock
from ingest.manifest import MANIFEST, load_manifest
from ingest.metadata import describe
from ingest.readers import SUPPORTED, parse_bytes, read_checked_bytes
from ingest.sentence_vectors import (BASIS_KEY, META_KEY, RecentVectors, basis_for,
                                     chunk_vectors, embedded_once)
from ingest.splitter import Chunk, split_document
from ingest.store import DocRecord, chunk_id
from ingest.tokens import tokenize

# Folder notes that describe a corpus rather than belong to it.
_FOLDER_NOTES = ("readme", "sources", "license", "changelog")
_GROUP_CHUNKS = 256  # chunks embedded per model call, across small files
# Passage vectors a run remembers: over the scale corpus, 1,782 of the 1,938 passages that repeat
# an earlier one come within 5,000 of it; 5,000 vectors of 384 floats hold 7.7 MB.
_RECENT_PASSAGES = 5_000


@dataclass
class FileOutcome:
    path: str
    status: str  # added | updated | unchanged | failed | skipped
    doc_id: str = ""
    title: str = ""
    chunks: int = 0
    reason: str = ""
    fix: str = ""


@dataclass
class IngestSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0  # in the model: passages, and their sentences' vectors
    sentence_seconds: float = 0.0  # of which the sentences (ingest/sentence_vectors.py)
    chars: int = 0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in ("added", "updated"))


@dataclass
class _Prepared:
    path: Path
    rec: DocRecord
    text: str
    chunks: list[Chunk]
    index_texts: list[str]
    status: str
    version: str


Progress = Callable[[int, int, IngestSummary], None]


def collect_files(paths: list[Path]) -> tuple[list[tuple[Path, dict]], list[FileOutcome]]:
    """Files to ingest with their manifest entries; folder notes are skipped, not failed."""
    files, skipped = [], []
    for root in paths:
        if root.is_dir():
            manifest = load_manifest(root)
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                rel_parts = path.relative_to(root).parts
                if any(part.startswith(".") for part in rel_parts) or path.name == MANIFEST:
                    continue
                if path.stem.lower().startswith(_FOLDER_NOTES) and path.suffix.lower() in SUPPORTED:
                    skipped.append(FileOutcome(str(path), "skipped",
                                               reason="a folder note, not a document",
                                               fix="name the file explicitly to ingest it"))
                    continue
                files.append((path, manifest.get(path.name, {})))
        else:
            files.append((root, load_manifest(root.parent).get(root.name, {})
                          if root.parent.is_dir() else {}))
    return files, skipped


def ingest_paths(paths: list[Path], settings: Settings, kb: KnowledgeBase | None = None,
                 progress: Progress | None = None, actor: str | None = None) -> IngestSummary:
    """Ingest files and folders under the store's lock; never raises for a bad file. Each
    added, updated or refused file is written to the audit trail as done by `actor`."""
    started = time.perf_counter()
    summary = IngestSummary()
    files, skipped = collect_files(paths)
    summary.outcomes.extend(skipped)
    with ingest_lock(settings.data):
        kb = kb or KnowledgeBase(settings)
        kb.check_embedder()  # refuse another model's store before loading any model
        kb.store.recover()
        kb.fresh(force=True)
        batch: list[_Prepared] = []
        named: dict[str, tuple[Path, str]] = {}  # doc_id -> (first file of this run, version)
        recent = RunMemory()
        for i, (path, manifest) in enumerate(files, 1):
            prepared = _prepare(path, manifest, settings, kb, summary, named)
            if prepared is not None:
                batch.append(prepared)
            if sum(len(p.chunks) for p in batch) >= _GROUP_CHUNKS or i == len(files):
                _write(batch, kb, summary, recent)
                batch = []
            if progress:
                progress(i, len(files), summary)
        kb.save()
        audit_outcomes(kb, summary, actor or cli_actor())
    summary.seconds = time.perf_counter() - started
    return summary


_AUDITED = {"added": "add", "updated": "update", "failed": "refused"}


def audit_outcomes(kb: KnowledgeBase, summary: IngestSummary, actor: str,
                   action: str | None = None) -> None:
    records = kb.store.records()
    versions = {r.doc_id: r.version for r in records}
    kb.audit.record([AuditEntry(
        audit_now(), actor, action or _AUDITED[o.status], o.doc_id, o.title,
        versions.get(o.doc_id, ""), "failed" if o.status == "failed" else "ok",
        {"file": Path(o.path).name, "chunks": o.chunks,
         **({"reason": o.reason} if o.reason else {})})
        for o in summary.outcomes if o.status in _AUDITED])


def _prepare(path: Path, manifest: dict, settings: Settings, kb: KnowledgeBase,
             summary: IngestSummary, named: dict[str, tuple[Path, str]]) -> _Prepared | None:
    """Read and split one file, or record why not; unchanged files stop here."""
    try:
        raw = read_checked_bytes(path, settings.max_file_bytes)
        doc_id, version = doc_id_for(path.name), content_version(raw)
        if _same_name_earlier(path, doc_id, version, named, summary):
            return None
        current = kb.store.record(doc_id)
        if current and current.version == version:
            summary.outcomes.append(FileOutcome(str(path), "unchanged", doc_id, current.title,
                                                current.chunks))
            return None
        parsed = parse_bytes(path, raw)
        meta = describe(parsed.text, path.name, parsed.title)
        chunks = split_document(parsed.text)
        if not chunks:
            raise FileRejected(path, "no text left after cleaning",
                               "check that the file holds the document's text")
    except FileRejected as exc:
        summary.outcomes.append(FileOutcome(str(path), "failed", reason=exc.reason, fix=exc.fix))
        return None
    rec = DocRecord(
        doc_id=doc_id, title=manifest.get("title") or meta.title,
        source=manifest.get("source") or path.name, sha256=hashlib.sha256(raw).hexdigest(),
        chars=len(parsed.text), date=manifest.get("date") or meta.date,
        year=int((manifest.get("date") or "")[:4] or meta.year or 0),
        issuer=manifest.get("issuer") or meta.issuer, kind=manifest.get("kind") or meta.kind,
        format=parsed.format, history=meta.history)
    rec.years = years_covered(parsed.text, rec.year, rec.kind)
    summary.chars += len(parsed.text)
    return _Prepared(path, rec, parsed.text, chunks, [index_text(c, rec.title) for c in chunks],
                     "updated" if current and current.version else "added", version)


def _same_name_earlier(path: Path, doc_id: str, version: str,
                       named: dict[str, tuple[Path, str]], summary: IngestSummary) -> bool:
    """A document is known by its file name, so two files of one run with the same name are
    one document: a copy is skipped; different content is refused rather than letting the
    later file silently replace the earlier one (and flip back and forth on every re-run)."""
    first, first_version = named.setdefault(doc_id, (path, version))
    if first == path:
        return False
    if first_version == version:
        summary.outcomes.append(FileOutcome(str(path), "skipped", doc_id,
                                            reason=f"the same content as {first}",
                                            fix="nothing to do; delete the copy to silence this"))
        return True
    raise FileRejected(path, f"{first} in this run has the same file name but other content, and "
                       "a document is known by its file name",
                       "rename one of the two files to keep both, or leave one out")


@dataclass
class RunMemory:
    """What one run has embedded already: an input met again (an amended law's unchanged
    passages and sentences, often in the next batch) is not embedded again."""

    passages: RecentVectors = field(default_factory=lambda: RecentVectors(_RECENT_PASSAGES))
    sentences: RecentVectors = field(default_factory=RecentVectors)


def _write(batch: list[_Prepared], kb: KnowledgeBase, summary: IngestSummary,
           recent: RunMemory) -> None:
    """Embed the batch in one model call, write all its chunks in one Chroma call, then commit
    the batch in one record write. A Chroma write costs ~0.1 s however few records it holds
    (measured: 16,000 chunks in calls of 40 took 65 s, in calls of 400 took 25 s), so every
    step goes per batch; each document still switches from wholly old to wholly new."""
    if not batch:
        return
    kb.check_embedder(claim=True)  # loads the model only now: unchanged files never need it
    texts = [t for p in batch for t in p.index_texts]
    t0 = time.perf_counter()
    precision = kb.passage_precision()
    known = embedded_once(texts, lambda new: kb.embedder.embed_passages(
        new, kb.settings.embed_batch_size, precision), kb.embedder.dim, recent.passages)
    vectors = np.array([known[t] for t in texts], dtype=np.float32)
    basis = basis_for(kb.embedder.name)
    t1 = time.perf_counter()
    sentences = chunk_vectors([c.text for p in batch for c in p.chunks],
                              [p.rec.title for p in batch for _ in p.chunks],
                              kb.embedder.embed_sentences, basis, recent.sentences) if basis else []
    summary.sentence_seconds += time.perf_counter() - t1
    summary.embed_seconds += time.perf_counter() - t0
    recs = kb.store.begin([(p.rec, p.version, len(p.chunks)) for p in batch])
    ids = [[chunk_id(rec.doc_id, p.version, c.position) for c in p.chunks]
           for p, rec in zip(batch, recs)]
    docs = [{**rec.to_metadata(), "version": p.version} for p, rec in zip(batch, recs)]
    metas = [chunk_metadata(c, doc) for p, doc in zip(batch, docs) for c in p.chunks]
    for meta, packed in zip(metas, sentences):
        meta[META_KEY], meta[BASIS_KEY] = packed, basis.tag
    kb.store.add_chunks([cid for doc_ids in ids for cid in doc_ids], vectors,
                        [c.text for p in batch for c in p.chunks], metas)
    generations = kb.store.commit([(rec, p.text) for p, rec in zip(batch, recs)])
    committed = []
    for p, rec, doc_ids in zip(batch, recs, ids):
        committed.append((rec, [(cid, rec.doc_id, tokenize(t))
                                for cid, t in zip(doc_ids, p.index_texts)]))
        summary.outcomes.append(FileOutcome(str(p.path), p.status, rec.doc_id, rec.title,
                                            len(p.chunks)))
    kb.note_committed(committed, generations)


def reindex_records(records: list[DocRecord], kb: KnowledgeBase,
                    progress: Progress | None = None, actor: str | None = None) -> IngestSummary:
    """Split and embed again each document from the text the store keeps, metadata unchanged
    (after a splitter change, or to repair an index). The caller holds the ingest lock."""
    started = time.perf_counter()
    summary = IngestSummary()
    recent = RunMemory()
    for i, rec in enumerate(records, 1):
        text = kb.store.document_text(rec.doc_id) or ""
        chunks = split_document(text)
        if not chunks:
            summary.outcomes.append(FileOutcome(rec.source, "failed", rec.doc_id, rec.title,
                                                reason="the stored text is empty",
                                                fix="upload the original file again"))
            continue
        fresh = DocRecord(**{**rec.__dict__, "pending_version": "", "pending_chunks": 0})
        raw = text.encode("utf-8")
        # Same bytes as the original file: same version, so re-uploading it stays "unchanged".
        version = content_version(raw) if hashlib.sha256(raw).hexdigest() == rec.sha256 \
            else "r" + content_version(raw)[1:]
        summary.chars += len(text)
        _write([_Prepared(Path(rec.source), fresh, text, chunks,
                          [index_text(c, rec.title) for c in chunks], "updated", version)],
               kb, summary, recent)
        if progress:
            progress(i, len(records), summary)
    kb.save()
    audit_outcomes(kb, summary, actor or cli_actor(), action="reindex")
    summary.seconds = time.perf_counter() - started
    return summary
