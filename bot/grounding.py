"""From retrieved passages to what the answerer reads, and to the evidence it is checked on."""

from __future__ import annotations

import math
import re

from bot.evidence import Evidence
from bot.extractive import Pick, Source
from bot.question import QuestionInfo
from bot.retrieval import Passage, current_chunk_ids
from ingest.kb import KnowledgeBase
from ingest.keyword_index import KeywordIndex
from ingest.store import DocRecord
from ingest.tokens import normalize

_HISTORY_KINDS = ("date", "year")
_HISTORY_WORDS = re.compile(r"通过|修正|修订|修改|公布|发布|施行|令|修宪|版本|哪一届|哪次会议")
_CONTEXT_WEIGHT = 0.3
_UNSEEN_WEIGHT = 2.0  # terms of the earlier question count, but less than the question's own


class Grounding:
    """Read access to documents for one answer: records, full texts, header passages."""

    def __init__(self, kb: KnowledgeBase, records: dict[str, DocRecord]):
        self.kb = kb
        self.records = records

    def doc_text(self, doc_id: str) -> str:
        rec = self.records.get(doc_id)
        return _doc_text(self.kb, doc_id, rec.version if rec else "") or ""

    def header_sources(self, doc_id: str, first_index: int) -> list[Source]:
        """The history header of a document (one passage, or a few for a long history)."""
        return [Source(first_index + i, h.text, context_of(h), doc_id, h, header=True)
                for i, h in enumerate(self.headers(doc_id))]

    def article_text(self, doc_id: str, article: str) -> list[str]:
        rec = self.records.get(doc_id)
        if rec is None:
            return []
        got = self.kb.store.chunks.get(
            where={"$and": [{"doc_id": doc_id}, {"version": rec.version}, {"article": article}]},
            include=["documents"])
        return got["documents"]

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


_FIRST_CHUNKS = 6  # a law's history header is its first chunk, rarely more than two

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
    # A law's history answers when and which version, nothing else.
    history_ok = q.kind in _HISTORY_KINDS + ("article",) and bool(_HISTORY_WORDS.search(q.text))
    sources = [Source(i, p.text, context_of(p), p.doc_id, p, header=p.meta.get("kind") == "header")
               for i, p in enumerate(passages)
               if history_ok or p.meta.get("kind") != "header"]
    if q.kind in _HISTORY_KINDS:
        have = {p.chunk_id for p in passages}
        for doc_id in dict.fromkeys(p.doc_id for p in passages[:3]):
            for head in ground.headers(doc_id):
                if head.chunk_id not in have:
                    have.add(head.chunk_id)
                    sources.append(Source(len(sources), head.text, context_of(head), doc_id,
                                          head, header=True))
    return sources


def term_weights(q: QuestionInfo, keywords: KeywordIndex) -> dict[str, float]:
    """Rarer words weigh more (idf over the indexed chunks); earlier-question words less."""
    n = max(len(keywords), 1)
    df = keywords.document_frequency
    weights = {}
    for term in q.terms:
        freq = df(normalize(term))
        # A word no document contains is more often the member's phrasing than a missing topic;
        # the focus check catches missing topics, so it weighs like an ordinary word here.
        weights[term] = _idf(freq, n) if freq else _UNSEEN_WEIGHT
    for term in q.context_terms:
        weights.setdefault(term, _CONTEXT_WEIGHT * _idf(df(normalize(term)), n))
    return weights


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


_REFERENCE = re.compile(r"第[一二三四五六七八九十百零〇\d]+条")


def referenced_text(picks: list[Pick], ground: Grounding) -> str:
    """Articles the chosen sentences point to ('第三十一条第六项规定的信访事项'): what they
    mean is written there."""
    texts = []
    for pick in picks:
        own = pick.source.passage.meta.get("article", "") if pick.source.passage else ""
        for ref in dict.fromkeys(_REFERENCE.findall(pick.quote)):
            if ref != own and not pick.quote.startswith(ref):
                texts += ground.article_text(pick.source.doc_id, ref)
    return "\n".join(texts)


def evidence_for(picks: list[Pick], ground: Grounding) -> Evidence:
    docs = {p.source.doc_id for p in picks}
    recs = [ground.records[d] for d in docs if d in ground.records]
    laws = [r for r in recs if r.kind == "law"]
    return Evidence(
        sentences=" ".join(p.quote for p in picks),
        passages=" ".join(p.source.text for p in picks) + referenced_text(picks, ground),
        titles=" ".join(p.source.context for p in picks),
        doc_years={y for r in recs for y in (r.years or [r.year])},
        doc_texts=" ".join(ground.doc_text(d) for d in docs),
        doc_kinds={r.kind for r in recs},
        version_years={r.year for r in laws if r.year},
        history_years={int(h["date"][:4]) for r in laws for h in r.history if h.get("date")},
        doc_titles=tuple(r.title for r in recs if r.title),
    )
