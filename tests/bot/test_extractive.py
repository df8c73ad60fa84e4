"""The offline answerer's choices over literal passages: which sentence answers, when none does,
which line of a law's history is meant, and how a long sentence is cut down (verbatim)."""

from __future__ import annotations

import pytest

from bot.extractive import (Pick, Source, Thresholds, _scored, candidates, choose, history_pick,
                            trim)
from bot.question import analyze
from bot.retrieval import Passage

ZIBO = "淄博政协这一年"
OPENING = Source(0, "全年636件提案承载民意，167场次协商激荡智慧，24次中央和省、市领导同志作出肯定性"
                    "批示。数字背后，是一份厚重答卷。", ZIBO, "zibo")
OUTREACH = Source(1, "年内举办2次“政协大讲堂”，组织37次“委员看发展”视察。持续开展特色活动452场次。",
                  ZIBO, "zibo")
FLAG_HISTORY = Source(
    0, "中华人民共和国国旗法\n"
       "1990年6月28日 第七届全国人民代表大会常务委员会第十四次会议通过\n"
       "2009年8月27日 第十一届全国人民代表大会常务委员会第十次会议《关于修改部分法律的决定》第一次修正\n"
       "2020年10月17日 第十三届全国人民代表大会常务委员会第二十二次会议《关于修改〈中华人民共和国国旗法〉"
       "的决定》第二次修正",
    "中华人民共和国国旗法", "flag", header=True)


def weights(question: str) -> dict[str, float]:
    return {t: 1.0 for t in analyze(question).terms}


def best(sources: list[Source], question: str) -> Pick:
    q = analyze(question)
    return candidates(sources, q, weights(question))[0]


# ---- candidates ---------------------------------------------------------------------------------
def test_every_sentence_is_a_candidate_best_first():
    q = analyze("淄博市政协全年收到多少件提案？")
    picks = candidates([OPENING, OUTREACH], q, weights(q.text))
    assert {p.quote for p in picks} == {
        "全年636件提案承载民意，167场次协商激荡智慧，24次中央和省、市领导同志作出肯定性批示。",
        "数字背后，是一份厚重答卷。", "年内举办2次“政协大讲堂”，组织37次“委员看发展”视察。",
        "持续开展特色活动452场次。"}
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)
    assert picks[0].quote.startswith("全年636件提案")
    assert all(p.source.text[p.start:p.end] == p.quote for p in picks)


def test_the_sentence_with_the_asked_figure_and_words_wins():
    assert best([OPENING, OUTREACH], "组织了多少次委员看发展视察？").quote == \
        "年内举办2次“政协大讲堂”，组织37次“委员看发展”视察。"


def test_a_years_whole_beats_the_figure_of_one_field_when_no_field_is_asked():
    part = Source(0, "淄博市政协关注百姓冷暖，305件提案、105件意见建议直抵群众心田。", ZIBO, "zibo")
    whole = Source(1, OPENING.text, ZIBO, "zibo")
    assert best([part, whole], "淄博市政协2025年收到多少件提案？").source is whole
    # a narrower question is not asking for the whole
    q = analyze("淄博市政协2025年关于百姓冷暖的提案有多少件？")
    assert candidates([part, whole], q, weights(q.text))[0].source is part


def test_fits_says_whether_the_sentence_holds_the_kind_of_figure_asked_for():
    q = analyze("淄博市政协全年收到多少件提案？")
    fits = {p.quote: p.fits for p in candidates([OPENING], q, weights(q.text))}
    assert fits["数字背后，是一份厚重答卷。"] is False
    assert fits["全年636件提案承载民意，167场次协商激荡智慧，24次中央和省、市领导同志作出肯定性批示。"]


def test_a_sentence_about_the_body_asked_beats_its_twin_about_another_body():
    npc = Source(0, "全国人民代表大会每届任期五年。", "中华人民共和国宪法 第六十条", "con")
    cppcc = Source(1, "中国人民政治协商会议全国委员会每届任期五年。", "某章程", "other")
    assert best([npc, cppcc], "全国政协每届任期几年？").source is cppcc
    assert best([cppcc, npc], "全国人大每届任期几年？").source is npc


