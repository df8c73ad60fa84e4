"""Run a question set through the bot's one chain and grade every answer."""

from __future__ import annotations

import logging
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
            answer = _failed(f"错误：{exc}")
        except Exception as exc:  # a bug must not end the run; it shows as this question's failure
            logging.getLogger(__name__).exception("question %s crashed", q.id)
            answer = _failed(f"程序错误：{type(exc).__name__}: {exc}")
        answer["ms"] = round((time.perf_counter() - started) * 1000, 2)
        verdict = grade(q, answer)
        rows.append({"question": q.question, "gold": q.answers, "all": q.all,
                     "history": q.history, **answer, **verdict})
        if progress:
            progress(i, len(questions))
    return {"metrics": summarize(rows), "results": rows}


def _failed(note: str) -> dict:
    return {"answer": note, "abstained": True, "verified": True, "citations": [],
            "retrieved": [], "note": note, "error": True}
