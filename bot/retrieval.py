"""Hybrid retrieval over the knowledge base: Chroma dense search + BM25, fused, filtered."""

from __future__ import annotations

import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from bot.errors import QuestionError
from bot.hybrid import FusionWeights, fuse
from ingest.kb import KnowledgeBase
from ingest.keyword_index import KeywordIndex
from ingest.store import DocRecord, chunk_prefix, derived, doc_of_chunk
from ingest.tokens import tokenize

_CANDIDATES = 40
_SCAN_CHUNKS = 800  # a filter this narrow is ranked in memory (see `HybridSearch._scan`)
_EMBEDDING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="embed-query")
_PENDING = 32  # prefetched embeddings kept for searches still to come
_SHORT_TITLE = re.compile(r"^中华人民共和国")
MAX_FILTER_VALUES = 200  # document ids or years in one filter: a knowledge base's worth of picks


@dataclass
class Filters:
    doc_ids: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: dict | None) -> "Filters":
        """From API/UI input; unknown keys are an error the caller can read and fix."""
        if raw is not None and not isinstance(raw, dict):
            raise QuestionError('filters must be an object such as {"doc_ids": ["doc-…"], '
                                '"years": [2025]}')
        raw = dict(raw or {})
        unknown = set(raw) - {"doc_ids", "years", "doc_id", "year"}
        if unknown:
            raise QuestionError(f"unknown filter(s) {sorted(unknown)}; use doc_ids and/or years")
        doc_ids = raw.get("doc_ids") or raw.get("doc_id") or []
        years = raw.get("years") or raw.get("year") or []
        doc_ids = [doc_ids] if isinstance(doc_ids, str) else doc_ids
        years = [years] if isinstance(years, (str, int)) else years
        if not isinstance(doc_ids, list) or not isinstance(years, list):
            raise QuestionError("filters: doc_ids and years must be lists, e.g. "
                                '{"doc_ids": ["doc-…"], "years": [2025]}')
        try:
            years = [int(y) for y in years]
        except (TypeError, ValueError):
            raise QuestionError(f"years must be whole numbers like 2025, got {years!r}") from None
        if not all(isinstance(d, str) and d.isprintable() and len(d) <= 200 for d in doc_ids):
            raise QuestionError("doc_ids must be a list of document ids (strings) from "
                                "GET /api/documents")
        if len(doc_ids) > MAX_FILTER_VALUES or len(years) > MAX_FILTER_VALUES:
            raise QuestionError(f"a filter holds at most {MAX_FILTER_VALUES} document ids and "
                                f"{MAX_FILTER_VALUES} years; pick fewer, or search everything "
                                "without a filter")
        return cls(list(doc_ids), years)

    def allows(self, rec: DocRecord) -> bool:
        return ((not self.doc_ids or rec.doc_id in self.doc_ids)
                and (not self.years or bool(set(self.years) & set(rec.years or [rec.year]))))

    @property
    def active(self) -> bool:
        return bool(self.doc_ids or self.years)


@dataclass
class Passage:
    chunk_id: str
    text: str
    meta: dict
    score: float = 0.0
    dense_rank: int = 0
    keyword_rank: int = 0

    @property
    def doc_id(self) -> str:
        return self.meta["doc_id"]

    @property
    def title(self) -> str:
        return self.meta.get("title", "")


def short_title(title: str) -> str:
    """中华人民共和国国旗法 -> 国旗法: how people name a law in a question."""
    return _SHORT_TITLE.sub("", title).strip()


@dataclass
class _Names:
    """Every way a question may name a document (name -> doc ids), the longest such name, and
    the superseded documents: worked out once per snapshot of the records (`_snapshot`); with
    1,500 laws these loops cost ~5 ms a question."""

    by_name: dict[str, list[str]]
    longest: int
    superseded: set[str]
    starts: frozenset[str] = frozenset()  # the first two characters of every name


