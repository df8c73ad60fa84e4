"""The plain-text answer that OpenAI-compatible and MCP clients read (bot/plain.py)."""

from __future__ import annotations

from bot.answer import NOT_FOUND, Answer, Citation, closest_passages
from bot.plain import CLOSEST_HEAD, CLOSEST_OPENING, answer_text

ROWS = [{"chunk_id": f"c{i}", "doc_id": "d", "title": "监察法", "source": "监察法.md",
         "text": f"第{i}条\n留置时间不得超过三个月。" + "后" * 100, "score": 0.5} for i in range(5)]


def test_a_refusal_for_doubt_ends_with_the_closest_passages_numbered_apart_from_citations():
    doubt = Answer(NOT_FOUND, abstained=True, verified=True, reason="low_confidence",
                   note="检索到的资料不足以可靠地回答这个问题", retrieved=ROWS)
    doubt.closest = closest_passages(doubt)
    text = answer_text(doubt)
    head, listed = text.split(CLOSEST_HEAD)
    assert head.startswith(NOT_FOUND) and "来源：" not in text and "[1]" not in text
    lines = listed.strip().splitlines()
    assert [line[0] for line in lines] == ["①", "②", "③"]
    assert lines[0] == "① 《监察法》：" + ("第0条 留置时间不得超过三个月。" + "后" * 100)[
        :CLOSEST_OPENING] + "…"  # one line each: the passage's line breaks are spaces


def test_an_answer_or_a_contradiction_lists_no_closest_passages():
    cited = Citation(1, "d", "监察法", "监察法.md", "留置时间不得超过三个月。", 0, 12, 0.9)
    answered = Answer("留置时间不得超过三个月。[1]", abstained=False, verified=True,
                      citations=[cited], retrieved=ROWS)
    contradicted = Answer(NOT_FOUND, abstained=True, verified=True, reason="year_missing",
                          retrieved=ROWS)
    for answer in (answered, contradicted):
        answer.closest = closest_passages(answer)
        assert answer.closest == [] and CLOSEST_HEAD not in answer_text(answer)
