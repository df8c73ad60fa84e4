"""Rendering answers as chat HTML: pure functions over tiny literal answers."""

from __future__ import annotations

import re

from bot.answer import CLOSEST_SHOWN, NOT_FOUND, Answer, Citation, closest_passages
from ui import render

PASSAGE = "淄博市政协全年636件提案承载民意，167场次协商激荡智慧。"
QUOTE = "全年636件提案承载民意"


def citation(**overrides) -> Citation:
    start = PASSAGE.index(QUOTE)
    fields = {"n": 1, "doc_id": "doc-1", "title": "淄博政协这一年", "source": "zibo.txt",
              "quote": QUOTE, "start": 100 + start, "end": 100 + start + len(QUOTE), "score": 0.9,
              "passage": PASSAGE, "passage_start": 100, "heading": "一、提案工作 > 办理",
              "date": "2026-01-13"}
    return Citation(**{**fields, **overrides})


def answered(**overrides) -> Answer:
    fields = {"answer": f"据《淄博政协这一年》：{QUOTE}[1]", "abstained": False, "verified": True,
              "citations": [citation()]}
    return Answer(**{**fields, **overrides})


def test_answer_keeps_inline_markers_and_says_it_is_verified():
    html = render.answer_html(answered())
    assert 'class="kb-answer kb-verified"' in html
    assert '<span class="kb-ref" title="来源 [1]">[1]</span>' in html
    assert "636" in html and "摘录自资料原文" in html
    assert "kb-warning" not in html and "kb-abstained" not in html


def test_markers_without_a_citation_stay_plain_text():
    html = render.answer_html(answered(answer="甲[1]乙[7]"))
    assert html.count('class="kb-ref"') == 1 and "乙[7]" in html


def test_chat_fragments_are_one_html_block_without_blank_lines():
    # A blank line would end the Markdown HTML block and let the rest be read as Markdown.
    for html in (render.answer_html(answered(answer="第一行\n\n第二行[1]")),
                 render.user_html("问题\n\n第二段"), render.streaming_html("草稿\n\n[1]")):
        assert "\n" not in html and html.startswith("<div")


def test_sources_panel_lists_title_date_section_and_marks_the_quote_in_its_passage():
    html = render.sources_html(answered(), "全年提案多少？")
    assert "[1]" in html and "《淄博政协这一年》" in html
    assert "2026-01-13" in html and "一、提案工作 › 办理" in html
    passage = re.search(r'<div class="kb-passage">(.*?)</div>', html).group(1)
    assert passage == ('淄博市政协<mark class="kb-quote">全年636件提案承载民意</mark>'
                       "，167场次协商激荡智慧。")
    assert "<details" in html and " open>" in html  # click to show; the first is open
    assert "问：全年提案多少？" in html and "zibo.txt" in html


def test_only_the_first_source_is_open_and_each_has_an_anchor():
    second = citation(n=2, title="《国旗法》", date="")
    html = render.sources_html(answered(answer="甲[1]乙[2]", citations=[citation(), second]))
    assert html.count("<details") == 2 and html.count(" open>") == 1
    assert 'id="kb-src-2"' in html and "《《" not in html  # a title in 《》 is not doubled


def test_a_quote_found_elsewhere_in_the_passage_is_still_marked():
    moved = citation(start=0, end=0, passage_start=0)  # offsets that do not point at it
    assert f'<mark class="kb-quote">{QUOTE}</mark>' in render.passage_html(moved)
    missing = citation(quote="不在段落中的句子")
    html = render.passage_html(missing)
    assert '<mark class="kb-quote">不在段落中的句子</mark>' in html and PASSAGE in html


def test_snippet_shows_the_quote_with_a_little_context():
    long_passage = "前" * 100 + QUOTE + "后" * 100
    c = citation(passage=long_passage, start=100, end=100 + len(QUOTE), passage_start=0)
    snippet = render.snippet_html(c, context=10)
    assert snippet == (f'<div class="kb-snippet">…{"前" * 10}<mark class="kb-quote">{QUOTE}'
                       f'</mark>{"后" * 10}…</div>')


def test_abstention_looks_different_and_says_why():
    answer = Answer(NOT_FOUND, abstained=True, verified=True, note="资料中没有提到“秘书长”")
    html = render.answer_html(answer)
    assert 'class="kb-answer kb-abstained"' in html
    assert NOT_FOUND in html and "原因：资料中没有提到“秘书长”" in html
    assert "kb-verified" not in html and "kb-ref" not in html
    panel = render.sources_html(answer, "秘书长是谁？")
    assert "知识库中没有能回答这个问题的资料" in panel and "<mark" not in panel


