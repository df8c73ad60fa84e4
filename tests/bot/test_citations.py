"""Citations and the number guard: every figure and name an answer shows as fact must be in what
it cites. Extractive answers are built from quotes (so they hold by construction); an LLM answer
is checked, and replaced by the extractive answer — with a note saying why — when it does not."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.answer import NOT_FOUND, Answer, Citation
from evals.metrics import shown_untraced
from bot.citations import (build_citations, check, combine, llm_answer, untraced_names,
                           verify_llm_answer)
from bot.answering.evidence import FEATURES, Candidate, Source
from bot.retrieval import Passage

ZIBO_TEXT = "全年636件提案承载民意，167场次协商激荡智慧。工信部6000万元专项资金支持我市企业研发。"
ZIBO = Passage("zibo-0", ZIBO_TEXT, {"doc_id": "zibo", "title": "淄博政协这一年", "source": "zibo.txt",
                                      "start": 100, "headings": ""}, score=0.5)
FLAG_TEXT = "第十五条 国旗应当每日升挂。举行升旗仪式时，应当奏唱国歌。"
FLAG = Passage("flag-7", FLAG_TEXT, {"doc_id": "flag", "title": "中华人民共和国国旗法",
                                      "source": "国旗法.md", "start": 2000, "headings": "",
                                      "article": "第十五条"}, score=0.4)
GROUND = SimpleNamespace(records={})  # no records: citation dates come from passage metadata


def pick_of(p: Passage, quote: str) -> Candidate:
    start = p.text.index(quote)
    return Candidate(Source(0, p.text, p.meta["title"], p.doc_id, p), start, start + len(quote),
                     None, tuple(0.0 for _ in FEATURES))


def cite(n: int, passage: str, title: str = "淄博政协这一年", quote: str = "") -> Citation:
    return Citation(n=n, doc_id="d", title=title, source="s", quote=quote or passage, start=0,
                    end=len(quote or passage), score=0.5, passage=passage)


def extractive_answer() -> Answer:
    return build_citations([pick_of(ZIBO, "全年636件提案承载民意")], GROUND)


# ---- check / untraced_names -----------------------------------------------------------------
def test_untraced_names_are_titles_and_quoted_names_no_source_holds():
    sources = ["中华人民共和国国旗法 第十五条", "持续打造“同心·协力”党建品牌"]
    assert untraced_names("据《中华人民共和国国旗法》和“同心·协力”品牌", sources) == []
    assert untraced_names("据《中华人民共和国国歌法》规定", sources) == ["中华人民共和国国歌法"]
    assert untraced_names("没有书名号的回答", sources) == []


def test_check_reports_untraced_figures_then_names():
    citations = [cite(1, ZIBO_TEXT)]
    assert check("全年636件提案[1]", citations) == []
    assert check("全年700件提案，见《国歌法》[1]", citations) == ["700", "国歌法"]


def test_check_reads_the_citations_title_as_well_as_its_passage():
    assert check("据《淄博政协这一年》，全年636件提案[1]", [cite(1, ZIBO_TEXT)]) == []


@pytest.mark.parametrize("answer, source", [
    ("专项资金6,000万元[1]", "工信部6000万元专项资金"),
    ("应当在十五日内答复[1]", "应当在15日内答复"),
    ("须经三分之二以上通过[1]", "须经2/3以上通过"),
    ("占百分之二十[1]", "占20%"),
    ("两名委员[1]", "2名委员"),
])
def test_the_guard_traces_a_figure_written_another_way(answer, source):
    assert check(answer, [cite(1, source)]) == []


def test_the_guard_catches_a_figure_the_source_does_not_hold():
    assert check("全年700件提案[1]", [cite(1, "全年636件提案")]) == ["700"]


def test_citation_markers_are_not_figures_for_the_guard():
    assert check("见[1][2][3][12]", [cite(1, "没有数字")]) == []


# ---- build_citations: the extractive answer -------------------------------------------------
def test_an_extractive_answer_quotes_its_passage_with_a_numbered_marker():
    answer = extractive_answer()
    assert not answer.abstained and answer.verified and answer.unverified_figures == []
    assert "全年636件提案承载民意[1]" in answer.answer
    assert "淄博政协这一年" in answer.answer  # where the quote comes from
    [c] = answer.citations
    assert (c.n, c.doc_id, c.chunk_id, c.quote) == (1, "zibo", "zibo-0", "全年636件提案承载民意")
    assert c.passage == ZIBO_TEXT and c.passage_start == 100
    # offsets are in the document: the passage's start plus the quote's place in it
    assert (c.start, c.end) == (100, 100 + len("全年636件提案承载民意"))
    assert c.passage[c.start - c.passage_start:c.end - c.passage_start] == c.quote


def test_a_law_quote_is_led_by_its_title_and_article():
    answer = build_citations([pick_of(FLAG, "举行升旗仪式时，应当奏唱国歌。")], GROUND)
    assert "《中华人民共和国国旗法》" in answer.answer and "第十五条" in answer.answer
    assert answer.answer.endswith("举行升旗仪式时，应当奏唱国歌。[1]")
    assert answer.verified  # 第十五条 is in the cited passage


def test_several_picks_are_numbered_in_order():
    answer = build_citations([pick_of(ZIBO, "全年636件提案承载民意"),
                              pick_of(FLAG, "国旗应当每日升挂。")], GROUND)
    assert [c.n for c in answer.citations] == [1, 2]
    assert [c.doc_id for c in answer.citations] == ["zibo", "flag"]
    lines = answer.answer.split("\n")
    assert lines[0].endswith("[1]") and lines[1].endswith("[2]")


def test_sentences_of_one_passage_said_one_after_the_other_are_one_quote():
    answer = build_citations([pick_of(FLAG, "国旗应当每日升挂。"),
                              pick_of(FLAG, "举行升旗仪式时，应当奏唱国歌。")], GROUND)
    [c] = answer.citations
    assert c.quote == "国旗应当每日升挂。举行升旗仪式时，应当奏唱国歌。"
    assert c.passage[c.start - c.passage_start:c.end - c.passage_start] == c.quote
    assert answer.answer.count("《中华人民共和国国旗法》") == 1
    assert answer.answer.endswith("国旗应当每日升挂。举行升旗仪式时，应当奏唱国歌。[1]")


def test_a_clause_trimmed_of_its_comma_still_reads_on_into_the_next_as_one_quote():
    answer = build_citations([pick_of(ZIBO, "全年636件提案承载民意"),
                              pick_of(ZIBO, "167场次协商激荡智慧。")], GROUND)
    [c] = answer.citations
    assert c.quote == "全年636件提案承载民意，167场次协商激荡智慧。"
    assert answer.answer.endswith("全年636件提案承载民意，167场次协商激荡智慧。[1]")


def test_sentences_of_one_passage_with_words_between_them_are_two_quotes_on_one_line():
    answer = build_citations([pick_of(ZIBO, "全年636件提案承载民意"),
                              pick_of(ZIBO, "工信部6000万元专项资金支持我市企业研发。")], GROUND)
    assert [c.quote for c in answer.citations] == ["全年636件提案承载民意",
                                                   "工信部6000万元专项资金支持我市企业研发。"]
    assert "\n" not in answer.answer and answer.answer.count("淄博政协这一年") == 1
    assert "全年636件提案承载民意[1]……工信部6000万元专项资金支持我市企业研发。[2]" in answer.answer
    assert answer.verified


def test_a_list_item_after_its_lead_reads_on_from_it_on_one_line():
    text = "第三条 下列团体不属于登记的范围：（一）参加政协的人民团体；（二）机关内部团体。"
    law = Passage("law-3", text, {"doc_id": "law", "title": "社会团体登记管理条例", "source": "s.md",
                                   "start": 0, "headings": "", "article": "第三条"}, score=0.5)
    src = Source(0, text, "社会团体登记管理条例", "law", law)
    lead_end = text.index("：") + 1
    item_end = text.index("；") + 1
    lead = Candidate(src, 0, lead_end, None, tuple(0.0 for _ in FEATURES))
    item = Candidate(src, lead_end, item_end, (0, lead_end), tuple(0.0 for _ in FEATURES))
    answer = build_citations([lead, item], GROUND)
    assert "\n" not in answer.answer and answer.answer.count("下列团体不属于登记的范围") == 1
    assert [c.quote for c in answer.citations] == [text[:item_end]]


def test_the_documents_date_comes_from_its_record():
    ground = SimpleNamespace(records={"zibo": SimpleNamespace(date="2026-01-13")})
    answer = build_citations([pick_of(ZIBO, "全年636件提案承载民意")], ground)
    assert answer.citations[0].date == "2026-01-13"
    assert answer.verified  # a date the lead shows is vouched for by the citation's date


# ---- llm_answer ------------------------------------------------------------------------------
def test_llm_markers_become_citations_quoting_the_best_matching_sentence():
    answer = llm_answer("淄博市政协全年收到636件提案[1]。国旗应当每日升挂[2]。", [ZIBO, FLAG], GROUND)
    assert answer.mode == "llm" and not answer.abstained
    assert [(c.n, c.doc_id) for c in answer.citations] == [(1, "zibo"), (2, "flag")]
    assert answer.citations[0].quote == "全年636件提案承载民意，167场次协商激荡智慧。"
    assert answer.citations[1].quote == "第十五条 国旗应当每日升挂。"


def test_llm_markers_out_of_range_cite_nothing():
    assert llm_answer("全年636件提案[3]", [ZIBO], GROUND).citations == []
    assert llm_answer("全年636件提案[0]", [ZIBO], GROUND).citations == []


def test_a_repeated_marker_is_one_citation():
    answer = llm_answer("全年636件提案[1]，167场次协商[1]。", [ZIBO], GROUND)
    assert [c.n for c in answer.citations] == [1]


@pytest.mark.parametrize("text", ["", "   ", NOT_FOUND, f"抱歉，{NOT_FOUND}"])
def test_an_empty_or_not_found_llm_reply_is_an_abstention(text):
    answer = llm_answer(text, [ZIBO], GROUND)
    assert answer.abstained and answer.answer == NOT_FOUND and answer.citations == []


# ---- verify_llm_answer -----------------------------------------------------------------------
def test_a_cited_llm_answer_whose_figures_hold_is_shown():
    llm = llm_answer("淄博市政协全年收到636件提案[1]。", [ZIBO], GROUND)
    assert verify_llm_answer(llm, extractive_answer()) is llm


def test_an_llm_answer_with_an_untraced_figure_falls_back_to_the_extract_with_a_note():
    llm = llm_answer("淄博市政协全年收到700件提案[1]。", [ZIBO], GROUND)
    fallback = extractive_answer()
    shown = verify_llm_answer(llm, fallback)
    assert shown is fallback and shown.answer == extractive_answer().answer
    assert "700" not in shown.answer
    assert shown.mode == "llm-rejected"
    assert shown.unverified_figures == ["700"]
    assert "700" in shown.note and "未予采用" in shown.note


def test_an_llm_answer_without_markers_falls_back():
    llm = llm_answer("淄博市政协全年收到636件提案。", [ZIBO], GROUND)
    assert llm.citations == []
    shown = verify_llm_answer(llm, extractive_answer())
    assert shown.mode == "llm-rejected"
    assert "没有引用标注" in shown.note and shown.unverified_figures == ["（没有引用标注）"]


def test_an_llm_answer_naming_a_law_its_sources_do_not_falls_back():
    llm = llm_answer("据《中华人民共和国国歌法》，全年636件提案[1]。", [ZIBO], GROUND)
    shown = verify_llm_answer(llm, extractive_answer())
    assert shown.mode == "llm-rejected"
    assert shown.unverified_figures == ["中华人民共和国国歌法"]


def test_the_fallbacks_own_note_is_kept_after_the_reason():
    fallback = extractive_answer()
    fallback.note = "资料与问题的关键词部分吻合"
    shown = verify_llm_answer(llm_answer("共700件[1]", [ZIBO], GROUND), fallback)
    assert shown.note.startswith("大模型的回答含有无法在引用资料中核实的内容")
    assert shown.note.endswith("资料与问题的关键词部分吻合")


# ---- combine ---------------------------------------------------------------------------------
def part(quote: str, p: Passage = ZIBO) -> Answer:
    return build_citations([pick_of(p, quote)], GROUND)


def test_combine_renumbers_markers_and_citations():
    combined = combine([part("全年636件提案承载民意"), part("167场次协商激荡智慧")],
                       ["提案", "协商"])
    assert not combined.abstained and combined.verified
    assert [c.n for c in combined.citations] == [1, 2]
    lines = combined.answer.split("\n")
    assert lines[0].endswith("全年636件提案承载民意[1]")
    assert lines[1].endswith("167场次协商激荡智慧[2]")


def test_parts_answered_by_the_very_same_quote_show_it_once():
    combined = combine([part("全年636件提案承载民意"), part("全年636件提案承载民意"),
                        part("167场次协商激荡智慧")], ["哪一年", "第几号", "协商"])
    assert combined.answer.count("全年636件提案承载民意") == 1
    assert [c.n for c in combined.citations] == [1, 2]
    assert combined.answer.split("\n")[1].endswith("167场次协商激荡智慧[2]")


def test_a_part_whose_quote_another_parts_quote_holds_is_shown_within_it():
    """Two parts answered from one sentence: the first quoting a clause of it, the second the
    whole; the whole is shown once and answers both."""
    whole = "全年636件提案承载民意，167场次协商激荡智慧。"
    combined = combine([part("全年636件提案承载民意"), part(whole)], ["提案", "协商"])
    assert combined.answer.count("全年636件提案承载民意") == 1
    assert combined.answer.endswith(f"{whole}[1]") and [c.n for c in combined.citations] == [1]
    apart = combine([part("全年636件提案承载民意"), part("167场次协商激荡智慧")], ["提案", "协商"])
    assert [c.n for c in apart.citations] == [1, 2]  # neither holds the other: both shown


def test_combine_says_which_part_was_not_found():
    missing = Answer(NOT_FOUND, abstained=True, verified=True, note="资料中没有2024年的相关内容")
    combined = combine([part("全年636件提案承载民意"), missing, part("国旗应当每日升挂。", FLAG)],
                       ["2025年提案", "2024年提案", "国旗"])
    lines = combined.answer.split("\n")
    assert lines[1] == f"关于其中一问：{NOT_FOUND}"  # its words hold a figure no citation holds
    assert shown_untraced(combined.to_dict()) == []  # the eval's independent check
    named = combine([part("全年636件提案承载民意"), missing], ["提案", "委员工作室"])
    assert named.answer.split("\n")[1] == f"关于“委员工作室”：{NOT_FOUND}"
    assert lines[2].endswith("[2]")  # numbering skips the part without citations
    assert [c.n for c in combined.citations] == [1, 2]
    assert combined.note == "资料中没有2024年的相关内容"
    assert not combined.abstained


def test_combine_of_parts_all_not_found_abstains_with_every_reason():
    combined = combine([Answer(NOT_FOUND, True, True, note="资料中没有关于“济南”的内容"),
                        Answer(NOT_FOUND, True, True, note="资料中没有2024年的相关内容")],
                       ["济南", "2024年"])
    assert combined.abstained and combined.answer == NOT_FOUND
    assert combined.note == "资料中没有关于“济南”的内容；资料中没有2024年的相关内容"


def test_combine_is_unverified_when_a_part_is():
    bad = part("全年636件提案承载民意")
    bad.unverified_figures, bad.verified = ["700"], False
    combined = combine([bad, part("167场次协商激荡智慧")], ["a", "b"])
    assert combined.verified is False and combined.unverified_figures == ["700"]


def test_combine_keeps_the_parts_support():
    first, second = part("全年636件提案承载民意"), part("167场次协商激荡智慧")
    first.support, second.support = 0.8, 0.6
    assert combine([first, second], ["a", "b"]).support == pytest.approx(0.6)


def test_a_citation_names_its_section_heading_path_then_article():
    from bot.citations import section_path

    assert section_path({"headings": "第二章 国旗的使用", "article": "第六条"}) == \
        "第二章 国旗的使用 > 第六条"
    assert section_path({"headings": "", "article": "第六条"}) == "第六条"
    assert section_path({"headings": "一、提案工作 > 办理", "article": ""}) == "一、提案工作 > 办理"
    assert section_path({"headings": "", "article": ""}) == ""