def test_a_list_item_carries_the_sentence_that_introduces_it():
    flag5 = Source(0, "第五条 下列场所或者机构所在地，应当每日升挂国旗：\n（一）北京天安门广场、新华门；\n"
                      "（二）中国人民政治协商会议全国委员会；\n（三）外交部；", "中华人民共和国国旗法 第五条",
                   "flag")
    pick = best([flag5], "中国人民政治协商会议全国委员会所在地应当怎样升挂国旗？")
    assert pick.quote == "（二）中国人民政治协商会议全国委员会；"
    assert pick.lead_text == "第五条 下列场所或者机构所在地，应当每日升挂国旗："


def test_a_higher_ranked_passage_wins_a_tie():
    first = Source(0, "全年636件提案。", ZIBO, "zibo")
    fourth = Source(3, "全年636件提案。", ZIBO, "zibo")
    assert best([fourth, first], "提案有多少件？").source is first


def test_fragments_shorter_than_four_characters_are_not_candidates():
    q = analyze("提案有多少件？")
    picks = candidates([Source(0, "是。全年636件提案。", ZIBO, "zibo")], q, weights(q.text))
    assert [p.quote for p in picks] == ["全年636件提案。"]


# ---- choose -------------------------------------------------------------------------------------
def test_a_figure_question_without_a_sentence_holding_a_figure_gets_nothing():
    source = Source(0, "淄博市政协高度重视提案工作。提案办理质量不断提升。", ZIBO, "zibo")
    q = analyze("淄博市政协收到多少件提案？")
    assert choose(candidates([source], q, weights(q.text)), q, weights(q.text), Thresholds()) == []


def test_a_question_for_words_takes_the_best_sentence_alone():
    source = Source(0, "淄博市政协高度重视提案工作。提案办理质量不断提升。", ZIBO, "zibo")
    q = analyze("提案工作怎么样？")
    chosen = choose(candidates([source], q, weights(q.text)), q, weights(q.text), Thresholds())
    assert [p.quote for p in chosen] == ["淄博市政协高度重视提案工作。"]


def test_nothing_to_choose_from_is_nothing():
    q = analyze("提案工作怎么样？")
    assert choose([], q, {}, Thresholds()) == []


def test_a_two_part_question_gets_a_second_sentence_for_what_the_first_misses():
    proposals = Source(0, "全年收到提案共636件。", ZIBO, "zibo")
    consultations = Source(1, "全年开展协商167场次。", ZIBO, "zibo")
    q = analyze("淄博市政协收到多少件提案？开展了多少场次协商？")
    w = weights(q.text)
    chosen = choose(candidates([proposals, consultations], q, w), q, w, Thresholds())
    assert sorted(p.quote for p in chosen) == ["全年开展协商167场次。", "全年收到提案共636件。"]


def test_a_one_part_question_answered_by_one_sentence_gets_one():
    q = analyze("组织了多少次委员看发展视察？")
    w = weights(q.text)
    assert len(choose(candidates([OPENING, OUTREACH], q, w), q, w, Thresholds())) == 1


def _article(index: int, number: str, position: int, text: str) -> Source:
    meta = {"article": number, "position": position, "doc_id": "supervision"}
    return Source(index, text, f"中华人民共和国监察法 {number}", "supervision",
                  Passage(f"supervision:{position}", text, meta))


def test_the_article_that_provides_for_a_measure_is_the_first_that_names_it():
    # Retrieval ranks the articles on the measure's use above the one that provides for it.
    use = _article(0, "第四十四条", 44, "第四十四条 对被调查人采取留置措施后，应当在二十四小时以内，"
                                        "通知被留置人员所在单位和家属。")
    approve = _article(1, "第四十三条", 43, "第四十三条 监察机关采取留置措施，应当由监察机关领导人员"
                                            "集体研究决定。")
    provide = _article(2, "第二十二条", 22, "第二十二条 经监察机关依法审批，可以将其留置在特定场所。"
                                           "对涉案人员，监察机关可以依照前款规定采取留置措施。")
    earlier = _article(3, "第十八条", 18, "第十八条 监察机关可以采取调查措施。")  # names less
    q = analyze("监察法的留置措施规定在第几条？")
    w = weights(q.text)
    chosen = choose(candidates([use, approve, provide, earlier], q, w), q, w, Thresholds())
    assert chosen[0].source is provide
    assert chosen[0].quote == "对涉案人员，监察机关可以依照前款规定采取留置措施。"
    assert chosen[0].fits  # the article's label answers, though the sentence does not say it


