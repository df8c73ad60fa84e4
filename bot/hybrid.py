"""Rank fusion of the dense and keyword lists: plain functions over ranked ids."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FusionWeights:
    """Measured on the shared dev sets (see evals/README.md): keyword evidence weighs more for
    Chinese legal text, where e5-small confuses near-identical articles of different laws."""

    dense: float = 1.0
    keyword: float = 1.0
    rrf_k: int = 60
    title: float = 0.02  # the question names the document (《信访工作条例》, 国旗法)
    year: float = 0.01  # the question names the document's year
    current: float = 0.005  # of several versions of one law, the one in force


def rrf(ranked_lists: list[tuple[list[str], float]], k: int) -> dict[str, float]:
    """Weighted reciprocal-rank fusion: sum of weight / (k + rank) over the lists."""
    scores: dict[str, float] = {}
    for ids, weight in ranked_lists:
        for rank, item in enumerate(ids, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def fuse(dense: list[str], keyword: list[str], boosts: dict[str, float],
         weights: FusionWeights) -> list[tuple[str, float]]:
    """Fused ranking, best first, with per-id boosts (title and year matches) added."""
    scores = rrf([(dense, weights.dense), (keyword, weights.keyword)], weights.rrf_k)
    for item, boost in boosts.items():
        if item in scores:
            scores[item] += boost
    return sorted(scores.items(), key=lambda kv: -kv[1])
