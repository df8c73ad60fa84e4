"""Question sets (JSONL): load them, reporting every broken line by number."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from evals.errors import EvalError


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    type: str = ""
    sources: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    all: bool = False

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class LineProblem:
    line: int
    reason: str


def parse_line(raw: str, number: int) -> Question:
    """One JSONL line to a Question; ValueError says what is wrong with it."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    for key in ("question", "answers"):
        if key not in obj:
            raise ValueError(f"missing field {key!r}")
    if not isinstance(obj["question"], str) or not obj["question"].strip():
        raise ValueError("'question' must be a non-empty string")
    answers, history = obj["answers"], obj.get("history") or []
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError("'answers' must be a list of strings")
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise ValueError("'history' must be a list of strings")
    sources = obj.get("sources") or []
    return Question(id=str(obj.get("id") or f"line-{number}"), question=obj["question"].strip(),
                    answers=answers, type=str(obj.get("type") or ""),
                    sources=[str(s) for s in sources], history=history,
                    all=bool(obj.get("all", False)))


def load_set(path: Path) -> tuple[list[Question], list[LineProblem]]:
    """All good questions, and each broken line with its number and reason."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path}: cannot read the question set ({exc}); give a UTF-8 JSONL file")
    questions, problems, seen = [], [], set()
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            q = parse_line(raw, number)
        except ValueError as exc:
            problems.append(LineProblem(number, str(exc)))
            continue
        if q.id in seen:
            problems.append(LineProblem(number, f"duplicate id {q.id!r}"))
            continue
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise EvalError(f"{path}: no usable questions ({len(problems)} broken lines)")
    return questions, problems
