"""Chunking rules of ingest/splitter.py on tiny literals: where text may and may not be cut."""

from __future__ import annotations

import pytest

from ingest.splitter import (HEADER_END, Chunk, clause_cuts, sentence_spans, split_document,
                             split_span)


def pieces(text: str, max_chars: int) -> list[str]:
    return [text[s:e] for s, e in split_span(text, 0, len(text), max_chars)]


def assert_exact_spans(text: str, chunks: list[Chunk]) -> None:
    """Every chunk is the exact span of the document it claims, in order, numbered 0..n-1."""
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text == text[c.start:c.end]
        assert c.text == c.text.strip()
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))


# --- never inside a number, a date or a quoted name ---------------------------------------------

NUMBER = "3.92亿元"
DATE = "2025年7月11日"
QUOTED = "“有事多商量·齐商量”"


@pytest.mark.parametrize("unit", [NUMBER, DATE, "6,000万元", "三分之二"])
def test_a_forced_cut_never_falls_inside_a_number_or_date(unit):
    # No punctuation at all: only the "safe boundary" rule stands between the cut and the number.
    text = "财政安排专项资金共计" + unit + "用于支持民生工程建设和社区服务设施改造"
    # A window twice the unit's length always has a safe boundary past its first third.
    for max_chars in range(2 * len(unit), len(text)):
        parts = pieces(text, max_chars)
        assert "".join(parts) == text
        assert any(unit in p for p in parts), (max_chars, parts)


def test_a_long_passage_is_cut_at_sentence_ends_not_inside_numbers_dates_or_quotes():
    sentence = f"会议于{DATE}召开，审议通过{QUOTED}协商成果，安排资金{NUMBER}。"
    text = sentence * 6
    for max_chars in (len(sentence), len(sentence) + 9, 2 * len(sentence) + 3, 100):
        parts = pieces(text, max_chars)
        assert "".join(parts) == text
        assert all(len(p) <= max_chars for p in parts)
        assert all(p.endswith("。") for p in parts), parts  # cut right after a sentence end
        for unit in (DATE, QUOTED, NUMBER):
            assert sum(p.count(unit) for p in parts) == 6


@pytest.mark.parametrize("end", ["。", "！", "？", "；", "…"])
def test_cuts_at_each_chinese_sentence_end(end):
    first = "政协委员围绕乡村振兴深入调研" + end
    second = "提出了很多有价值的意见建议" + end
    parts = pieces(first + second, len(first) + 5)
    assert parts == [first, second]


def test_no_cut_inside_a_quotation_when_a_boundary_outside_it_fits():
    quotation = "“有事好商量，众人的事情由众人商量。找到全社会意愿和要求的最大公约数。”"
    text = "大家都说：" + quotation + "这是共识。后面还有一句话。"
    for max_chars in range(len(quotation) + 6, len(text)):
        parts = pieces(text, max_chars)
        assert "".join(parts) == text
        assert any(quotation in p for p in parts), (max_chars, parts)


def test_clauses_are_cut_at_marks_outside_quotes_and_figures():
    text = "总面积46,600平方米，开放时间8:30至17:30，他说：“好，很好”，然后离开"
    cuts = clause_cuts(text)
    assert [text[c - 1] for c in cuts] == ["，", "，", "：", "，"]
    assert text[cuts[2]:cuts[3]] == "“好，很好”，"
    unclosed = "他说：“好，很好，然后离开"  # a quote that never closes does not hide every cut
    assert len(clause_cuts(unclosed)) == 3


def test_sentence_spans_end_at_sentence_marks_outside_quotes():
    text = f"我们开展{QUOTED}活动。会议于{DATE}召开！资金{NUMBER}？是的；完毕…"
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == [f"我们开展{QUOTED}活动。", f"会议于{DATE}召开！", f"资金{NUMBER}？", "是的；",
                     "完毕…"]
    quoted = "他说：“先调研。再协商。”然后散会。"
    assert [quoted[s:e] for s, e in sentence_spans(quoted)] == [quoted]  # 。 inside “” is not an end


# --- document structure ------------------------------------------------------------------------

