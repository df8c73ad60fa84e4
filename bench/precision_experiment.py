"""Do int8 query vectors retrieve as well as the exact ones? (CPPCC_KB_QUERY_PRECISION)

Run: .venv/bin/python -m bench.precision_experiment DATA_DIR [--queries N]

Agreement with the exact vectors (cosine, same dense top-1) says how often rankings move, not
whether they get worse: near-tied neighbours reorder either way. So this measures quality on
queries with a known answer that no dev set was tuned on: the middle of a random sentence of a
random chunk of the knowledge base, whose gold is any passage containing it. For each precision:
MRR@30 of the dense ranking, MRR@8 of the production retrieval (`HybridSearch.search`), and,
against fp32, how many queries ranked their gold higher and lower (a sign test: equal counts mean
no loss), plus the time of one question's embedding.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from bot.retrieval import HybridSearch
from cppcc_kb.settings import Settings, load_settings
from ingest.embedder import load_embedder
from ingest.kb import KnowledgeBase
from ingest.splitter import sentence_spans

PRECISIONS = ("fp32", "int8")


def clause_queries(kb: KnowledgeBase, count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    ids = rng.sample(kb.keywords.ids, min(len(kb.keywords.ids), count * 2))
    queries = []
    for text in kb.store.get_chunks(ids)["documents"]:
        sentences = [text[a:b].strip() for a, b in sentence_spans(text)]
        sentences = [s for s in sentences if 14 <= len(s) <= 60]
        if sentences:
            s = rng.choice(sentences)
            cut = len(s) // 5
            queries.append(s[cut:len(s) - cut])  # the middle of a sentence, not the whole
    return queries[:count]


def reciprocal_rank(texts: list[str], query: str) -> float:
    return next((1 / i for i, text in enumerate(texts, 1) if query in text), 0.0)


def measure(settings: Settings, queries: list[str]) -> dict[str, list[float]]:
    kb = KnowledgeBase(settings, load_embedder(settings))
    search = HybridSearch(kb)
    out = {"dense": [], "fused": [], "ms": [], "vectors": []}
    for query in queries:
        start = time.perf_counter()
        vector = kb.embedder.embed_query(query)
        out["ms"].append((time.perf_counter() - start) * 1000)
        got = kb.store.query(vector, 30, None, content=True)
        out["dense"].append(reciprocal_rank(got["documents"][0], query))
        out["fused"].append(reciprocal_rank([p.text for p in search.search(query, k=8)], query))
        out["vectors"].append(vector)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    base = load_settings(data=args.data)
    queries = clause_queries(KnowledgeBase(base), args.queries)
    runs = {p: measure(base.model_copy(update={"query_precision": p}), queries)
            for p in PRECISIONS}
    exact = runs["fp32"]
    print(f"{len(queries)} clause queries over {args.data}")
    for precision, run in runs.items():
        cosines = [float(a @ b) for a, b in zip(run["vectors"], exact["vectors"])]
        line = [f"{precision:5s}", f"dense MRR@30 {statistics.mean(run['dense']):.4f}",
                f"fused MRR@8 {statistics.mean(run['fused']):.4f}",
                f"embed p50 {statistics.median(run['ms']):.1f} ms",
                f"cosine to fp32 min {min(cosines):.4f} median {statistics.median(cosines):.5f}"]
        for kind in ("dense", "fused"):
            pairs = list(zip(run[kind], exact[kind]))
            line.append(f"{kind} gold higher/lower than fp32: "
                        f"{sum(a > b for a, b in pairs)}/{sum(a < b for a, b in pairs)}")
        print(" | ".join(line))


if __name__ == "__main__":
    main()
