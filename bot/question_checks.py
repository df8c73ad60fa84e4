"""Which questions are refused before any work — the one set of checks for every face (chat,
API, /v1, MCP, CLI): empty, too long, too many earlier turns, an earlier turn too long, or text
that is not valid Unicode (a lone surrogate). Problems are codes with their figures; each face
renders them (English for the API's 422, Chinese in the chat)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class QuestionProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    TOO_MANY_TURNS = "too_many_turns"
    TURN_TOO_LONG = "turn_too_long"
    NOT_TEXT = "not_text"


@dataclass(frozen=True)
class Problem:
    code: QuestionProblem
    where: int = 0  # 0: the question; n: the n-th history entry
    size: int = 0  # characters, or turns
    limit: int = 0
    char: str = ""  # the offending character, for NOT_TEXT


def question_problem(question: str, history: list[str], max_chars: int,
                     max_turns: int) -> Problem | None:
    """What makes this question unfit to answer, or None. `question` is already normalised."""
    if not question:
        return Problem(QuestionProblem.EMPTY)
    if len(question) > max_chars:
        return Problem(QuestionProblem.TOO_LONG, 0, len(question), max_chars)
    if len(history) > max_turns:
        return Problem(QuestionProblem.TOO_MANY_TURNS, 0, len(history), max_turns)
    for n, text in enumerate([question, *history]):
        if n and len(text) > max_chars:
            return Problem(QuestionProblem.TURN_TOO_LONG, n, len(text), max_chars)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return Problem(QuestionProblem.NOT_TEXT, n, char=f"U+{ord(text[exc.start]):04X}")
    return None


def english(p: Problem) -> str:
    where = "the question" if p.where == 0 else f"history entry {p.where}"
    return {
        QuestionProblem.EMPTY: "the question is empty; type a question, e.g. "
                               "“2025年淄博市政协全年提案数量是多少？”",
        QuestionProblem.TOO_LONG: f"the question has {p.size} characters, over the limit of "
                                  f"{p.limit}; shorten it or raise CPPCC_KB_MAX_QUESTION_CHARS",
        QuestionProblem.TOO_MANY_TURNS: f"history holds {p.size} earlier questions, over the "
                                        f"limit of {p.limit}; send only the last {p.limit} "
                                        "(CPPCC_KB_MAX_HISTORY_TURNS)",
        QuestionProblem.TURN_TOO_LONG: f"{where} has {p.size} characters, over the limit of "
                                       f"{p.limit} for a question; send the earlier questions "
                                       "as they were asked",
        QuestionProblem.NOT_TEXT: f"{where} holds a character that is not valid text ({p.char}, "
                                  "half of a UTF-16 pair); remove it and send the text again",
    }[p.code]


def chinese(p: Problem) -> str:
    return {
        QuestionProblem.EMPTY: "请输入问题。",
        QuestionProblem.TOO_LONG: f"问题有 {p.size} 个字，超过 {p.limit} 字的上限，请缩短后再问。",
        QuestionProblem.TOO_MANY_TURNS: f"对话已有 {p.size} 轮，超过 {p.limit} 轮的上限，请点“新对话”。",
        QuestionProblem.TURN_TOO_LONG: f"之前的第 {p.where} 个问题超过 {p.limit} 字的上限，请点“新对话”。",
        QuestionProblem.NOT_TEXT: f"问题中有无法识别的字符（{p.char}），请删除后再问。",
    }[p.code]