def test_a_refusal_for_doubt_lists_the_closest_passages_as_unconfirmed():
    rows = [{"chunk_id": f"c{i}", "doc_id": "doc-1", "title": "中华人民共和国监察法",
             "source": "监察法.md", "text": f"第四十八条 留置时间不得超过三个月。<{i}>" + "后" * 200,
             "score": 0.5} for i in range(5)]
    doubt = Answer(NOT_FOUND, abstained=True, verified=True, reason="low_confidence",
                   note="检索到的资料不足以可靠地回答这个问题", retrieved=rows)
    doubt.closest = closest_passages(doubt)
    html = render.answer_html(doubt)
    assert "右侧列出最接近的原文" in html and "知识库未收录" not in html
    panel = render.sources_html(doubt, "留置最长多久？")
    assert "最接近的原文" in panel and "它们不是答案" in panel
    assert panel.count('class="kb-src kb-closest"') == CLOSEST_SHOWN == 3
    assert "&lt;0&gt;" in panel and "<0>" not in panel  # document text is escaped
    assert "<mark" not in panel and "kb-ref" not in panel  # nothing is marked as a quote
    assert "来源：监察法.md" in panel
    # a contradiction, or no passage read, still says the knowledge base has no answer
    for other in (Answer(NOT_FOUND, abstained=True, verified=True, reason="year_missing",
                         retrieved=rows),
                  Answer(NOT_FOUND, abstained=True, verified=True, reason="low_confidence")):
        other.closest = closest_passages(other)
        assert "知识库未收录" in render.answer_html(other)
        assert "知识库中没有能回答这个问题的资料" in render.sources_html(other, "问")


def test_unverified_figures_get_a_warning_listing_them():
    answer = answered(answer="全年提案700件[1]", verified=False, unverified_figures=["700件"])
    html = render.answer_html(answer)
    assert "kb-unverified-answer" in html and "kb-verified" not in html
    assert 'class="kb-warning"' in html and '<span class="kb-unverified">700件</span>' in html
    assert "部分内容未核实" in html


def test_a_rejected_llm_answer_shows_its_note_as_a_warning():
    note = "大模型的回答含有无法在引用资料中核实的内容（700件），未予采用，以下为资料原文摘录。"
    answer = answered(mode="llm-rejected", unverified_figures=["700件"], note=note)
    html = render.answer_html(answer)
    assert "kb-rejected" in html and "大模型回答未采用" in html and note in html
    assert html.count(note) == 1 and "摘录自资料原文" in html


def test_llm_fallback_note_is_a_small_note():
    note = "大模型暂不可用，已改用摘录回答：connection refused"
    html = render.answer_html(answered(note=note))
    assert f'<div class="kb-note kb-small">{note}</div>' in html and "kb-warning" not in html
    assert "大模型撰写" in render.answer_html(answered(mode="llm"))


def test_document_and_user_text_is_escaped_never_markup():
    evil = '<script>alert(1)</script><b>粗体</b><img src=x onerror="alert(2)">'
    c = citation(passage=f"前文{evil}后文", quote=evil, start=102, end=102 + len(evil),
                 title="<i>标题</i>", heading="<u>章</u>", source="<s>.txt", date="<x>")
    answer = answered(answer=f"{evil}[1]", citations=[c], unverified_figures=[evil],
                      verified=False, note=evil)
    outputs = [render.answer_html(answer), render.sources_html(answer, evil),
               render.user_html(evil), render.streaming_html(evil), render.error_html(evil)]
    for html in outputs:
        for tag in ("<script", "<b>", "<img", "<i>", "<u>", "<s>", "<x>"):
            assert tag not in html, (tag, html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;粗体&lt;/b&gt;" in outputs[1]
    assert '<mark class="kb-quote">&lt;script&gt;' in outputs[1]  # still found and marked
    abstained = Answer(NOT_FOUND, abstained=True, verified=True, note=evil)
    assert "<script" not in render.answer_html(abstained)


def test_streaming_draft_and_empty_panel():
    html = render.streaming_html("全年636件[1]")
    assert "kb-streaming" in html and 'class="kb-ref"' in html and "核对引用" in html
    assert render.sources_html(None) == render.EMPTY_SOURCES
    assert "kb-sources-empty" in render.EMPTY_SOURCES