def test_headings_are_not_chunks_but_label_the_chunks_under_them():
    text = ("# 某市政协工作报告\n\n## 一、过去一年的工作\n\n"
            "过去一年，我们围绕中心大局，积极建言献策，共提出提案三百二十件，立案二百九十件。\n\n"
            "### （一）协商议政\n\n召开专题协商会五次，形成协商成果报告十二份。\n\n"
            "## 二、今年的任务\n\n今年要继续加强自身建设。\n")
    chunks = split_document(text)
    assert_exact_spans(text, chunks)
    assert not any(c.text.startswith("#") for c in chunks)
    by_text = {c.text[:6]: c.headings for c in chunks}
    assert by_text["过去一年，我"] == ["一、过去一年的工作"]  # the title is metadata, not a section
    assert by_text["召开专题协商"] == ["一、过去一年的工作", "（一）协商议政"]
    assert by_text["今年要继续加"] == ["二、今年的任务"]
    assert all(c.kind == "text" and c.article is None for c in chunks)


def test_each_law_article_is_its_own_chunk_with_its_number():
    text = ("第一章 总则\n\n第一条 为了规范政协工作，制定本条例。\n\n第二条 本条例适用于各级政协。\n"
            "各级政协应当遵守本条例。\n\n第二章 附则\n\n第三条 本条例自2025年7月11日起施行。\n")
    chunks = split_document(text)
    assert_exact_spans(text, chunks)
    assert [(c.article, c.kind, c.headings) for c in chunks] == [
        ("第一条", "article", ["第一章 总则"]),
        ("第二条", "article", ["第一章 总则"]),
        ("第三条", "article", ["第二章 附则"]),
    ]
    assert chunks[1].text == "第二条 本条例适用于各级政协。\n各级政协应当遵守本条例。"  # whole article


def test_a_long_article_is_split_at_sentence_ends_and_keeps_its_number():
    sentence = "有关部门应当在收到提案后三个月内办理完毕，并将办理结果书面答复提案者。"
    text = "第十条 " + sentence * 12 + "\n\n第十一条 本条很短。\n"
    chunks = split_document(text, max_chars=120)
    assert_exact_spans(text, chunks)
    tenth = [c for c in chunks if c.article == "第十条"]
    assert len(tenth) > 1 and all(len(c.text) <= 120 for c in tenth)
    assert all(c.text.endswith("。") and c.kind == "article" for c in tenth)
    assert "".join(c.text for c in tenth).replace("第十条 ", "") == sentence * 12
    assert chunks[-1].article == "第十一条" and chunks[-1].text == "第十一条 本条很短。"


def test_the_header_before_info_end_is_a_chunk_of_kind_header():
    text = (f"标题：某某条例\n发布机关：国务院\n施行日期：{DATE}\n{HEADER_END}\n\n"
            "第一条 为了规范工作，制定本条例。\n")
    chunks = split_document(text)
    assert_exact_spans(text, chunks)
    assert chunks[0].kind == "header"
    assert chunks[0].text == f"标题：某某条例\n发布机关：国务院\n施行日期：{DATE}"
    assert HEADER_END not in "".join(c.text for c in chunks)
    assert chunks[1].article == "第一条"


def test_small_paragraphs_of_a_section_share_a_chunk_and_sections_do_not():
    text = "## 甲\n\n短段一。\n\n短段二。\n\n## 乙\n\n短段三。\n"
    chunks = split_document(text)
    assert_exact_spans(text, chunks)
    assert [(c.text, c.headings) for c in chunks] == [("短段一。\n\n短段二。", ["甲"]),
                                                       ("短段三。", ["乙"])]


def test_every_chunk_is_an_exact_span_of_a_mixed_document():
    body = "".join(f"第{n}条 " + "委员履职应当遵守章程，" * (i * 5) + "依法依规。\n\n"
                   for i, n in enumerate("一二三四五六", 1))
    text = f"某某规定\n{HEADER_END}\n\n# 某某规定\n\n## 第一章 总则\n\n{body}## 说明\n\n附：说明文字。\n"
    chunks = split_document(text, max_chars=100)
    assert_exact_spans(text, chunks)
    assert all(len(c.text) <= 100 for c in chunks)
    assert {c.kind for c in chunks} == {"header", "article", "text"}


def test_empty_and_blank_text_give_no_chunks():
    assert split_document("") == []
    assert split_document("\n\n   \n") == []
