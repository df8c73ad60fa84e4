"""From retrieved passages to what the answerer reads, and to the evidence it is checked on."""

from __future__ import annotations

import math

from bot.evidence import Evidence
from bot.extractive import Pick, Source
from bot.question import QuestionInfo
from bot.retrieval import Passage
from ingest.kb import KnowledgeBase
from ingest.keyword_index import KeywordIndex
from ingest.store import DocRecord
from ingest.tokens import normalize

_HISTORY_KINDS = ("date", "year")
_CONTEXT_WEIGHT = 0.3  # terms of the earlier question count, but less than the question's own


class Grounding:
    """Read access to documents for one answer: records, full texts, header passages."""

    def __init__(self, kb: KnowledgeBase, records: dict[str, DocRecord]):
        self.kb = kb
        self.records = records

    def doc_text(self, doc_id: str) -> str:
        rec = self.records.get(doc_id)
        return _doc_text(self.kb, doc_id, rec.version if rec else "") or ""

    def header_source(self, doc_id: str, sources: list[Source]) -> Source | None:
        """The history header of a document, from the sources or fetched."""
        for src in sources:
            if src.doc_id == doc_id and src.header:
                return src
        head = self.header(doc_id)
        return Source(len(sources), head.text, context_of(head), doc_id, head, header=True) \
            if head else None

    def header(self, doc_id: str) -> Passage | None:
        rec = self.records.get(doc_id)
        if rec is None:
            return None
        got = self.kb.store.chunks.get(
            where={"$and": [{"doc_id": doc_id}, {"version": rec.version}, {"kind": "header"}]},
            include=["documents", "metadatas"], limit=1)
        if not got["ids"]:
            return None
        return Passage(got["ids"][0], got["documents"][0], got["metadatas"][0])


_texts: dict[tuple[str, str], str] = {}


def _doc_text(kb: KnowledgeBase, doc_id: str, version: str) -> str | None:
    key = (doc_id, version)
    if key not in _texts:
        if len(_texts) > 256:
            _texts.clear()
        _texts[key] = kb.store.document_text(doc_id) or ""
    return _texts[key]


def context_of(p: Passage) -> str:
    meta = p.meta
    return " ".join(x for x in (meta.get("title", ""), meta.get("headings", ""),
                                meta.get("article", "")) if x)


def sources_for(passages: list[Passage], q: QuestionInfo, ground: Grounding) -> list[Source]:
    """The passages, plus for a date/year question the history header of each law among them."""
    sources = [Source(i, p.text, context_of(p), p.doc_id, p, header=p.meta.get("kind") == "header")
               for i, p in enumerate(passages)]
    if q.kind in _HISTORY_KINDS:
        have = {p.chunk_id for p in passages}
        for doc_id in dict.fromkeys(p.doc_id for p in passages[:3]):
            head = ground.header(doc_id)
            if head is not None and head.chunk_id not in have:
                have.add(head.chunk_id)
                sources.append(Source(len(sources), head.text, context_of(head), doc_id, head,
                                      header=True))
    return sources


def term_weights(q: QuestionInfo, keywords: KeywordIndex) -> dict[str, float]:
    """Rarer words weigh more (idf over the indexed chunks); earlier-question words less."""
    n = max(len(keywords), 1)
    df = keywords.document_frequency
    weights = {}
    for term in q.terms:
        weights[term] = _idf(df(normalize(term)), n)
    for term in q.context_terms:
        weights.setdefault(term, _CONTEXT_WEIGHT * _idf(df(normalize(term)), n))
    return weights


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def evidence_for(picks: list[Pick], ground: Grounding) -> Evidence:
    docs = {p.source.doc_id for p in picks}
    recs = [ground.records[d] for d in docs if d in ground.records]
    laws = [r for r in recs if r.kind == "law"]
    return Evidence(
        sentences=" ".join(p.quote for p in picks),
        passages=" ".join(p.source.text for p in picks),
        titles=" ".join(p.source.context for p in picks),
        doc_years={y for r in recs for y in (r.years or [r.year])},
        doc_texts=" ".join(ground.doc_text(d) for d in docs),
        version_years={r.year for r in laws if r.year},
        history_years={int(h["date"][:4]) for r in laws for h in r.history if h.get("date")},
    )
