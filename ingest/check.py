"""`cppcc-kb check [--repair]`: do Chroma, the keyword index and the document records agree?

Read under the ingest lock (no write is half-way while we look). Problems found:
- an unfinished ingest (a record's pending version: a killed upload);
- orphan chunks (no committed record owns their document and version);
- a committed document whose chunks are not all there;
- the keyword index out of step with the committed versions;
- leftover upload folders of a killed server;
- sentence vectors in another basis than this version's (a store built before the basis
  changed: the answerer then reads those passages without sentence similarity).
`--repair` sweeps the first two (`Store.recover`), re-indexes documents with missing chunks
or old sentence vectors from the text the store keeps, rebuilds the keyword index, removes
the leftovers, and checks again.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field

from cppcc_kb.settings import Settings
from ingest.keyword_index import KeywordIndex
from ingest.lock import ingest_lock
from ingest.sentence_vectors import BASIS_KEY, basis_for
from ingest.store import Store


@dataclass(frozen=True)
class CheckReport:
    documents: int
    chunks: int
    pending: tuple[str, ...] = ()  # doc ids with an unfinished ingest
    orphans: int = 0  # chunks no committed record owns
    short: tuple[str, ...] = ()  # committed doc ids with fewer chunks than recorded
    keywords_stale: tuple[str, ...] = ()  # doc ids the keyword index has at another version
    leftovers: tuple[str, ...] = ()  # upload folders left by a killed server
    old_sentences: tuple[str, ...] = ()  # doc ids whose sentence vectors are in another basis
    repaired: tuple[str, ...] = field(default=(), compare=False)

    @property
    def ok(self) -> bool:
        return not (self.pending or self.orphans or self.short or self.keywords_stale
                    or self.leftovers or self.old_sentences)

    def lines(self) -> list[str]:
        out = [f"{self.documents} documents, {self.chunks} chunks"]
        if self.pending:
            out.append(f"unfinished ingest (a killed upload) of {len(self.pending)} document(s): "
                       + ", ".join(self.pending[:5]))
        if self.orphans:
            out.append(f"{self.orphans} orphan chunk(s) no document owns")
        if self.short:
            out.append(f"{len(self.short)} document(s) missing chunks: " + ", ".join(self.short[:5]))
        if self.keywords_stale:
            out.append(f"keyword index out of step for {len(self.keywords_stale)} document(s)")
        if self.leftovers:
            out.append(f"{len(self.leftovers)} leftover upload folder(s)")
        if self.old_sentences:
            out.append(f"{len(self.old_sentences)} document(s) with sentence vectors from an "
                       "older version (answers read them less well; --repair re-indexes them)")
        return out


def check(settings: Settings, repair: bool = False) -> CheckReport:
    with ingest_lock(settings.data):
        report = _inspect(settings)
        if not repair or report.ok:
            return report
        done = _repair(settings, report)
    again = check(settings)
    return CheckReport(**{**again.__dict__, "repaired": tuple(done)})


def _inspect(settings: Settings) -> CheckReport:
    store = Store(settings)
    records = store.records(committed_only=False)
    committed = {r.doc_id: r for r in records if r.version}
    basis = basis_for(store.embedder() or "")
    owned, orphans, total, old = Counter(), 0, 0, set()
    for _, meta in store.iter_chunk_meta():
        total += 1
        rec = committed.get(meta["doc_id"])
        if rec is not None and rec.version == meta["version"]:
            owned[rec.doc_id] += 1
            if basis is not None and meta.get(BASIS_KEY) != basis.tag:
                old.add(rec.doc_id)
        else:
            orphans += 1
    index = KeywordIndex.load(settings.index_dir)
    uploads = settings.uploads_dir
    return CheckReport(
        documents=len(committed), chunks=total,
        pending=tuple(r.doc_id for r in records if r.pending_version),
        orphans=orphans,
        short=tuple(d for d, r in committed.items() if owned[d] < r.chunks),
        keywords_stale=tuple(sorted(
            {d for d, r in committed.items() if index.versions.get(d) != r.version}
            | {d for d in index.versions if d not in committed})),
        leftovers=tuple(sorted(p.name for p in uploads.iterdir())) if uploads.is_dir() else (),
        old_sentences=tuple(sorted(old)))


def _repair(settings: Settings, report: CheckReport) -> list[str]:
    """Called under the ingest lock."""
    from ingest.kb import KnowledgeBase
    from ingest.pipeline import reindex_records

    done = []
    kb = KnowledgeBase(settings)
    if report.pending or report.orphans:
        kb.store.recover()
        done.append("swept unfinished ingests and orphan chunks")
    again = set(report.short) | set(report.old_sentences)
    if again:
        records = kb.store.records()
        reindex_records([r for r in records if r.doc_id in again], kb)
        done.append(f"re-indexed {len(again)} document(s) from their stored text")
    kb.refresh_keywords()
    if report.keywords_stale:
        done.append("rebuilt the keyword index")
    if report.leftovers:
        shutil.rmtree(settings.uploads_dir, ignore_errors=True)
        done.append("removed leftover upload folders")
    return done


def sweep_at_start(settings: Settings) -> None:
    """What `serve` does first, holding its folder: sweep a killed run's half-written ingest
    and its upload folders, so no orphan outlives a restart."""
    with ingest_lock(settings.data):
        Store(settings).recover()
        shutil.rmtree(settings.uploads_dir, ignore_errors=True)
