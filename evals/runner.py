"""Run a question set through the bot's one chain and grade every answer."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.errors import AnswerError
from evals.metrics import grade, summarize
from evals.sets import Question


def run_set(bot, questions: list[Question], mode: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> dict:
    """{"metrics": {...}, "results": [per-question rows]} for a list of questions."""
    rows = []
    for i, q in enumerate(questions, 1):
        started = time.perf_counter()
        try:
            answer = bot.ask(q.question, history=q.history, mode=mode).to_dict(with_retrieved=True)
        except AnswerError as exc:
            answer = {"answer": f"错误：{exc}", "abstained": True, "verified": True,
                      "citations": [], "retrieved": [], "note": str(exc)}
        answer["ms"] = round((time.perf_counter() - started) * 1000, 2)
        verdict = grade(q, answer)
        rows.append({"question": q.question, "gold": q.answers, "all": q.all,
                     "history": q.history, **answer, **verdict})
        if progress:
            progress(i, len(questions))
    return {"metrics": summarize(rows), "results": rows}