def test_only_a_question_for_an_article_number_prefers_the_first_provision():
    use = _article(0, "第四十四条", 44, "第四十四条 对被调查人采取留置措施后，应当在二十四小时以内，"
                                        "通知被留置人员所在单位和家属。")
    provide = _article(1, "第二十二条", 22, "第二十二条 对涉案人员，监察机关可以依照前款规定采取留置措施。")
    q = analyze("采取留置措施后多长时间内通知家属？")
    w = weights(q.text)
    assert choose(candidates([use, provide], q, w), q, w, Thresholds())[0].source is use


def test_scores_are_the_same_whether_or_not_a_passage_was_scored_before():
    q = analyze("组织了多少次委员看发展视察？")
    candidates([OPENING, OUTREACH], q, weights(q.text))  # the reranker's pass
    hits = _scored.cache_info().hits
    cached = candidates([OUTREACH, OPENING], q, weights(q.text))  # the answerer's
    assert _scored.cache_info().hits == hits + 2
    _scored.cache_clear()
    fresh = candidates([OUTREACH, OPENING], q, weights(q.text))
    assert [(p.quote, p.score, p.fits) for p in cached] == [(p.quote, p.score, p.fits) for p in fresh]
    assert cached[0].quote == "年内举办2次“政协大讲堂”，组织37次“委员看发展”视察。"


def test_the_same_question_asked_again_is_scored_afresh():
    first, again = analyze("淄博市政协全年收到多少件提案？"), analyze("淄博市政协全年收到多少件提案？")
    candidates([OPENING], first, weights(first.text))
    hits = _scored.cache_info().hits
    candidates([OPENING], again, weights(again.text))
    assert _scored.cache_info().hits == hits  # what a benchmark's repeated question costs


# ---- history_pick -------------------------------------------------------------------------------
@pytest.mark.parametrize("question, date", [
    ("国旗法是哪天通过的？", "1990年6月28日"),  # 通过: the adoption, the first line
    ("国旗法最近一次修正是哪天？", "2020年10月17日"),  # the latest amendment
    ("国旗法第一次修正是哪一年？", "2009年8月27日"),  # the earliest amendment
    ("国旗法是哪天修正的？", "2020年10月17日"),  # no order: the latest
    ("国旗法修正是哪天通过的？", "2020年10月17日"),  # 通过 of an amendment is the amendment
])
def test_history_pick_finds_the_line_of_the_event_asked(question, date):
    pick = history_pick([FLAG_HISTORY], question, analyze(question).order, {})
    assert pick is not None and pick.quote.startswith(date)
    assert pick.fits and pick.source is FLAG_HISTORY


def test_history_pick_without_a_dated_line_is_none():
    undated = Source(0, "中华人民共和国国旗法", "中华人民共和国国旗法", "flag", header=True)
    assert history_pick([undated], "国旗法是哪天通过的？", "", {}) is None
    assert history_pick([], "国旗法是哪天通过的？", "", {}) is None


def test_the_year_a_law_was_made_is_its_adoption():
    pick = history_pick([FLAG_HISTORY], "国旗法是哪一年制定的？", "", {})
    assert pick is not None and pick.quote.startswith("1990年6月28日")


# ---- trim ---------------------------------------------------------------------------------------
LONG = ("在下列场合，应当奏唱国歌，包括全国人民代表大会会议和地方各级人民代表大会会议的开幕、闭幕，"
        "中国人民政治协商会议全国委员会会议和地方各级委员会会议的开幕、闭幕，各政党、各人民团体的各级"
        "代表大会等，以及重大外交活动和重大体育赛事，此外还有其他应当奏唱国歌的场合，这些场合共有五类。")


def test_trim_cuts_a_long_sentence_to_the_clauses_that_answer_verbatim():
    source = Source(0, "前言。" + LONG, "国歌法 第四条", "anthem")
    q = analyze("应当奏唱国歌的场合共有几类？")
    w = weights(q.text)
    pick = next(p for p in candidates([source], q, w) if p.quote == LONG)
    cut = trim(pick, q, w)
    assert len(cut.quote) < len(LONG)
    assert "五类" in cut.quote
    assert cut.quote in LONG and source.text[cut.start:cut.end] == cut.quote  # contiguous, verbatim
    assert pick.start <= cut.start < cut.end <= pick.end
    assert not cut.quote.endswith(("，", "；", "："))


def test_trim_leaves_a_short_sentence_alone():
    q = analyze("留置时间最长多久？")
    source = Source(0, "留置时间不得超过三个月。", "监察法", "sup")
    pick = candidates([source], q, weights(q.text))[0]
    assert trim(pick, q, weights(q.text)) == pick
