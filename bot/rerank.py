"""Second-stage ranking of retrieved passages.

By default the passages are re-ordered by how well their best sentence answers the question
(terms, the kind of figure asked for, the body and focus named) — the answerer's own scoring,
so the passage shown first is the one the answer comes from. A cross-encoder configured in
settings (a local folder or a name in the local cache) replaces that when present.
"""

from __future__ import annotations

import os
import threading

from bot.extractive import Source, candidates
from bot.question import QuestionInfo
from bot.retrieval import Passage

_BLEND = 0.15  # weight of the fused retrieval rank beside the sentence score
_cross_encoders: dict[str, object] = {}
_lock = threading.Lock()


def by_best_sentence(passages: list[Passage], q: QuestionInfo, weights: dict[str, float]
                     ) -> list[Passage]:
    """Passages ordered by their best sentence's score, blended with their retrieval rank."""
    if len(passages) < 2:
        return passages
    sources = [Source(i, p.text, _context(p), p.doc_id, p) for i, p in enumerate(passages)]
    best: dict[int, float] = {}
    for pick in candidates(sources, q, weights):
        best.setdefault(pick.source.index, pick.score)
    top = max(best.values(), default=1.0) or 1.0
    def key(i: int) -> float:
        return (1 - _BLEND) * best.get(i, 0.0) / top + _BLEND / (1 + i)
    return [passages[i] for i in sorted(range(len(passages)), key=key, reverse=True)]


def _context(p: Passage) -> str:
    meta = p.meta
    return " ".join(x for x in (meta.get("title", ""), meta.get("headings", ""),
                                meta.get("article", "")) if x)


def cross_encoder(name: str):
    """Load a configured CrossEncoder once per process, offline only."""
    with _lock:
        if name not in _cross_encoders:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import CrossEncoder

            from bot.errors import AnswerError

            try:
                _cross_encoders[name] = CrossEncoder(name, device="cpu", local_files_only=True)
            except Exception as exc:  # OSError, ValueError, hub errors: all mean "not here"
                raise AnswerError(
                    f"reranker {name!r} could not be loaded offline ({exc}); set "
                    "CPPCC_KB_RERANKER to a local CrossEncoder folder or a cached model name, "
                    "or unset it") from None
        return _cross_encoders[name]


def by_cross_encoder(passages: list[Passage], question: str, name: str) -> list[Passage]:
    """Passages ordered by a cross-encoder's relevance score for (question, passage)."""
    if len(passages) < 2:
        return passages
    model = cross_encoder(name)
    scores = model.predict([(question, f"{_context(p)}\n{p.text}") for p in passages])
    order = sorted(range(len(passages)), key=lambda i: -float(scores[i]))
    return [passages[i] for i in order]