def _snapshot(records: dict[str, DocRecord]) -> _Names:
    """The names table of this snapshot of the records, kept on it."""
    return derived(records, "names", lambda: _names_of(records))


def _names_of(records: dict[str, DocRecord]) -> _Names:
    names = [(name, rec.doc_id) for rec in records.values()
             for name in {rec.title, short_title(rec.title)} if len(name) >= 2]
    by_name: dict[str, list[str]] = {}
    for name, doc_id in names + distinctive_tails(records):
        if doc_id not in by_name.setdefault(name, []):
            by_name[name].append(doc_id)
    return _Names(by_name, max(map(len, by_name), default=0), _superseded(records),
                  frozenset(name[:2] for name in by_name))


_CJK = re.compile(r"^[\u4e00-\u9fff].*[\u4e00-\u9fff]$")


def distinctive_tails(records: dict[str, DocRecord], shortest: int = 3, longest: int = 8
                      ) -> list[tuple[str, str]]:
    """People name a law by its tail ('监督法' for 各级人民代表大会常务委员会监督法): a tail
    counts as a name when only one title ends with it ('组织法' ends many, so it names none)."""
    shorts = {d: short_title(rec.title) for d, rec in records.items()}

    def tails(name: str) -> list[str]:
        return [name[-n:] for n in range(shortest, min(longest, len(name) - 1) + 1)
                if _CJK.match(name[-n:])]

    owners: dict[str, set[str]] = {}
    for d, name in shorts.items():
        for tail in tails(name):
            owners.setdefault(tail, set()).add(records[d].title)
    full = set(shorts.values()) | {rec.title for rec in records.values()}
    return [(tail, d) for d, name in shorts.items() for tail in tails(name)
            if len(owners[tail]) == 1 and tail not in full]


def _superseded(records: dict[str, DocRecord]) -> set[str]:
    newest: dict[str, DocRecord] = {}
    for rec in records.values():
        best = newest.get(rec.title)
        if best is None or (rec.date, rec.year) > (best.date, best.year):
            newest[rec.title] = rec
    return {d for d, rec in records.items() if newest[rec.title].doc_id != d}


def older_versions(records: dict[str, DocRecord]) -> set[str]:
    """Documents with the same title as a newer one: 监察法 2018 beside 监察法 2024."""
    return _snapshot(records).superseded


def names_in(question: str, records: dict[str, DocRecord]) -> list[tuple[int, str, str]]:
    """(position, name, doc_id) of every document name in the question, at its first place.
    Looked up by the question's substrings (testing each of ~12,000 names at full scale cost
    ~3 ms a question), from the places where some name begins."""
    table = _snapshot(records)
    found: dict[tuple[str, str], int] = {}
    for i in range(len(question) - 1):
        if question[i:i + 2] not in table.starts:
            continue
        for j in range(i + 2, min(len(question), i + table.longest) + 1):
            for doc_id in table.by_name.get(question[i:j], ()):
                found.setdefault((question[i:j], doc_id), i)
    return [(pos, name, doc_id) for (name, doc_id), pos in found.items()]


def titles_named(question: str, records: dict[str, DocRecord]) -> set[str]:
    """Documents whose (short) title the question names; the longest names win."""
    hits = [(len(name), doc_id) for _, name, doc_id in names_in(question, records)]
    if not hits:
        return set()
    longest = max(n for n, _ in hits)
    return {d for n, d in hits if n == longest}


_SEPARATELY = re.compile(r"分别|各自|各是|各为|和|与|及")


def docs_compared(question: str, records: dict[str, DocRecord]) -> list[tuple[str, str]]:
    """'国旗法和国歌法分别是哪天施行的' names two documents to answer from one by one:
    [(doc_id, the name the question uses)]."""
    if not _SEPARATELY.search(question):
        return []
    found = [(pos, len(name), doc_id, name) for pos, name, doc_id in names_in(question, records)]
    # the longest name at each place wins: 宪法修正案 over 宪法
    found.sort(key=lambda f: (f[0], -f[1]))
    chosen, covered = [], []
    for pos, length, doc_id, name in found:
        if any(pos < end and pos + length > start for start, end in covered):
            continue
        covered.append((pos, pos + length))
        if doc_id not in [d for d, _ in chosen]:
            chosen.append((doc_id, name))
    return chosen


