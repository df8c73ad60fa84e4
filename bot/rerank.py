"""An optional cross-encoder for the second-stage ranking of retrieved passages.

By default the chain orders passages by the answerer's own best sentence in each (bot/chain.py),
so the passage shown first is the one the answer comes from. A cross-encoder configured in
settings (a local folder or a name in the local cache) replaces that when present.
"""

from __future__ import annotations

import os
import threading

from bot.answering.evidence import context_of
from bot.retrieval import Passage

_cross_encoders: dict[str, object] = {}
_lock = threading.Lock()


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
    scores = model.predict([(question, f"{context_of(p)}\n{p.text}") for p in passages])
    order = sorted(range(len(passages)), key=lambda i: -float(scores[i]))
    return [passages[i] for i in order]
