"""The checks every face makes before answering: codes with their figures, in two languages."""

from __future__ import annotations

from bot.question_checks import QuestionProblem, chinese, english, question_problem


def test_problems_are_codes_with_figures():
    def code(q, history=(), chars=10, turns=2):
        p = question_problem(q, list(history), chars, turns)
        return p and p.code

    assert code("") is QuestionProblem.EMPTY
    assert code("问" * 11) is QuestionProblem.TOO_LONG
    assert code("问", ["a", "b", "c"]) is QuestionProblem.TOO_MANY_TURNS
    assert code("问", ["长" * 11]) is QuestionProblem.TURN_TOO_LONG
    assert code("\ud800淄博") is QuestionProblem.NOT_TEXT
    assert code("淄博有几家？", ["上一问"]) is None


def test_each_problem_reads_in_english_for_the_api_and_chinese_for_the_chat():
    p = question_problem("问" * 11, [], 10, 2)
    assert "11 characters, over the limit of 10" in english(p)
    assert chinese(p) == "问题有 11 个字，超过 10 字的上限，请缩短后再问。"
    bad = question_problem("问", ["\ud800"], 10, 2)
    assert "history entry 1" in english(bad) and "U+D800" in chinese(bad)
    for code in QuestionProblem:
        sample = question_problem({"empty": "", "too_long": "问" * 11, "not_text": "\ud800"}.get(
            code.value, "问"), {"too_many_turns": ["a"] * 3, "turn_too_long": ["长" * 11]}.get(
            code.value, []), 10, 2)
        assert sample.code is code and english(sample) and chinese(sample)
