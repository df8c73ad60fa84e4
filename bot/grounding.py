"""Read access to the documents behind an answer: their records, whole texts and history headers."""

from __future__ import annotations

from bot.retrieval import Passage, current_chunk_ids, current_doc
from ingest.kb import KnowledgeBase
from ingest.store import DocRecord


class Grounding:
    """Read access to documents for one answer: records, full texts, header passages."""

    def __init__(self, kb: KnowledgeBase, records: dict[str, DocRecord]):
        self.kb = kb
        self.records = records

    def doc_text(self, doc_id: str) -> str:
        rec = self.records.get(doc_id)
        return self.kb.document_text(doc_id, rec.version if rec else "")

    def headers(self, doc_id: str) -> list[Passage]:
        """A document's history header: its first chunks of kind header. Read by id (the
        keyword index lists each document's chunk ids in order) rather than by a metadata
        filter, which Chroma answers by scanning every chunk (~20 ms at 71,000 chunks)."""
        rec = self.records.get(doc_id)
        if rec is None:
            return []
        ids = current_chunk_ids(self.kb.keywords, {doc_id}, self.records)
        got = self.kb.store.get_chunks(ids[:_FIRST_CHUNKS])
        if sum(m.get("kind") == "header" for m in got["metadatas"]) == _FIRST_CHUNKS or not ids:
            got = self.kb.store.chunks.get(  # a header longer than that, or no index rows
                where={"$and": [{"doc_id": doc_id}, {"version": rec.version}, {"kind": "header"}]},
                include=["documents", "metadatas"])
        heads = [Passage(cid, text, meta) for cid, text, meta
                 in zip(got["ids"], got["documents"], got["metadatas"])
                 if meta.get("kind") == "header"]
        return sorted(heads, key=lambda p: p.meta["position"])

    def citing(self, articles: list[tuple[str, str]]) -> dict[tuple[str, str], list[Passage]]:
        """For each (doc id, article) — 第二十六条 —, the document's other passages that name
        that article: found by the keyword index's rows holding the word, read by id in one
        call (at most _CITING an article)."""
        index = self.kb.keywords
        wanted: dict[str, list[tuple[str, str]]] = {}
        for doc_id, article in articles:
            rows = index.rows_with(article, within=index.rows_of({doc_id}))
            for cid in sorted(cid for cid in (index.ids[r] for r in rows)
                              if current_doc(cid, self.records))[:_CITING]:
                wanted.setdefault(cid, []).append((doc_id, article))
        out: dict[tuple[str, str], list[Passage]] = {key: [] for key in articles}
        if not wanted:
            return out
        got = self.kb.store.get_chunks(sorted(wanted))
        for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
            for key in wanted.get(cid, ()):
                if meta.get("article") != key[1]:
                    out[key].append(Passage(cid, text, meta))
        return out


_CITING = 6  # passages read per cited article (a law cites one article a few times at most)
_FIRST_CHUNKS = 6  # a law's history header is its first chunk, rarely more than two

