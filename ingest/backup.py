"""Backup and restore: the knowledge base as plain files, and back.

A backup is logical, not a copy of Chroma's files: every chunk (id, text, metadata, vector) and
every document record, read through Chroma under the ingest lock — so it is consistent while a
server answers (its writes wait for the lock), and works alike for the embedded store and a
`chroma run` server. It is written to a temporary folder beside DEST and renamed into place
only when complete: a crash leaves no half backup.

Restore fills an empty knowledge base from a backup and rebuilds the keyword index from it; if
anything fails midway the target is emptied again, so it is either the backup or nothing.

    DEST/manifest.json   format, created, embedder, counts, collection metadata
    DEST/chunks.jsonl    one chunk a line: id, text, metadata
    DEST/vectors.npy     the chunks' vectors, in the same order (float32)
    DEST/records.jsonl   one document record a line: id, stored text, metadata
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from cppcc_kb.settings import Settings
from ingest.errors import IngestError
from ingest.lock import ingest_lock, refuse_if_served
from ingest.store import Store

FORMAT = "cppcc-kb-backup/1"
_PAGE = 2000


class BackupError(IngestError):
    """A backup cannot be written or restored; the message names the folder and the fix."""


def backup(settings: Settings, dest: Path) -> dict:
    """Write the knowledge base to `dest` (which must not exist or be empty); its manifest."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists and is not an empty folder; give a new "
                          "folder for the backup")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        with ingest_lock(settings.data):  # no write from any process while we read
            store = Store(settings)
            manifest = _dump(store, work)
        for name in os.listdir(work):
            _fsync(work / name)
        if dest.exists():
            dest.rmdir()
        work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _dump(store: Store, work: Path) -> dict:
    vectors = []
    chunks = 0
    with open(work / "chunks.jsonl", "w", encoding="utf-8") as out:
        offset = 0
        while True:
            got = store.chunks.get(include=["documents", "metadatas", "embeddings"],
                                   limit=_PAGE, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                out.write(json.dumps({"id": cid, "text": text, "meta": meta},
                                     ensure_ascii=False) + "\n")
            if len(got["ids"]):
                vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
            chunks += len(got["ids"])
            if len(got["ids"]) < _PAGE:
                break
            offset += _PAGE
    dim = int((store.chunks.metadata or {}).get("dim") or (vectors[0].shape[1] if vectors else 0))
    np.save(work / "vectors.npy", np.concatenate(vectors) if vectors
            else np.zeros((0, dim), np.float32))
    got = store.docs.get(include=["documents", "metadatas"])
    with open(work / "records.jsonl", "w", encoding="utf-8") as out:
        for did, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
            out.write(json.dumps({"id": did, "text": text, "meta": meta},
                                 ensure_ascii=False) + "\n")
    chunk_meta = dict(store.client.get_collection("cppcc_kb_chunks",
                                                  embedding_function=None).metadata or {})
    docs_meta = dict(store.client.get_collection("cppcc_kb_documents",
                                                 embedding_function=None).metadata or {})
    manifest = {"format": FORMAT, "created": time.time(), "chunks": chunks,
                "documents": len(got["ids"]), "embedder": chunk_meta.get("embedder"),
                "chunk_collection": chunk_meta, "document_collection": docs_meta}
    (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                        encoding="utf-8")
    return manifest


def restore(settings: Settings, src: Path) -> dict:
    """Fill the (empty) knowledge base of `settings` from the backup in `src`; its manifest."""
    src = Path(src)
    manifest = _manifest(src)
    if not settings.chroma_url:
        refuse_if_served(settings.data)
    with ingest_lock(settings.data):
        store = Store(settings)
        if store.docs.count() or store.chunks.count():
            raise BackupError(
                f"the knowledge base at {settings.chroma_url or settings.data} is not empty; "
                "restore into a new one (`cppcc-kb --data NEW_DIR restore DIR`) or empty it "
                "first (`cppcc-kb reset`)")
        try:
            _load(store, src, manifest)
        except BaseException:
            store.reset()  # either the whole backup or nothing
            raise
    from ingest.kb import KnowledgeBase

    from ingest.audit import AuditEntry, cli_actor, now

    kb = KnowledgeBase(settings)
    kb.refresh_keywords()  # the keyword index is derived: rebuilt from what was restored
    kb.audit.record([AuditEntry(now(), cli_actor(), "restore", detail={
        "from": str(src), "documents": manifest.get("documents", 0)})])
    return manifest


def _manifest(src: Path) -> dict:
    try:
        manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src} is not a cppcc-kb backup ({exc}); give the folder "
                          "`cppcc-kb backup DIR` wrote") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src}/manifest.json is of format {manifest.get('format')!r}, not "
                          f"{FORMAT!r}; restore it with the cppcc-kb version that wrote it")
    return manifest


def _load(store: Store, src: Path, manifest: dict) -> None:
    vectors = np.load(src / "vectors.npy")
    with open(src / "chunks.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    if len(rows) != manifest["chunks"] or len(vectors) != len(rows):
        raise BackupError(f"{src} is incomplete: the manifest counts {manifest['chunks']} "
                          f"chunks, the files hold {len(rows)} texts and {len(vectors)} vectors; "
                          "use another backup")
    if manifest["chunk_collection"]:
        store.chunks.modify(metadata=manifest["chunk_collection"])
    for i in range(0, len(rows), _PAGE):
        part = rows[i:i + _PAGE]
        store.chunks.add(ids=[r["id"] for r in part], embeddings=vectors[i:i + _PAGE],
                         documents=[r["text"] for r in part], metadatas=[r["meta"] for r in part])
    with open(src / "records.jsonl", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    for i in range(0, len(records), _PAGE):
        part = records[i:i + _PAGE]
        store.docs.add(ids=[r["id"] for r in part], embeddings=[[1.0]] * len(part),
                       documents=[r["text"] or "" for r in part],
                       metadatas=[r["meta"] for r in part])
    if manifest["document_collection"]:
        store.docs.modify(metadata=manifest["document_collection"])


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