def question_about(question: str, name: str, names: list[str]) -> str:
    """The question asked of one of the documents it names: the others' names left out."""
    out = question
    for other in names:
        if other != name:
            out = re.sub(rf"[和与及、，,]?《?{re.escape(other)}》?[和与及、]?", "", out)
    return out.replace("分别", "").replace("各自", "")


def current_doc(cid: str, records: dict[str, DocRecord]) -> str | None:
    """The document of a chunk id when that version is the committed one; None for a version
    being written, one a killed run left, or a removed doc. Read from the id itself, so
    ranking needs no metadata from Chroma."""
    doc_id = doc_of_chunk(cid)
    rec = records.get(doc_id)
    if rec is None or not rec.version or not cid.startswith(chunk_prefix(doc_id, rec.version)):
        return None
    return doc_id


def current_chunk_ids(index: KeywordIndex, doc_ids: set[str], records: dict[str, DocRecord]
                      ) -> list[str]:
    """The committed chunks of these documents, in order, as the keyword index lists them."""
    return sorted(cid for cid in (index.ids[i] for i in index.rows_of(doc_ids))
                  if current_doc(cid, records))


class HybridSearch:
    def __init__(self, kb: KnowledgeBase, weights: FusionWeights | None = None,
                 exact: bool = False):
        self.kb = kb
        self.weights = weights or FusionWeights()
        # Dense neighbours by an exact scan of every chunk's stored vector instead of Chroma's
        # HNSW graph, whose neighbours past the first few differ from process to process
        # (measured: 17-31 of 300 CMRC questions' top 50). For fitting and measuring the
        # answerer (evals/fit_answerer.py), where runs must be comparable; the vectors are
        # held in memory (1.5 KB a chunk).
        self.exact = exact
        self._every: tuple[int, list[str], np.ndarray] | None = None
        self._pending: dict[str, Future] = {}
        self._recent: dict[str, np.ndarray] = {}  # vectors of the last queries searched
        self._lock = threading.Lock()

    def prefetch(self, query: str) -> None:
        """Start embedding a query `search` will be asked soon: the chain knows the question's
        text before it has analysed it, and the model runs while it does."""
        with self._lock:
            if query not in self._pending:
                if len(self._pending) >= _PENDING:
                    self._pending.clear()  # prefetched for searches that never came
                self._pending[query] = _EMBEDDING.submit(self.kb.embedder.embed_query, query)

    def _vector(self, query: str) -> Future:
        with self._lock:
            pending = self._pending.pop(query, None)
        return pending or _EMBEDDING.submit(self.kb.embedder.embed_query, query)

    def vector_of(self, query: str) -> np.ndarray:
        """The query's vector: the one its search just used, else embedded now."""
        with self._lock:
            known = self._recent.get(query)
        return known if known is not None else self._remember(query, self._vector(query).result())

    def _remember(self, query: str, vector: np.ndarray) -> np.ndarray:
        with self._lock:
            if len(self._recent) >= _PENDING:
                self._recent.pop(next(iter(self._recent)))
            self._recent[query] = vector
        return vector

    def search(self, query: str, k: int = 8, filters: Filters | None = None,
               years: list[int] | None = None, title_query: str | None = None) -> list[Passage]:
        """The k best committed passages for `query`; `years` (named in the question) boost.
        Both lists are ranked and fused on chunk ids; only the k passages kept are read."""
        filters = filters or Filters()
        records = self.kb.records()
        allowed = ({d for d, r in records.items() if filters.allows(r)} if filters.active
                   else set(records))
        if not allowed:
            return []
        # The model runs outside the GIL: embed the question while jieba and BM25 work here.
        vector = self._vector(query)
        keyword = [c for c in self._keyword(query, allowed) if current_doc(c, records)]
        dense = self._dense(self._remember(query, vector.result()),
                            allowed if filters.active else None, records)
        named = titles_named(title_query or query, records)
        superseded = older_versions(records)
        boosts = {}
        for cid in {*dense, *keyword}:
            doc_id = doc_of_chunk(cid)
            boost = self.weights.title if doc_id in named else 0.0
            if years and set(years) & set(records[doc_id].years):
                boost += self.weights.year
            elif doc_id not in superseded:
                boost += self.weights.current
            boosts[cid] = boost
        ranked = fuse(dense, keyword, boosts, self.weights)[:k]
        passages = self._fetch([cid for cid, _ in ranked], records)
        dense_rank = {cid: i for i, cid in enumerate(dense, 1)}
        keyword_rank = {cid: i for i, cid in enumerate(keyword, 1)}
        out = []
        for cid, score in ranked:
            p = passages.get(cid)
            if p is None:
                continue  # replaced by an ingest that committed between the two reads
            p.score, p.dense_rank, p.keyword_rank = score, dense_rank.get(cid, 0), \
                keyword_rank.get(cid, 0)
            out.append(p)
        return out

    def _dense(self, vector: np.ndarray, allowed: set[str] | None,
               records: dict[str, DocRecord]) -> list[str]:
        if self.exact:
            return self._exact(vector, allowed, records)
        if allowed is not None:
            ids = current_chunk_ids(self.kb.keywords, allowed, records)
            if 0 < len(ids) <= _SCAN_CHUNKS:  # none: let Chroma, the source of truth, say
                return self._scan(vector, ids)
        where = {"doc_id": {"$in": sorted(allowed)}} if allowed is not None else None
        got = self.kb.store.query(vector, _CANDIDATES + 10, where, content=False)
        return [cid for cid in got["ids"][0] if current_doc(cid, records)][:_CANDIDATES]

    def _scan(self, vector: np.ndarray, ids: list[str]) -> list[str]:
        """Dense ranking of a few documents' chunks by their stored vectors: Chroma's filtered
        query scans the metadata of every chunk (~100 ms at 71,000 chunks); reading 60 vectors
        by id takes ~5 ms."""
        got, vectors = self.kb.store.embeddings(ids)
        order = np.argsort(-(vectors @ vector), kind="stable")[:_CANDIDATES]
        return [got[i] for i in order]

    def _exact(self, vector: np.ndarray, allowed: set[str] | None,
               records: dict[str, DocRecord]) -> list[str]:
        if self._every is None or self._every[0] != id(records):
            ids = current_chunk_ids(self.kb.keywords, set(records), records)
            got, vectors = self.kb.store.embeddings(ids) if ids else ([], np.zeros((0, 1)))
            self._every = (id(records), got, vectors)
        _, ids, vectors = self._every
        if not ids:
            return []
        order = np.argsort(-(vectors @ vector), kind="stable")
        return [ids[i] for i in order if allowed is None or doc_of_chunk(ids[i]) in allowed
                ][:_CANDIDATES]

    def _keyword(self, query: str, allowed: set[str]) -> list[str]:
        index = self.kb.keywords  # one snapshot: an ingest swaps in a new index, never edits it
        mask = None
        if len(allowed) < len(self.kb.records()):
            mask = np.zeros(len(index.ids), bool)
            mask[index.rows_of(allowed)] = True
        return [index.ids[row] for row, _ in index.top(tokenize(query), _CANDIDATES, mask)]

    def _fetch(self, ids: list[str], records: dict[str, DocRecord]) -> dict[str, Passage]:
        if not ids:
            return {}
        got = self.kb.store.get_chunks(ids)
        out = {}
        for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
            rec = records.get(meta["doc_id"])
            if rec is not None and rec.version == meta["version"]:
                out[cid] = Passage(cid, text, meta)
        return out
